"""Late files and failed builds, through the real DAGs (``dag.test``) on the local stack: every
landing-bucket object is landed exactly once whenever it arrives, and every landed hour is built.

One person (a CRM record) and a few SES events, hour by hour as the schedule runs them:
- 10:00 lands, and its build fails at the gate (the raw zone unreachable); 11:00 lands, and its
  build covers 10:00 too, and passes;
- an Open for the 11:00 email arrives after 11:00's run, under 11:00's Firehose prefix: 12:00's
  run lands 11:00 again, its build covers it, and the sync pushes the open to Customer Profiles;
  an object of 00:00, beyond the lookback, alerts with the run that lands it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from include import settings
from include.landing.partitions import manifest_key
from include.landing.sources import CUSTOMER_COLUMNS
from include.orchestration import build, connections
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, free_ports, received_alerts, s3_client

pytestmark = pytest.mark.e2e
H10 = datetime(2026, 11, 26, 10, tzinfo=UTC)  # a day no other e2e module lands
HOUR = timedelta(hours=1)
EMAIL = "ana.late@example.com"
S3_CONN_VAR = connections.variable(settings.S3_CONN_ID)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Its own lake and Customer Profiles state on the session's ports; the session's warehouse (emptied: conftest.py).
    var_dir = tmp_path_factory.mktemp("late-files-var")
    running = LocalStack(var_dir, S3_PORT, PROFILES_PORT).start()
    yield var_dir
    running.stop()


@pytest.fixture(scope="module")
def catch_up_from_now():
    """The session's Airflow metadata holds other modules' landing runs (their lakes gone): each
    build here looks back only as far as this module's start."""
    started = datetime.now(UTC)
    patch = pytest.MonkeyPatch()
    yield lambda: patch.setattr(build, "CATCH_UP", datetime.now(UTC) - started)
    patch.undo()


def ses(event_type: str, message_id: str, at: datetime, detail: dict | None = None) -> str:
    """One SES event publishing record for EMAIL, as Firehose delivers it."""
    sent = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    mail = {
        "timestamp": sent, "source": "news@brand.example", "sendingAccountId": "123456789012",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/brand.example", "messageId": message_id,
        "destination": [EMAIL], "headersTruncated": False,
        "commonHeaders": {"from": ["Brand <news@brand.example>"], "to": [EMAIL], "messageId": message_id,
                          "subject": "Winter for you"},
        "tags": {"campaign": ["winter"]},
    }  # fmt: skip
    key = event_type[0].lower() + event_type[1:]
    return json.dumps({"eventType": event_type, "mail": mail, key: ({"timestamp": sent} | (detail or {}))})


def put(s3, key: str, *lines: str) -> str:
    body = "".join(line + "\n" for line in lines).encode()
    s3.put_object(Bucket=settings.LANDING_BUCKET, Key=key, Body=gzip.compress(body) if key.endswith(".gz") else body)
    return key


def firehose_key(hour: datetime, name: str) -> str:
    return f"ses/{hour:%Y/%m/%d/%H}/ses-firehose-1-{hour:%Y-%m-%d-%H}-{name}.gz"


def land(dagbag, hour: datetime):
    """The scheduled landing run of ``hour`` (a manual run's data interval is the hour before its logical date)."""
    return dagbag.dags["land_engagement_events"].test(logical_date=hour + HOUR)


def run_build(dagbag, catch_up_from_now):
    """A build as raw_zone_landed triggers it: no range of its own. A logical date of its own, as
    dag.test replaces the run of the same logical date, and with it what that build recorded."""
    catch_up_from_now()
    return dagbag.dags["build_warehouse"].test(logical_date=datetime.now(UTC))


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        value = session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
            )
        )
    return json.loads(value) if isinstance(value, str) else value


def rows_validated(run, suite: str) -> int:
    (summary,) = [s for s in xcom(run, "validate") if s["suite"] == suite]
    return summary["rows"]


def warehouse_rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def events_by_hour() -> dict[datetime, int]:
    rows = warehouse_rows("select ingest_hour, count(*) from engagement_events group by ingest_hour")
    return {hour.replace(tzinfo=UTC): events for hour, events in rows}


