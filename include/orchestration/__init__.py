"""Airflow glue the DAGs share: Assets, default arguments, alerts, the dbt task group, build intervals."""
