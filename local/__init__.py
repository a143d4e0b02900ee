"""Local-only tools: the embedded stack and its endpoints, the Airflow service runner, make run,
sample data. No DAG and no module of `include` imports this package."""
