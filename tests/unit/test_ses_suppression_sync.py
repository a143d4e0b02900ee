"""The SES account-level suppression list follows suppression_list, through the local endpoint."""

import duckdb
import pytest

from include.sync import config, ses_suppression
from tests.unit.conftest import endpoint_client

SETTINGS = config.SyncSettings(concurrency=2, checkpoint_seconds=0.0)


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("create table suppression_list (email_address varchar, reason varchar)")
    yield connection
    connection.close()


@pytest.fixture
def ses(endpoint):
    return endpoint_client(endpoint, "sesv2")


def suppress(con, *rows: tuple[str, str]) -> None:
    con.execute("delete from suppression_list")
    if rows:
        con.executemany("insert into suppression_list values (?, ?)", rows)


def listed(ses) -> dict[str, str]:
    items = ses.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    return {x["EmailAddress"]: x["Reason"] for x in items}


def run(con, ses, run_id: str) -> dict:
    return ses_suppression.sync_suppression_list(con, ses, run_id, SETTINGS)


def test_the_list_follows_the_warehouse_and_a_rerun_sends_nothing(con, ses):
    suppress(con, ("A@example.com", "BOUNCE"), ("b@example.com", "COMPLAINT"))
    assert run(con, ses, "run1")["sent"] == 2
    assert listed(ses) == {"a@example.com": "BOUNCE", "b@example.com": "COMPLAINT"}
    again = run(con, ses, "run2")
    assert (again["sent"], again["unchanged"]) == (0, 2)
    # A complaint after the bounce changes the reason; b's bounce was reclassified: b leaves.
    suppress(con, ("a@example.com", "COMPLAINT"))
    third = run(con, ses, "run3")
    assert (third["sent"], third["considered"]) == (2, 2)
    assert listed(ses) == {"a@example.com": "COMPLAINT"}
    log = con.execute(
        "select object_key, operation from customer_profiles_sync_log where run_id = 'run3' order by 1"
    ).fetchall()
    assert log == [("a@example.com", "put"), ("b@example.com", "delete")]


def test_addresses_we_did_not_put_are_never_removed(con, ses):
    ses.put_suppressed_destination(EmailAddress="by-hand@example.com", Reason="BOUNCE")
    suppress(con, ("a@example.com", "BOUNCE"))
    run(con, ses, "run1")
    suppress(con)
    assert run(con, ses, "run2")["sent"] == 1
    assert listed(ses) == {"by-hand@example.com": "BOUNCE"}


def test_an_address_already_gone_counts_as_removed(con, ses):
    suppress(con, ("a@example.com", "BOUNCE"))
    run(con, ses, "run1")
    ses.delete_suppressed_destination(EmailAddress="a@example.com")  # someone else removed it
    suppress(con)
    summary = run(con, ses, "run2")
    assert (summary["sent"], summary["failed"]) == (1, 0)
    assert con.execute("select count(*) from customer_profiles_sync_state").fetchone() == (0,)
