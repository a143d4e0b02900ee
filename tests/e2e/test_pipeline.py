"""The DAGs, run by Airflow on small data through the real local stack (S3 server, DuckDB,
dbt, Great Expectations, Customer Profiles endpoint): assertions are on the data."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from datetime import UTC, datetime

import duckdb
import pytest

from include import landing, local_stack, run_local, sample_data, settings

pytestmark = pytest.mark.e2e
DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack(var_dir):
    running = local_stack.LocalStack(var_dir, local_stack.S3_PORT, local_stack.PROFILES_PORT).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("input")
    counts = sample_data.generate(out, people=150, day=DAY, hours=3, seed=11)
    # An at-least-once re-delivery that arrives two hours after the first: it lands, and collapses.
    first_hour = min((out / "ses").rglob("*.gz"))
    redelivered = next(
        line for line in gzip.decompress(first_hour.read_bytes()).decode().splitlines() if _lands("ses", line)
    )
    late = out / "ses" / "2026" / "11" / "20" / "02" / "redelivered.gz"
    late.write_bytes(gzip.compress(redelivered.encode() + b"\n"))
    counts["ses"]["redeliveries"] += 1
    return out, counts


def _lands(stream: str, line: str) -> bool:
    try:
        landing.check_record(stream, line)
    except landing.Quarantined:
        return False
    return True


def warehouse_rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_digest(table: str) -> str:
    return hashlib.sha256(repr(warehouse_rows(f"select * from {table} order by all")).encode()).hexdigest()


def profile_objects(var_dir) -> dict[str, dict]:
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        rows = db.execute("select unique_key, body from profile_objects where object_type = 'EmailEngagement'")
        return {key: json.loads(body) for key, body in rows}


def test_make_run_builds_events_and_pushes_profiles(stack, sample, var_dir):
    input_dir, counts = sample
    assert run_local.main(["--input", str(input_dir)]) == 0

    # Every landed line is accounted for: canonical + re-deliveries collapsed + quarantined.
    event_streams = ("ses", "sms_voice", "whatsapp")
    assert warehouse_rows("select count(*) from engagement_events") == [
        (sum(counts[s]["events"] for s in event_streams),)
    ]
    assert warehouse_rows("select count(*) from conversation_messages") == [(counts["conversations"]["events"],)]
    landed = dict(warehouse_rows("select stream, sum(raw_records) from landing_reconciliation group by stream"))
    assert landed == {s: c["records"] + c["redeliveries"] for s, c in counts.items()}
    reasons = dict(warehouse_rows("select reason, count(*) from quarantined_records group by reason"))
    assert reasons == {"invalid_json": 4, "not_an_object": 4, "unknown_shape": 4, "missing_message_id": 5}
    assert warehouse_rows("select count(*) - count(distinct event_id) from engagement_events") == [(0,)]
    channels = {c for (c,) in warehouse_rows("select distinct channel from engagement_events")}
    assert channels == {"email", "text", "media", "voice", "whatsapp"}

    # Customer Profiles holds exactly the warehouse's recipients, field for field.
    recipients = warehouse_rows(
        "select email_address, sends, deliveries, opens, clicks, bounces, complaints from email_recipients"
    )
    pushed = profile_objects(var_dir)
    assert len(pushed) == len(recipients) > 50
    for email, *metrics in recipients:
        body = pushed[email]
        assert [body[k] for k in ("sends", "deliveries", "opens", "clicks", "bounces", "complaints")] == metrics


def test_second_run_gives_same_tables_and_sends_nothing(stack, sample, var_dir):
    input_dir, _ = sample
    tables = (
        "engagement_events",
        "conversation_messages",
        "quarantined_records",
        "email_recipients",
        "campaign_performance",
        "suppression_list",
        "sms_opt_outs",
        "sms_cost_by_country",
    )
    before = {t: table_digest(t) for t in tables}
    objects_before = profile_objects(var_dir)
    assert run_local.main(["--input", str(input_dir)]) == 0
    assert {t: table_digest(t) for t in before} == before
    assert profile_objects(var_dir) == objects_before
    last = warehouse_rows("select sent, unchanged from customer_profiles_sync_runs order by finished_at desc limit 1")
    assert last[0][0] == 0 and last[0][1] == len(objects_before)


def test_failed_quality_check_blocks_the_sync(stack, sample, var_dir, tmp_path):
    input_dir, _ = sample
    # An event stamped a year after the hour it landed in: valid JSON, impossible data.
    future = {
        "eventType": "Send",
        "mail": {
            "timestamp": "2027-11-20T01:00:00.000Z",
            "messageId": "future-1",
            "destination": ["new.person@example.com"],
            "source": "x@example.com",
        },
        "send": {},
    }
    path = tmp_path / "ses" / "2026" / "11" / "20" / "01" / "late.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(json.dumps(future).encode()))
    for source in input_dir.rglob("*"):
        if source.is_file():
            target = tmp_path / source.relative_to(input_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    runs_before = warehouse_rows("select count(*) from customer_profiles_sync_runs")

    with pytest.raises(SystemExit, match="build_warehouse ended failed"):
        run_local.main(["--input", str(tmp_path)])

    # dbt built the bad row (so the build ran); the gate after it failed, and nothing was pushed.
    assert warehouse_rows("select count(*) from engagement_events where message_id = 'future-1'") == [(1,)]
    assert warehouse_rows("select count(*) from customer_profiles_sync_runs") == runs_before
    assert "new.person@example.com" not in profile_objects(var_dir)
