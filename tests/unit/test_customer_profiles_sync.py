import duckdb
import pandas as pd
import pytest

from include import customer_profiles_sync as sync
from tests.unit.conftest import endpoint_client


@pytest.fixture
def cp(endpoint):
    client = endpoint_client(endpoint)
    sync.ensure_domain(client, "d")
    sync.ensure_domain(client, "d")  # idempotent
    sync.ensure_object_type(client, "d", "EmailEngagement")
    return client


def frame(*rows):
    return pd.DataFrame([{"email_address": e, "sends": s} for e, s in rows])


def test_only_changed_objects_are_sent(cp):
    con = duckdb.connect()
    first = sync.sync_frame(
        con, cp, "d", "EmailEngagement", frame(("a@x.com", 1), ("b@x.com", 2)), "email_address", "run1"
    )
    assert (first["considered"], first["sent"], first["unchanged"], first["failed"]) == (2, 2, 0, 0)
    again = sync.sync_frame(
        con, cp, "d", "EmailEngagement", frame(("a@x.com", 1), ("b@x.com", 2)), "email_address", "run2"
    )
    assert (again["sent"], again["unchanged"]) == (0, 2)
    changed = sync.sync_frame(
        con, cp, "d", "EmailEngagement", frame(("a@x.com", 1), ("b@x.com", 3)), "email_address", "run3"
    )
    assert (changed["sent"], changed["unchanged"]) == (1, 1)
    runs = con.execute("select run_id, sent from customer_profiles_sync_runs order by run_id").fetchall()
    assert runs == [("run1", 2), ("run2", 0), ("run3", 1)]


def test_rejected_rows_are_logged_and_retried_next_run(cp):
    con = duckdb.connect()
    bad = pd.DataFrame([{"email_address": None, "sends": 1}, {"email_address": "a@x.com", "sends": 1}])
    summary = sync.sync_frame(con, cp, "d", "EmailEngagement", bad, "email_address", "run1")
    assert (summary["sent"], summary["failed"]) == (1, 1)
    code, message = con.execute(
        "select error_code, error_message from customer_profiles_sync_log where status = 'failed'"
    ).fetchone()
    assert code == "BadRequestException" and "UNIQUE" in message
    # Not recorded as pushed, so the next run tries it again.
    assert sync.sync_frame(con, cp, "d", "EmailEngagement", bad, "email_address", "run2")["failed"] == 1


def test_content_hash_ignores_key_order():
    assert sync.content_hash({"a": 1, "b": 2}) == sync.content_hash({"b": 2, "a": 1})
    assert sync.content_hash({"a": 1}) != sync.content_hash({"a": 2})


def test_rate_limiter_spaces_calls(monkeypatch):
    slept = []
    monkeypatch.setattr(sync.time, "sleep", slept.append)
    limiter = sync.RateLimiter(10)
    for _ in range(5):
        limiter.acquire()
    # The clock does not move here, so each call waits for its own slot: 0.1 s apart.
    assert slept == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=0.01)
