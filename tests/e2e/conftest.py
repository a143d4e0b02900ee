"""Each end-to-end module is a scenario of its own: it starts from nothing another module left; and the DAGs they run.

The session shares one var/ (the warehouse file, the local Customer Profiles and SES state) and
one Airflow metadata database. A module that found another's profiles, suppressions or tables
would assert on both; a build that found another module's landing events would cover their
hours, whose lakes are gone (a build covers every landing of the catch-up window no passed
build covered: include/orchestration/build.py).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from include import settings

# What a landing run's events leave for later builds: the events, and the queue of DAGs they wake.
ASSET_EVENT_TABLES = ("asset_dag_run_queue", "dagrun_asset_event", "asset_event")


@pytest.fixture(scope="module", autouse=True)
def a_module_starts_from_nothing(var_dir):
    warehouse = settings.WAREHOUSE_PATH
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        path.unlink(missing_ok=True)
    profiles = var_dir / "customer_profiles.sqlite"
    for path in (profiles, profiles.with_suffix(".outage")):
        path.unlink(missing_ok=True)
    metadata = var_dir / "airflow" / "airflow.db"
    if metadata.exists():
        with sqlite3.connect(metadata) as db:
            for table in ASSET_EVENT_TABLES:
                db.execute(f"delete from {table}")


@pytest.fixture(scope="module")
def dagbag(var_dir):
    """The project's DAGs, parsed against the session's migrated Airflow database and its pools."""
    (var_dir / "airflow").mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    from airflow.dag_processing.dagbag import DagBag

    from include.orchestration.pools import create_pools

    create_pools()
    dags = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not dags.import_errors
    return dags
