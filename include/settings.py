"""Configuration in one place: every ``C360_*`` environment variable the pipeline reads.

Everything here can be overridden through the environment, so production points the same
code at real AWS by setting variables and Airflow connections, never by editing code. Most
are read once, at import, as typed constants; the few read at each call are functions, each
saying why. dbt reads its own variables (listed at the end); ``local/`` reads its local-only
ones (the stack's ports) in ``local/stack.py``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

# -- Where things are ------------------------------------------------------------------------
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Local state: the DuckDB warehouse, Airflow's home, reports, logs (tests and benchmarks use private ones).
VAR_DIR = Path(os.environ.get("C360_VAR_DIR", PROJECT_ROOT / "var"))
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
# Compiled by `make dbt-manifest` (or the deployment, for its target): Cosmos renders the build
# from it and Python finds each model's relation in it.
DBT_MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"

# -- Buckets ----------------------------------------------------------------------------------
# Where Firehose and the source systems drop files.
LANDING_BUCKET = os.environ.get("C360_LANDING_BUCKET", "c360-landing")
# The raw zone: landed records, quarantine and manifests, Hive-partitioned.
RAW_BUCKET = os.environ.get("C360_RAW_BUCKET", "c360-raw")

# -- Airflow connections (AIRFLOW_CONN_<ID> locally, the secrets backend in production) -------
# S3: the landing bucket and the raw zone.
S3_CONN_ID = os.environ.get("C360_S3_CONN_ID", "c360_s3")
# Amazon Connect Customer Profiles and SESv2 (the suppression list).
CUSTOMER_PROFILES_CONN_ID = os.environ.get("C360_CUSTOMER_PROFILES_CONN_ID", "c360_customer_profiles")
# SNS: failure alerts.
ALERTS_CONN_ID = os.environ.get("C360_ALERTS_CONN_ID", "c360_alerts")

# -- Warehouse --------------------------------------------------------------------------------
# "local" runs dbt-duckdb on the embedded warehouse; "athena" runs dbt-athena.
DBT_TARGET = os.environ.get("C360_DBT_TARGET", "local")
# The DuckDB warehouse file (dbt/profiles.yml reads the same variable).
WAREHOUSE_PATH = Path(os.environ.get("C360_WAREHOUSE_PATH", VAR_DIR / "warehouse.duckdb"))
# Athena, where the Python tasks read the warehouse when DBT_TARGET is "athena"
# (include/warehouse/athena.py): the AWS connection (its extra's service_config may point s3
# elsewhere), and the dbt athena target's own variables (dbt/profiles.yml), so one set serves
# dbt and Python: the Glue database dbt builds in, the workgroup, the query results' S3 prefix
# ("": the workgroup's result location); and how long a query may run before it is stopped.
ATHENA_CONN_ID = os.environ.get("C360_ATHENA_CONN_ID", "c360_athena")
ATHENA_SCHEMA = os.environ.get("C360_ATHENA_SCHEMA", "customer360")
ATHENA_WORK_GROUP = os.environ.get("C360_ATHENA_WORK_GROUP", "primary")
ATHENA_S3_STAGING_DIR = os.environ.get("C360_ATHENA_S3_STAGING_DIR", "")
ATHENA_QUERY_TIMEOUT_SECONDS = float(os.environ.get("C360_ATHENA_QUERY_TIMEOUT_SECONDS", "1800"))


def duckdb_extension_dir() -> Path:
    """``C360_DUCKDB_EXTENSION_DIR``: where DuckDB's httpfs is installed (dbt/profiles.yml reads it too).

    Read at each call, as it always was: a process that sets the local stack's environment after
    importing this module (``local/run.py``) is followed.
    """
    return Path(os.environ.get("C360_DUCKDB_EXTENSION_DIR", PROJECT_ROOT / ".venv" / "duckdb_extensions"))


# -- Landing ----------------------------------------------------------------------------------
# The region a national phone number (no country code) is read in, when its record names no
# country: landing's phone normalisation and erasure requests.
DEFAULT_PHONE_REGION = os.environ.get("C360_DEFAULT_PHONE_REGION", "US")
# Late files (include/landing/tasks.py says why): a scheduled landing run also re-lands each of the
# LOOKBACK hours before its own whose Firehose prefix holds an object that hour's manifest does not
# list (3: Firehose delivers an hour's last buffer up to 900 s after the hour, with margin), and
# alerts on such objects in the older hours, up to ALERT hours before its own (30: Firehose retries
# a failed S3 delivery for up to 24 hours, with margin).
LATE_FILE_LOOKBACK_HOURS = int(os.environ.get("C360_LATE_FILE_LOOKBACK_HOURS", "3"))
LATE_FILE_ALERT_HOURS = int(os.environ.get("C360_LATE_FILE_ALERT_HOURS", "30"))

# -- Orchestration ----------------------------------------------------------------------------


def retry_delay() -> timedelta:
    """``C360_RETRY_DELAY_SECONDS`` (60): the wait before a failed task's first retry (then
    exponential); local runs set 2.

    Read when a DAG file is parsed, not when this module is imported: the tests' environment is
    set after their first import of it, and the default would make each retry wait a minute.
    """
    return timedelta(seconds=int(os.environ.get("C360_RETRY_DELAY_SECONDS", "60")))


# A build also covers every landing run of this many hours before it was triggered that no build
# whose gate passed has covered (include/orchestration/build.py says why).
BUILD_CATCH_UP_HOURS = float(os.environ.get("C360_BUILD_CATCH_UP_HOURS", "72"))


def alerts_topic_arn() -> str | None:
    """``C360_ALERTS_TOPIC_ARN``: the SNS topic failures are published to; unset, none is sent.

    Read when a failure is published: the callbacks are built when the DAG files are parsed and
    run later, in the failed task's process and environment.
    """
    return os.environ.get("C360_ALERTS_TOPIC_ARN")


# -- Quality gate -----------------------------------------------------------------------------
DATA_DOCS_S3_PREFIX_ENV = "C360_DATA_DOCS_S3_PREFIX"
DATA_DOCS_RETENTION_DAYS_ENV = "C360_DATA_DOCS_RETENTION_DAYS"


def data_docs_s3_prefix() -> str | None:
    """``C360_DATA_DOCS_S3_PREFIX``: ``s3://bucket/prefix`` of the data docs site and the
    validation results; unset or "": ``var/`` (local).

    Read at each gate, as the retention below: the site's home is the environment the gate runs in.
    """
    return os.environ.get(DATA_DOCS_S3_PREFIX_ENV)


def data_docs_retention_days() -> int:
    """``C360_DATA_DOCS_RETENTION_DAYS`` (90): each gate removes the validation results (and so
    the pages) of runs timed more than this many days before its interval. Read at each gate."""
    return int(os.environ.get(DATA_DOCS_RETENTION_DAYS_ENV, "90"))


# -- Sync -------------------------------------------------------------------------------------
# The Customer Profiles domain the sync writes to.
CUSTOMER_PROFILES_DOMAIN = os.environ.get("C360_CUSTOMER_PROFILES_DOMAIN", "customer360")


def sync_overrides(names: list[str]) -> dict[str, str]:
    """``C360_SYNC_<NAME>`` for each of ``names`` that is set (SyncSettings.from_env).

    Read at each call, not at import: a sync task takes the environment its run starts with.
    """
    variables = {name: f"C360_SYNC_{name.upper()}" for name in names}
    return {name: os.environ[variable] for name, variable in variables.items() if variable in os.environ}


# -- Erasure ----------------------------------------------------------------------------------
ERASURE_HASH_KEY_ENV = "C360_ERASURE_HASH_KEY"


def erasure_hash_key() -> str | None:
    """``C360_ERASURE_HASH_KEY``: the audit hash's key (production: from the secrets backend);
    unset or "": a random key kept in ``var/`` (include/erasure/request.py).

    Read at each use and never kept in a module constant: it is a secret, and a rotated key
    must take effect in the next erasure.
    """
    return os.environ.get(ERASURE_HASH_KEY_ENV) or None


# -- Read by dbt itself, not by Python ---------------------------------------------------------
# dbt/profiles.yml: C360_DBT_TARGET, C360_WAREHOUSE_PATH, C360_DUCKDB_EXTENSION_DIR,
#   C360_DUCKDB_MEMORY_LIMIT, C360_S3_ENDPOINT, C360_S3_URL_STYLE, C360_S3_USE_SSL,
#   C360_ATHENA_S3_DATA_DIR, C360_ATHENA_CATALOG (and the three Athena variables above).
# dbt/dbt_project.yml: C360_AWS_ACCOUNT_ID, C360_IDENTITY_MODEL_VERSION.
# dbt/macros and sources: C360_RAW_SCHEMA, C360_RAW_BUCKET.
