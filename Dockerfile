# The team image: Airflow 3 with the project's locked runtime dependencies.
FROM apache/airflow:3.3.2-python3.11 AS runtime
COPY --chown=airflow:root requirements.txt /opt/customer360/requirements.txt
RUN pip install --no-cache-dir -r /opt/customer360/requirements.txt

# The local stack's endpoints (compose's customer-profiles service): the runtime plus the
# development lock, which holds the local servers (moto for SNS/SQS).
FROM runtime AS local-stack
COPY --chown=airflow:root requirements-dev.txt /opt/customer360/requirements-dev.txt
RUN pip install --no-cache-dir -r /opt/customer360/requirements-dev.txt

# `docker build .` and the Airflow services: the runtime only.
FROM runtime
