"""With ``C360_DBT_TARGET=athena`` the erase_person DAG reads and writes the warehouse through Athena:
here the local Athena endpoint over a warehouse the DAGs just built and synced on the real local stack,
named by a manifest dbt compiled for the athena target (dbt's own rebuild runs as the DAGs were
parsed: on the local target, the Athena endpoint's DuckDB file). Erin (CRM id 42) is erased: her
rows leave every table, an hour that held only her is emptied, the neighbours holding 42-like
values stay, and the audit row is read back through Athena."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from include import settings, streams
from include.landing.land import discover_hours
from local import sample_data
from local.run import upload_input
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, s3_client
from tests.e2e.test_erasure_safety import ERIN, ERIN_ROW, HEADER, NEIGHBOURS_SQL, NIA_ROW, OLU, bounce, write

pytestmark = pytest.mark.e2e
DAY = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
# Hour 01 holds only Erin: her bounce, and a broken line naming her (quarantined as invalid_json).
ERIN_HOUR = datetime(2026, 11, 20, 1)
BROKEN = '{"eventType": "Bounce", "mail": {"destination": ["erin.short@example.com"]'


@pytest.fixture(scope="module")
def stack(var_dir, tmp_path_factory):
    running = LocalStack(var_dir, S3_PORT, PROFILES_PORT, s3_dir=tmp_path_factory.mktemp("athena-erasure-s3")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def parsing_for_athena(tmp_path_factory):
    """``dbt parse --target athena``, started at once: it runs while the DAGs build."""
    target = tmp_path_factory.mktemp("athena-target")
    parse = subprocess.Popen(
        [Path(sys.executable).parent / "dbt", "parse", "--quiet", "--no-partial-parse", "--target", "athena",
         "--profiles-dir", ".", "--target-path", target, "--log-path", target / "logs"],
        cwd=settings.DBT_PROJECT_DIR, env=os.environ | {"C360_DBT_TARGET": "athena"},
    )  # fmt: skip
    yield parse, target / "manifest.json"
    parse.wait()


@pytest.fixture(scope="module")
def built(stack, dagbag, parsing_for_athena, tmp_path_factory):
    """Hour 00 of sample data with Erin and her neighbours, hour 01 Erin's alone: landed, built and
    synced through Airflow (local target); the DAGs as parsed then."""
    input_dir = tmp_path_factory.mktemp("athena-erasure-input")
    sample_data.generate(input_dir, people=40, day=DAY, hours=1, seed=5, streams=streams.RAW_STREAMS)
    write(input_dir / "customers/2026/11/20/00/neighbours.csv", f"{HEADER}\n{ERIN_ROW}\n{NIA_ROW}\n")
    write(input_dir / "loyalty/2026/11/20/00/neighbours.jsonl", json.dumps(OLU) + "\n")
    write(input_dir / "ses/2026/11/20/01/erin.gz", bounce("erin-1", "2026-11-20T01:20:00.000Z") + "\n" + BROKEN + "\n")
    s3 = s3_client()
    upload_input(s3, input_dir)
    hours = discover_hours(s3, settings.LANDING_BUCKET, streams.RAW_STREAMS)
    covered = {"interval_start": hours[0].isoformat(), "interval_end": (hours[-1] + HOUR).isoformat()}
    assert covered == {"interval_start": DAY.isoformat(), "interval_end": (DAY + 2 * HOUR).isoformat()}
    for dag_id in ("land_engagement_events", "build_warehouse"):
        assert dagbag.dags[dag_id].test(logical_date=None, run_conf=covered).state == "success", dag_id
    for dag_id in ("sync_customer_profiles", "sync_ses_suppression"):
        assert dagbag.dags[dag_id].test(logical_date=None).state == "success", dag_id
    return dagbag.dags


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_texts() -> dict[str, str]:
    """Every base table of the warehouse, schema by schema, as text."""
    tables = rows(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE'"
    )
    return {f"{schema}.{table}": str(rows(f'select * from "{schema}"."{table}"')) for schema, table in tables}


def holding(text: str) -> list[str]:
    return sorted(table for table, rows_text in table_texts().items() if text in rows_text)


def test_erasure_on_athena_removes_her_from_every_table_and_keeps_the_neighbours(stack, built, parsing_for_athena,
                                                                                 monkeypatch):  # fmt: skip
    # Before: she is in the events, the quarantine, the identity tables, the profiles and the sync's state.
    before = holding(ERIN)
    assert {
        "main.engagement_events",
        "main.quarantined_records",
        "main.unified_profiles",
        "main.customer_profiles_sync_state",
        "main_intermediate.int_identity_records_normalised",
    } <= set(before)
    assert rows(f"select count(*) from quarantined_records where ingest_hour = '{ERIN_HOUR}'") == [(1,)]
    assert rows(f"select count(*) from engagement_events where ingest_hour = '{ERIN_HOUR}'") == [(1,)]
    events_before = rows("select count(*) from engagement_events")[0][0]
    links_before = rows("select record_key, profile_id from profile_links order by 1")
    erins = {k for k, p in links_before if p in {p for k, p in links_before if k == "crm:crm:42"}}
    parse, athena_manifest = parsing_for_athena
    assert parse.wait() == 0, "dbt parse --target athena failed"
    monkeypatch.setenv("C360_DBT_TARGET", "athena")
    monkeypatch.setattr(settings, "DBT_TARGET", "athena")
    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", athena_manifest)
    started = stack.athena.requests["StartQueryExecution"]

    run = built["erase_person"].test(run_conf={"email": ERIN, "request_id": "DSAR-42"})

    assert run.state == "success"
    # Her reads, deletes and the audit row went through Athena.
    assert stack.athena.requests["StartQueryExecution"] - started >= 10
    # Gone from every table of the warehouse; the hour that held only her is empty.
    assert holding(ERIN) == [] and holding("erin-1") == []
    assert rows(f"select count(*) from quarantined_records where ingest_hour = '{ERIN_HOUR}'") == [(0,)]
    assert rows(f"select count(*) from engagement_events where ingest_hour = '{ERIN_HOUR}'") == [(0,)]
    assert rows("select count(*) from profile_links where source_system = 'crm' and source_record_id = '42'") == [(0,)]
    # The neighbours holding 00:42:00, points_balance 42 and 0.42 stay, and nobody else's link moved.
    assert rows(NEIGHBOURS_SQL) == [("crm", "C-NEIGH-1042"), ("loyalty", "LY-NEIGH-0042")]
    assert rows("select record_key, profile_id from profile_links order by 1") == [
        link for link in links_before if link[0] not in erins
    ]
    assert events_before - rows("select count(*) from engagement_events")[0][0] == 1  # her bounce
    # The audit row, read back through Athena: counts, the interval rebuilt, a keyed hash only.
    from include.warehouse.seam import records, warehouse

    athena = warehouse()
    assert athena.engine == "athena"
    (audit,) = records(
        athena.query_df(f"select * from {athena.relation('erasure_audit')} where request_id = ?", ["DSAR-42"])
    )
    assert audit["ses_suppressions_kept"] == 1 and audit["registered"] > 0 and audit["raw_rows"] >= 3
    assert json.loads(audit["warehouse_tables"])["customer_profiles_sync_state"] >= 1
    assert (audit["rebuilt_interval_start"], audit["rebuilt_interval_end"]) == (
        "2026-11-20 00:00:00",
        "2026-11-20 02:00:00",
    )
    assert ERIN not in str(audit) and len(audit["identifier_hash"]) == 64
    assert audit["identifier_hash"] != hashlib.sha256(f"email:{ERIN}".encode()).hexdigest()  # keyed
