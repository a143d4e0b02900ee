"""An account outage during three sync runs, then recovery, on the real local stack: the
Customer Profiles endpoint refuses every request (its outage switch) while the sync DAG runs
three times through Airflow. Nothing may be counted against any object: once the outage ends,
one run sends exactly the warehouse, with nothing dead-lettered."""

from __future__ import annotations

import json

import duckdb
import pytest

from include import settings
from include.sync import config, ses_suppression
from local.stack import received_alerts
from tests.e2e import test_faults as faults
from tests.e2e.test_faults import endpoint_bodies, endpoint_rows, warehouse_items

pytestmark = pytest.mark.e2e
# The faults module's fixtures: its small built warehouse (80 people over two hours) on a stack of
# its own (a private Customer Profiles state, 20 % of requests throttled).
stack, sample, warehouse, dagbag = faults.stack, faults.sample, faults.warehouse, faults.dagbag
OUTAGE_RUNS = 3  # as many runs as max_attempts: before, every object changed meanwhile was dead-lettered
API_TASKS = ("prepare_domain", "sync_ses_suppression_list")  # the tasks that call the APIs first


def sync_tables(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_an_outage_of_three_runs_then_recovery_sends_the_warehouse_with_no_dead_letters(stack, warehouse, dagbag):
    items = warehouse_items()
    expected = {name: sorted((json.loads(i.body) for i in found), key=json.dumps) for name, found in items.items()}
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        suppressed = {item.key: json.loads(item.body)["Reason"] for item in ses_suppression.items(con)}
    assert suppressed and all(items.values())
    sync = dagbag.dags["sync_customer_profiles"]
    received_alerts()  # start from none

    stack.profiles.outage_flag.touch()
    for _ in range(OUTAGE_RUNS):
        run = sync.test(logical_date=None)
        assert run.state == "failed"
        tries = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
        # Retried by Airflow (an outage is not a data problem), each failing on its first API call.
        assert {task: tries.pop(task) for task in API_TASKS} == dict.fromkeys(API_TASKS, ("failed", 3))
        assert {state for state, _ in tries.values()} == {"upstream_failed"}  # the object types wait for the domain
    alerts = received_alerts()
    assert sorted((a["task_id"], a["try_number"]) for a in alerts) == sorted(
        (task, 3) for task in API_TASKS * OUTAGE_RUNS
    )
    for alert in alerts:
        assert "AccessDeniedException" in alert["error"] and "refused this account" in alert["error"]
        assert "@" not in alert["error"]  # no address, though SES puts it in the request's path
    assert "SesSuppressedDestination" in next(a["error"] for a in alerts if a["task_id"] == API_TASKS[1])

    # Nothing reached the endpoint; every request the sync made was refused.
    for table in ("profiles", "profile_objects", "suppressed_destinations"):
        assert endpoint_rows(stack, f"select count(*) from {table}") == [(0,)], table
    assert endpoint_rows(stack, "select distinct outcome from request_counts") == [("AccessDeniedException",)]
    # Nothing was counted against any object: no state, no log rows; the SES runs stopped unfinished.
    assert sync_tables("select count(*) from customer_profiles_sync_state") == [(0,)]
    assert sync_tables("select count(*) from customer_profiles_sync_log") == [(0,)]
    assert sync_tables(
        "select object_type, count(*), sum(sent + failed + dead_lettered), count(finished_at) "
        "from customer_profiles_sync_runs group by 1"
    ) == [("SesSuppressedDestination", OUTAGE_RUNS * 3, 0, 0)]

    stack.profiles.outage_flag.unlink()
    recovered = sync.test(logical_date=None)
    assert recovered.state == "success"
    assert {ti.try_number for ti in recovered.get_task_instances()} == {1}
    # One run sends exactly the warehouse, nothing failed or dead-lettered.
    assert endpoint_bodies(stack) == expected
    assert dict(endpoint_rows(stack, "select email, reason from suppressed_destinations")) == suppressed
    sent = {name: len(found) for name, found in items.items()} | {ses_suppression.OBJECT_TYPE: len(suppressed)}
    assert set(sent) == {*config.OBJECT_TYPES, ses_suppression.OBJECT_TYPE}
    assert sync_tables(
        "select object_type, sent, unchanged, failed, dead_lettered from customer_profiles_sync_runs "
        f"where run_id like '{recovered.run_id}#%' order by 1"
    ) == sorted((name, n, 0, 0, 0) for name, n in sent.items())
    assert sync_tables(
        "select object_type, count(*) filter (content_hash is not null and failed_hash is null and attempts = 0 "
        "and not dead_lettered) from customer_profiles_sync_state group by 1 order by 1"
    ) == sorted(sent.items())
