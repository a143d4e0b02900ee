# The team image: Airflow 3 with the project's locked dependencies.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /opt/customer360/requirements.txt
RUN pip install --no-cache-dir -r /opt/customer360/requirements.txt
