"""With ``C360_DBT_TARGET=athena`` the gate and the dashboard read the warehouse through Athena,
and the Customer Profiles and SES syncs read the marts and keep their state there: here the
local Athena endpoint over a warehouse the DAGs just built on the real local stack, named by a
manifest dbt compiled for the athena target. Assertions are on the data: the same frames,
verdicts, page and objects as DuckDB gives, what reached the Customer Profiles endpoint and the
SES list (a fifth of requests throttled), and the queries went through the endpoint."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from include import intervals, settings, streams
from include.landing.land import discover_hours
from include.quality import tasks as quality_tasks
from include.quality.gate import QualityGateFailed, gate
from include.quality.masking import mask
from include.reporting import tasks as reporting_tasks
from include.reporting.dashboard import render_report
from include.sync import config, ses_suppression, templates
from include.warehouse.seam import DuckDBWarehouse, warehouse
from local import sample_data
from local.run import upload_input
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, s3_client
from tests.e2e.test_faults import endpoint_bodies, endpoint_rows
from tests.unit.test_report import Dashboard

pytestmark = pytest.mark.e2e
DAY = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
CLEAN = intervals.dbt_vars(DAY, DAY + 2 * HOUR)
BAD = intervals.dbt_vars(DAY + 2 * HOUR, DAY + 3 * HOUR)  # holds the email sent to no email address
BAD_ADDRESS = "new.person@example"
LOCAL_MANIFEST = settings.DBT_MANIFEST_PATH  # compiled for the local target (make dbt-manifest)
GATE_QUERIES, DASHBOARD_QUERIES = 7, 10
THROTTLE_RATE = 0.2  # of the Customer Profiles and SES data requests
SYNC_DAGS = ("sync_customer_profiles", "sync_ses_suppression")
# A sync run with nothing to send (docs/design.md's cost): the domain task's 9 checks; per object
# type its model, state and merges or pushed profiles, the run's row and its one UPDATE (5, and 6
# for UnifiedProfile: merges and the objects of its profiles); for SES the same 5.
QUIET_SYNC_QUERIES = 9 + 6 + 3 * 5 + 5


@pytest.fixture(scope="module")
def stack(var_dir, tmp_path_factory):
    running = LocalStack(
        var_dir, S3_PORT, PROFILES_PORT, THROTTLE_RATE, s3_dir=tmp_path_factory.mktemp("athena-s3")
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def parsing_for_athena(tmp_path_factory):
    """``dbt parse --target athena``, started at once: it runs while the DAGs build."""
    target = tmp_path_factory.mktemp("athena-target")
    dbt = Path(sys.executable).parent / "dbt"
    parse = subprocess.Popen(
        [dbt, "parse", "--quiet", "--no-partial-parse", "--target", "athena", "--profiles-dir", ".",
         "--target-path", target, "--log-path", target / "logs"],
        cwd=settings.DBT_PROJECT_DIR, env=os.environ | {"C360_DBT_TARGET": "athena"},
    )  # fmt: skip
    yield parse, target / "manifest.json"
    parse.wait()


@pytest.fixture(scope="module")
def athena_manifest(parsing_for_athena) -> Path:
    """The relations as production names them: customer360, customer360_<layer>."""
    parse, manifest = parsing_for_athena
    assert parse.wait() == 0, "dbt parse --target athena failed"
    return manifest


@pytest.fixture(scope="module")
def built(stack, parsing_for_athena, tmp_path_factory) -> dict:
    """Three hours of sample data and, in the last, an SES send to no email address (landing takes
    it: it judges no addresses), landed and built through Airflow. The build's own gate (DuckDB)
    fails on that event, after dbt built it (and the sync's tables). The DAGs, by id."""
    input_dir = tmp_path_factory.mktemp("athena-input")
    sample_data.generate(input_dir, people=60, day=DAY, hours=3, seed=7, streams=streams.RAW_STREAMS)
    bad = {
        "eventType": "Send",
        "mail": {"timestamp": "2026-11-20T02:30:00.000Z", "messageId": "bad-1", "destination": [BAD_ADDRESS],
                 "source": "x@example.com"},
        "send": {},
    }  # fmt: skip
    path = input_dir / "ses" / "2026" / "11" / "20" / "02" / "bad.gz"
    path.write_bytes(gzip.compress(json.dumps(bad).encode() + b"\n"))
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    from airflow.dag_processing.dagbag import DagBag

    s3 = s3_client()
    upload_input(s3, input_dir)
    hours = discover_hours(s3, settings.LANDING_BUCKET, streams.RAW_STREAMS)
    assert (hours[0], hours[-1]) == (DAY, DAY + 2 * HOUR)
    covered = {"interval_start": hours[0].isoformat(), "interval_end": (hours[-1] + HOUR).isoformat()}
    from include.orchestration.pools import create_pools

    create_pools()
    dags = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags
    assert dags["land_engagement_events"].test(logical_date=None, run_conf=covered).state == "success"
    assert dags["build_warehouse"].test(logical_date=None, run_conf=covered).state == "failed"
    return dags


@pytest.fixture
def on_athena(built, athena_manifest, monkeypatch) -> DuckDBWarehouse:
    """C360_DBT_TARGET=athena for this test; returns the DuckDB warehouse to compare with."""
    monkeypatch.setenv("C360_DBT_TARGET", "athena")
    monkeypatch.setattr(settings, "DBT_TARGET", "athena")
    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", athena_manifest)
    return DuckDBWarehouse(manifest=LOCAL_MANIFEST)


def s3():
    from customer360_aws.hooks import LakeS3Hook

    return LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn()  # as the validate task builds it


def duckdb_rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_gate_on_athena_passes_a_clean_interval_as_duckdb_does(stack, on_athena):
    athena = warehouse()
    assert athena.engine == "athena" and athena.relation("engagement_events") == '"customer360"."engagement_events"'
    started = stack.athena.requests["StartQueryExecution"]

    summaries = quality_tasks.validate(s3(), CLEAN)  # the validate task's body

    assert stack.athena.requests["StartQueryExecution"] - started == GATE_QUERIES
    assert {s["suite"]: s["failed"] for s in summaries} == {
        suite: 0
        for suite in ("landing_reconciliation", "engagement_events", "email_destinations", "phone_destinations",
                      "unified_profiles", "profile_links", "identity_model_calibrations", "profile_reconciliation")
    }  # fmt: skip
    rows = {s["suite"]: s["rows"] for s in summaries}
    assert (
        rows["engagement_events"]
        == duckdb_rows("select count(*) from engagement_events where ingest_hour < '2026-11-20 02:00:00'")[0][0]
        > 100
    )
    assert rows["unified_profiles"] == duckdb_rows("select count(*) from unified_profiles")[0][0] > 50
    # Every frame the gate validated equals DuckDB's, value for value and dtype for dtype.
    on_duckdb = {
        **quality_tasks.validate_engagement(s3(), CLEAN, on_athena),
        **quality_tasks.validate_profiles(on_athena),
    }
    on_athena_ = {**quality_tasks.validate_engagement(s3(), CLEAN, athena), **quality_tasks.validate_profiles(athena)}
    for checkpoint, validations in on_duckdb.items():
        for expected, got in zip(validations, on_athena_[checkpoint], strict=True):
            pd.testing.assert_frame_equal(got.frame, expected.frame, obj=expected.suite)


def test_the_gate_on_athena_fails_on_the_bad_event_as_duckdb_does(on_athena):
    with pytest.raises(QualityGateFailed) as on_athena_failed:
        quality_tasks.validate(s3(), BAD)
    message = str(on_athena_failed.value)
    assert re.search(r"^canonical_events/email_destinations: 1 of \d+ expectations failed", message, re.MULTILINE)
    assert f"expect_column_values_to_match_regex on address: 1 unexpected, e.g. ['{mask(BAD_ADDRESS)}']" in message
    with pytest.raises(QualityGateFailed) as on_duckdb_failed:
        checkpoints = {
            **quality_tasks.validate_engagement(s3(), BAD, on_athena),
            **quality_tasks.validate_profiles(on_athena),
        }
        gate(checkpoints, *intervals.from_dbt_vars(BAD))
    assert str(on_duckdb_failed.value) == message


def test_the_dashboard_on_athena_is_the_page_duckdb_gives(stack, on_athena):
    started = stack.athena.requests["StartQueryExecution"]

    page = Path(reporting_tasks.write_dashboard(CLEAN)).read_text()  # the write_dashboard task's body

    assert stack.athena.requests["StartQueryExecution"] - started == DASHBOARD_QUERIES
    assert page == render_report(on_athena, DAY.replace(tzinfo=None), (DAY + 2 * HOUR).replace(tzinfo=None))
    cards = Dashboard(page).cards
    ((events,),) = duckdb_rows("select sum(events) from engagement_volume_by_hour")
    ((quarantined,),) = duckdb_rows(
        "select count(*) from quarantined_records where ingest_hour < '2026-11-20 02:00:00'"
    )
    assert (cards["Events"], cards["Quarantined in interval"]) == (f"{events:,}", f"{quarantined:,}")
    assert events > 100 and quarantined > 0


def run_sync_dags(dags) -> dict[str, tuple[int, int, int, int]]:
    """Both sync DAGs run once through Airflow: each object type's (sent, unchanged, failed, dead-lettered)."""
    run_ids = []
    for dag_id in SYNC_DAGS:
        run = dags[dag_id].test(logical_date=None)
        assert run.state == "success", dag_id
        run_ids.append(run.run_id)
    found = duckdb_rows(
        "select object_type, sent, unchanged, failed, dead_lettered from customer_profiles_sync_runs "
        f"where finished_at is not null and split_part(run_id, '#', 1) in {tuple(run_ids)}"
    )
    return {name: tuple(counts) for name, *counts in found}


def by_key(items: list) -> list:
    return sorted(items, key=lambda item: item.key)  # a model's rows come in no order


def data_requests(stack) -> dict[tuple[str, str], int]:
    """What reached the Customer Profiles / SES endpoint beyond preparing the domain."""
    found = endpoint_rows(stack, "select operation, outcome, n from request_counts")
    prepare = {"GetDomain", "CreateDomain", "PutProfileObjectType"}
    return {(op, outcome): n for op, outcome, n in found if op not in prepare}


def test_the_syncs_on_athena_send_the_warehouse_through_throttling_and_a_rerun_sends_nothing(stack, built, on_athena):
    athena = warehouse()
    # The objects read through Athena are DuckDB's, body for body and hash for hash.
    items = {name: by_key(templates.load_object_type(name).items(athena)) for name in config.OBJECT_TYPES}
    assert items == {name: by_key(templates.load_object_type(name).items(on_athena)) for name in config.OBJECT_TYPES}
    suppressed = ses_suppression.items(athena)
    assert suppressed == ses_suppression.items(on_athena) and suppressed and all(items.values())
    started = stack.athena.requests["StartQueryExecution"]

    first = run_sync_dags(built)

    expected = {name: sorted((json.loads(i.body) for i in found), key=json.dumps) for name, found in items.items()}
    assert endpoint_bodies(stack) == expected
    assert dict(endpoint_rows(stack, "select email, reason from suppressed_destinations")) == {
        item.key: json.loads(item.body)["Reason"] for item in suppressed
    }
    sent = {name: len(found) for name, found in items.items()} | {ses_suppression.OBJECT_TYPE: len(suppressed)}
    assert first == {name: (n, 0, 0, 0) for name, n in sent.items()}
    throttled = sum(n for (_, outcome), n in data_requests(stack).items() if outcome == "throttled")
    assert throttled > 0  # and every throttled request was sent again until it went through
    # The state went through Athena into the sync's tables: every object pushed, nothing failed.
    assert duckdb_rows(
        "select object_type, count(*) from customer_profiles_sync_state "
        "where content_hash is not null and failed_hash is null and attempts = 0 group by 1 order by 1"
    ) == sorted(sent.items())
    assert duckdb_rows("select count(*) from customer_profiles_sync_log where status = 'sent'") == [
        (sum(sent.values()),)
    ]
    # Every read and write of the syncs was an Athena query: reads, and a few statements per checkpoint.
    queries = stack.athena.requests["StartQueryExecution"] - started
    assert 5 * len(sent) <= queries <= 15 * len(sent)

    before, started = data_requests(stack), stack.athena.requests["StartQueryExecution"]
    again = run_sync_dags(built)

    assert stack.athena.requests["StartQueryExecution"] - started == QUIET_SYNC_QUERIES

    assert again == {name: (0, n, 0, 0) for name, n in sent.items()}
    assert data_requests(stack) == before  # not one object sent again
    assert endpoint_bodies(stack) == expected