@pytest.fixture(scope="module")
def failed_then_passed(stack, dagbag, catch_up_from_now):
    """10:00 landed and its build failed at the gate; 11:00 landed and built: (the two builds)."""
    s3 = s3_client()
    crm = io.StringIO()
    record = {"source_system": "crm", "customer_id": "C1", "first_name": "Ana", "last_name": "Late", "email": EMAIL,
              "updated_at": "2026-11-26T09:00:00Z"}  # fmt: skip
    csv.writer(crm, lineterminator="\n").writerows([CUSTOMER_COLUMNS, [record.get(c, "") for c in CUSTOMER_COLUMNS]])
    s3.put_object(Bucket=settings.LANDING_BUCKET, Key=f"customers/{H10:%Y/%m/%d/%H}/crm.csv", Body=crm.getvalue())
    delivered = {"recipients": [EMAIL], "smtpResponse": "250 ok"}
    put(s3, firehose_key(H10, "a"), ses("Send", "m-1", H10 + timedelta(minutes=5)),
        ses("Delivery", "m-1", H10 + timedelta(minutes=6), delivered))  # fmt: skip
    assert land(dagbag, H10).state == "success"

    # The gate cannot read the manifests: the build fails after dbt built 10:00.
    conn = json.loads(os.environ[S3_CONN_VAR])
    unreachable = f"http://127.0.0.1:{free_ports(1)[0]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(S3_CONN_VAR, json.dumps(conn | {"extra": conn["extra"] | {"endpoint_url": unreachable}}))
        failed = run_build(dagbag, catch_up_from_now)
    assert (failed.state, task_states(failed)["validate"]) == ("failed", "failed")

    put(s3, firehose_key(H10 + HOUR, "a"), ses("Send", "m-2", H10 + HOUR + timedelta(minutes=1)))
    assert land(dagbag, H10 + HOUR).state == "success"
    passed = run_build(dagbag, catch_up_from_now)
    assert passed.state == "success"
    return failed, passed


def test_a_failed_build_s_hours_are_built_and_gated_by_the_next_build(failed_then_passed):
    failed, passed = failed_then_passed
    ten, eleven = (f"{hour:%Y-%m-%d %H}:00:00" for hour in (H10, H10 + HOUR))
    assert xcom(failed, "resolve_interval") == {"c360__interval_start": ten, "c360__interval_end": eleven}
    # 11:00's build covers 10:00, which the failed build left, and its gate checks both hours.
    assert xcom(passed, "resolve_interval")["c360__interval_start"] == ten
    assert rows_validated(passed, "engagement_events") == 3
    assert len(xcom(passed, "resolve_interval", build.COVERED_KEY)) == 2  # both landing runs
    assert events_by_hour() == {H10: 2, H10 + HOUR: 1}


def test_a_late_file_is_landed_once_built_and_synced_and_an_older_one_alerts(
    failed_then_passed, stack, dagbag, catch_up_from_now
):
    s3 = s3_client()
    received_alerts()  # the failed build's: read and gone
    # After 11:00's run: an Open of 11:00's email in 11:00's prefix, and an object of 00:00.
    late = put(s3, firehose_key(H10 + HOUR, "late"),
               ses("Open", "m-2", H10 + HOUR + timedelta(minutes=50), {"ipAddress": "198.51.100.7"}))  # fmt: skip
    old = put(s3, firehose_key(H10 - 10 * HOUR, "old"), ses("Send", "m-0", H10 - 10 * HOUR))

    landing = land(dagbag, H10 + 2 * HOUR)

    states = task_states(landing)
    assert (states["land_ses"], states["report_landed"], states["check_late_files"]) == ("success", "success", "failed")
    assert xcom(landing, "land_ses")["hours"] == [(H10 + HOUR).isoformat()]  # 12:00 had no file
    manifest = json.loads(s3.get_object(Bucket=settings.RAW_BUCKET, Key=manifest_key("ses", H10 + HOUR))["Body"].read())
    assert [f["key"] for f in manifest["source_files"]] == [firehose_key(H10 + HOUR, "a"), late]
    assert (manifest["lines_read"], manifest["landed"]) == (2, 2)  # each line once
    (alert,) = [a for a in received_alerts() if a["task_id"] == "check_late_files"]
    window = {"interval_start": (H10 - 10 * HOUR).isoformat(), "interval_end": (H10 - 9 * HOUR).isoformat()}
    assert "1 landing objects no manifest lists" in alert["error"] and old in alert["error"]
    assert f"airflow dags trigger land_engagement_events -c '{json.dumps(window)}'" in alert["error"]

    built = run_build(dagbag, catch_up_from_now)
    assert built.state == "success"
    eleven, twelve = (f"{hour:%Y-%m-%d %H}:00:00" for hour in (H10 + HOUR, H10 + 2 * HOUR))
    # Only the late landing: the earlier ones were built by a build that passed.
    assert xcom(built, "resolve_interval") == {"c360__interval_start": eleven, "c360__interval_end": twelve}
    assert events_by_hour() == {H10: 2, H10 + HOUR: 2}  # the late open beside its send

    assert dagbag.dags["sync_customer_profiles"].test(logical_date=None).state == "success"
    with sqlite3.connect(stack / "customer_profiles.sqlite") as db:
        bodies = [json.loads(b) for (b,) in db.execute("select body from profile_objects where object_type = ?",
                                                      ("EngagementSummary",))]  # fmt: skip
    assert [(b["channel"], b["sends_30d"], b["opens_30d"]) for b in bodies] == [("email", 2, 1)]

    # The next hour's run finds nothing late: 11:00 is not landed again.
    again = land(dagbag, H10 + 3 * HOUR)
    assert task_states(again)["land_ses"] == "skipped"
