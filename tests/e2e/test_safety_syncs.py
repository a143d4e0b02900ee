"""Safety syncs do not wait on unrelated checks, and a failed check names no one: one bad record
unrelated to suppressions fails the main gate, so the Customer Profiles sync is not triggered,
while the same interval's new bounce and complaint still reach the SES suppression list of the
local endpoint. The bad record's address is masked in the gate's log, its validation results,
its data docs and its alert. The DAGs run through Airflow (``make run``'s driver, then each DAG
the build's Asset events schedule) on the real local stack."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3

import duckdb
import pytest

import local.run
from include import settings, streams
from local import sample_data
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, received_alerts
from tests.e2e.test_pipeline import DAY, _copy_tree

pytestmark = pytest.mark.e2e
# Landing takes an email sent to no valid address (it judges no addresses); the main gate refuses it.
BAD_ADDRESS = "unrelated.person@example"
MASKED_BAD_ADDRESS = "u***@e***"
BOUNCED, COMPLAINED = "bounced.newcomer@example.com", "complained.newcomer@example.org"


def _ses(event_type: str, message_id: str, recipient: str, **detail) -> dict:
    mail = {"timestamp": "2026-11-20T01:10:00.000Z", "messageId": message_id, "destination": [recipient],
            "source": "news@brand.example"}  # fmt: skip
    return {"eventType": event_type, "mail": mail, **detail}


NEW_EVENTS = [
    _ses("Send", "unrelated-bad-1", BAD_ADDRESS, send={}),
    _ses("Bounce", "new-bounce-1", BOUNCED, bounce={
        "bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-11-20T01:11:00.000Z",
        "bouncedRecipients": [{"emailAddress": BOUNCED, "action": "failed", "status": "5.1.1"}]}),
    _ses("Complaint", "new-complaint-1", COMPLAINED, complaint={
        "complainedRecipients": [{"emailAddress": COMPLAINED}], "timestamp": "2026-11-20T01:12:00.000Z",
        "complaintFeedbackType": "abuse"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def stack(var_dir, tmp_path_factory):
    running = LocalStack(var_dir, S3_PORT, PROFILES_PORT, s3_dir=tmp_path_factory.mktemp("safety-s3")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory):
    sample = tmp_path_factory.mktemp("sample")
    sample_data.generate(sample, people=80, day=DAY, hours=2, seed=7, streams=streams.RAW_STREAMS)
    out = tmp_path_factory.mktemp("input")
    path = out / "ses" / "2026" / "11" / "20" / "01" / "new.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress("\n".join(json.dumps(event) for event in NEW_EVENTS).encode()))
    _copy_tree(sample, out)
    return out


def endpoint_rows(var_dir, sql: str) -> list[tuple]:
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        return db.execute(sql).fetchall()


def visible_text(html: str) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def warehouse_rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_failed_unrelated_check_blocks_profiles_not_suppressions_and_names_no_one(stack, input_dir, var_dir, capfd):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    pushed = "select (select count(*) from profiles), (select count(*) from profile_objects)"
    pushed_before = endpoint_rows(var_dir, pushed)
    received_alerts()  # start from none

    with pytest.raises(SystemExit, match="build_warehouse ended failed"):
        local.run.main(["--input", str(input_dir)])

    with create_session() as session:
        build = session.query(DagRun).filter_by(dag_id="build_warehouse").order_by(DagRun.id.desc()).first()
        states = {ti.task_id: ti.state for ti in build.get_task_instances(session=session)}
        emitted = {
            name
            for (name,) in session.query(AssetModel.name)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetEvent.source_dag_id == "build_warehouse", AssetEvent.source_run_id == build.run_id)
        }
    # The bad record was built (dbt passed), the main gate refused it; the suppressions' gate passed.
    assert warehouse_rows("select count(*) from engagement_events where message_id = 'unrelated-bad-1'") == [(1,)]
    assert {task: states[task] for task in ("validate", "validate_suppressions", "fail_if_the_build_failed")} == {
        "validate": "failed",
        "validate_suppressions": "success",
        "fail_if_the_build_failed": "failed",
    }
    assert emitted == {"validated_suppressions"}

    # What the scheduler would start on those events: the SES sync alone, run here through Airflow.
    dagbag = DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags"))
    triggered = sorted(
        dag_id
        for dag_id, dag in dagbag.dags.items()
        if (condition := getattr(dag.timetable, "asset_condition", None))
        and {asset.name for asset in condition.objects} & emitted
    )
    assert triggered == ["sync_ses_suppression"]
    assert dagbag.dags["sync_ses_suppression"].test(logical_date=None).state == "success"

    # The new bounce and complaint reached SES; the endpoint's list is exactly the warehouse's.
    suppressed = dict(endpoint_rows(var_dir, "select email, reason from suppressed_destinations"))
    assert {BOUNCED: "BOUNCE", COMPLAINED: "COMPLAINT"}.items() <= suppressed.items()
    assert suppressed == dict(warehouse_rows("select email_address, reason from suppression_list"))
    # Nothing reached Customer Profiles.
    assert endpoint_rows(var_dir, pushed) == pushed_before

    # The gate named the failure with the address masked, in the log, the alert, the results and the pages.
    # The task logs: make run's log file, and what pytest took from Python's own stdout and stderr.
    captured = capfd.readouterr()
    log = local.run.log_path().read_text() + captured.out + captured.err
    failure = "expect_column_values_to_match_regex on address: 1 unexpected, e.g. ['u***@e***']"
    assert failure in log
    (alert,) = [a for a in received_alerts() if a["task_id"] == "validate"]
    assert failure in alert["error"]
    results = list((settings.VAR_DIR / "gx" / "validation_results" / "email_destinations").rglob("*.json"))
    pages = list((settings.VAR_DIR / "reports" / "data_docs").rglob("*.html"))
    assert any(MASKED_BAD_ADDRESS in path.read_text() for path in results)
    assert any(f"Unexpected Value Count {MASKED_BAD_ADDRESS} 1" in visible_text(path.read_text()) for path in pages)
    written = [log, json.dumps(alert), *(path.read_text() for path in results + pages)]
    assert not any(BAD_ADDRESS in text or "unrelated.person" in text for text in written)
