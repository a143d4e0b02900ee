"""Names and locations every part of the pipeline agrees on.

Everything here can be overridden through the environment, so production points the same
code at real AWS by setting variables and Airflow connections, never by editing code.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("C360_VAR_DIR", PROJECT_ROOT / "var"))
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
# Compiled by `make dbt-manifest` (or the deployment, for its target): Cosmos renders the build
# from it and Python finds each model's relation in it.
DBT_MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"

LANDING_BUCKET = os.environ.get("C360_LANDING_BUCKET", "c360-landing")
RAW_BUCKET = os.environ.get("C360_RAW_BUCKET", "c360-raw")

# Airflow connection ids (AIRFLOW_CONN_<ID> locally, the secrets backend in production).
S3_CONN_ID = os.environ.get("C360_S3_CONN_ID", "c360_s3")
CUSTOMER_PROFILES_CONN_ID = os.environ.get("C360_CUSTOMER_PROFILES_CONN_ID", "c360_customer_profiles")
ALERTS_CONN_ID = os.environ.get("C360_ALERTS_CONN_ID", "c360_alerts")

CUSTOMER_PROFILES_DOMAIN = os.environ.get("C360_CUSTOMER_PROFILES_DOMAIN", "customer360")

# "local" runs dbt-duckdb on the embedded warehouse; "athena" runs dbt-athena.
DBT_TARGET = os.environ.get("C360_DBT_TARGET", "local")
WAREHOUSE_PATH = Path(os.environ.get("C360_WAREHOUSE_PATH", VAR_DIR / "warehouse.duckdb"))

ENGAGEMENT_STREAMS = ("ses", "sms_voice", "whatsapp", "conversations")
# Source-system batches: CRM customers, bookings, loyalty members, web clickstream, service interactions.
SOURCE_STREAMS = ("customers", "bookings", "loyalty", "clickstream", "service_interactions")
RAW_STREAMS = ENGAGEMENT_STREAMS + SOURCE_STREAMS


# Sync
def sync_overrides(names: list[str]) -> dict[str, str]:
    """``C360_SYNC_<NAME>`` for each of ``names`` that is set (SyncSettings.from_env).

    Read at each call, not at import: a sync task takes the environment its run starts with.
    """
    variables = {name: f"C360_SYNC_{name.upper()}" for name in names}
    return {name: os.environ[variable] for name, variable in variables.items() if variable in os.environ}
