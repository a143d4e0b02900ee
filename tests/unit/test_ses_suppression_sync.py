"""The SES account-level suppression list follows suppression_list, through the local endpoint."""

import logging
import sqlite3
import types

import pytest

from include.erasure.register import ErasedSubjects
from include.quality.masking import mask
from include.sync import config, engine, ses_suppression, state
from include.warehouse.seam import DuckDBWarehouse
from local.stack import free_port
from tests.unit.conftest import endpoint_client
from tests.unit.test_customer_profiles_sync import WarehouseFile

SETTINGS = config.SyncSettings(concurrency=2, checkpoint_seconds=0.0)


@pytest.fixture
def con(tmp_path, dbt_models):
    """The warehouse file: suppression_list, and the sync's tables made by their dbt models."""
    warehouse_file = WarehouseFile(tmp_path / "warehouse.duckdb")
    warehouse_file.execute("create table suppression_list (email_address varchar, reason varchar)")
    dbt_models(warehouse_file, *state.COLUMNS)
    return warehouse_file


@pytest.fixture
def wh(con) -> DuckDBWarehouse:
    return DuckDBWarehouse(con.path)


@pytest.fixture
def ses(endpoint):
    return endpoint_client(endpoint, "sesv2")


def suppress(con, *rows: tuple[str, str]) -> None:
    con.execute("delete from suppression_list")
    if rows:
        con.insert("suppression_list", [{"email_address": a, "reason": r} for a, r in rows])


def listed(ses) -> dict[str, str]:
    items = ses.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    return {x["EmailAddress"]: x["Reason"] for x in items}


def endpoint_requests(endpoint) -> dict[tuple[str, str], int]:
    with sqlite3.connect(endpoint.state_path) as db:
        return {(op, outcome): n for op, outcome, n in db.execute("select * from request_counts")}


def run(wh, ses, run_id: str) -> dict:
    return ses_suppression.sync_suppression_list(wh, ses, run_id, SETTINGS, ErasedSubjects({}, None))


def test_the_list_follows_the_warehouse_and_a_rerun_sends_nothing(con, ses, wh):
    suppress(con, ("A@example.com", "BOUNCE"), ("b@example.com", "COMPLAINT"))
    assert run(wh, ses, "run1")["sent"] == 2
    assert listed(ses) == {"a@example.com": "BOUNCE", "b@example.com": "COMPLAINT"}
    again = run(wh, ses, "run2")
    assert (again["sent"], again["unchanged"]) == (0, 2)
    # A complaint after the bounce changes the reason; b's bounce was reclassified: b leaves.
    suppress(con, ("a@example.com", "COMPLAINT"))
    third = run(wh, ses, "run3")
    assert (third["sent"], third["considered"]) == (2, 2)
    assert listed(ses) == {"a@example.com": "COMPLAINT"}
    log = con.execute(
        "select object_key, operation from customer_profiles_sync_log where run_id = 'run3' order by 1"
    ).fetchall()
    assert log == [("a@example.com", "put"), ("b@example.com", "delete")]


def test_addresses_we_did_not_put_are_never_removed(con, ses, wh):
    ses.put_suppressed_destination(EmailAddress="by-hand@example.com", Reason="BOUNCE")
    suppress(con, ("a@example.com", "BOUNCE"))
    run(wh, ses, "run1")
    suppress(con)
    assert run(wh, ses, "run2")["sent"] == 1
    assert listed(ses) == {"by-hand@example.com": "BOUNCE"}


def test_an_address_already_gone_counts_as_removed(con, ses, wh):
    suppress(con, ("a@example.com", "BOUNCE"))
    run(wh, ses, "run1")
    ses.delete_suppressed_destination(EmailAddress="a@example.com")  # someone else removed it
    suppress(con)
    summary = run(wh, ses, "run2")
    assert (summary["sent"], summary["failed"]) == (1, 0)
    assert con.execute("select count(*) from customer_profiles_sync_state").fetchone() == (0,)


def test_an_outage_counts_no_attempt_and_the_list_follows_once_it_ends(endpoint, con, ses, wh):
    suppress(con, *((f"user{i:02}@example.com", "BOUNCE") for i in range(30)))
    endpoint.outage_flag.touch()
    for run_id in ("run1", "run2", "run3", "run4"):  # more runs than max_attempts
        with pytest.raises(engine.TargetUnavailable) as caught:
            run(wh, ses, run_id)
        assert "SesSuppressedDestination: AccessDeniedException on put" in str(caught.value)
        assert "@" not in str(caught.value)
    refused = endpoint_requests(endpoint)["PutSuppressedDestination", "AccessDeniedException"]
    assert refused <= 4 * 2 * SETTINGS.concurrency  # each run stopped with what was in flight, not 30 requests
    assert con.execute("select count(*) from customer_profiles_sync_state").fetchone() == (0,)
    assert con.execute("select count(*) from customer_profiles_sync_log").fetchone() == (0,)

    endpoint.outage_flag.unlink()
    summary = run(wh, ses, "run5")
    assert (summary["sent"], summary["failed"], summary["dead_lettered"]) == (30, 0, 0)
    assert listed(ses) == {f"user{i:02}@example.com": "BOUNCE" for i in range(30)}


def test_an_unreachable_endpoint_stops_the_run(con, wh):
    unreachable = endpoint_client(types.SimpleNamespace(url=f"http://127.0.0.1:{free_port()}"), "sesv2")
    suppress(con, ("a@example.com", "BOUNCE"))
    with pytest.raises(engine.TargetUnavailable, match="EndpointConnectionError"):
        run(wh, unreachable, "run1")
    assert con.execute("select count(*) from customer_profiles_sync_state").fetchone() == (0,)


def test_a_dead_lettered_address_is_alerted_masked(con, ses, wh, caplog):
    suppress(con, ("dead.letter@example.com", "NOT_A_REASON"))  # the endpoint refuses the reason
    with caplog.at_level(logging.ERROR, logger="customer360.alerts"):
        for run_id in ("run1", "run2", "run3"):
            with pytest.raises(engine.SyncRejected):
                run(wh, ses, run_id)
    assert "1 objects dead-lettered" in caplog.text
    assert mask("dead.letter@example.com") in caplog.text and "dead.letter@example.com" not in caplog.text
