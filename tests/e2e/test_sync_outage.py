"""An account outage during three sync runs, then recovery, on the real local stack: the
Customer Profiles / SES endpoint refuses requests (its outage switch) while every sync DAG runs
three times through Airflow. Nothing may be counted against any object: once the outage ends,
one run sends exactly the warehouse, with nothing dead-lettered."""

from __future__ import annotations

import json

import duckdb
import pytest

from include import settings
from include.sync import config, ses_suppression
from include.warehouse.seam import DuckDBWarehouse
from local.stack import received_alerts
from tests.e2e import test_faults as faults
from tests.e2e.test_faults import endpoint_bodies, endpoint_rows, warehouse_items

pytestmark = pytest.mark.e2e
# The faults module's fixtures: its small built warehouse (80 people over two hours) on a stack of
# its own (a private Customer Profiles state, 20 % of requests throttled).
stack, sample, warehouse = faults.stack, faults.sample, faults.warehouse
# Two runs where the role lost the data-plane actions (the domain is still prepared, the objects'
# own tasks meet the outage), then one where every request is refused (credentials expired).
DATA_PLANE_OUTAGE = "AccessDeniedException BatchPutProfileObject PutSuppressedDestination"
OUTAGES = (DATA_PLANE_OUTAGE, DATA_PLANE_OUTAGE, "")  # as many runs as max_attempts
CONTROL_PLANE = {"GetDomain", "CreateDomain", "PutProfileObjectType"}


def sync_tables(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def run_sync_dags(dagbag, state: str) -> dict[str, tuple[str, int]]:
    """Each sync DAG run once, ending in ``state``: every task's state and try number, by task id."""
    tasks = {}
    for dag_id in sorted(d for d in dagbag.dags if d.startswith("sync_")):
        run = dagbag.dags[dag_id].test(logical_date=None)
        assert run.state == state, dag_id
        tasks |= {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    return tasks


def test_an_outage_of_three_runs_then_recovery_sends_the_warehouse_with_no_dead_letters(stack, warehouse, dagbag):
    items = warehouse_items()
    expected = {name: sorted((json.loads(i.body) for i in found), key=json.dumps) for name, found in items.items()}
    suppressed = {item.key: json.loads(item.body)["Reason"] for item in ses_suppression.items(DuckDBWarehouse())}
    assert suppressed and all(items.values())
    received_alerts()  # start from none

    for outage in OUTAGES:
        stack.profiles.start_outage(outage)
        tasks = run_sync_dags(dagbag, "failed")
        # The first task to meet the outage fails after Airflow's retries (not a data problem);
        # those after it wait.
        first = "sync_unified_profile" if outage else "prepare_domain"
        failed = {first: ("failed", 3), "sync_ses_suppression_list": ("failed", 3)}
        assert {task: tasks.pop(task) for task in failed} == failed
        if outage:
            assert tasks.pop("prepare_domain") == ("success", 1)
        assert {state for state, _ in tasks.values()} == {"upstream_failed"}
        alerts = {alert["task_id"]: alert for alert in received_alerts()}
        assert {task: alert["try_number"] for task, alert in alerts.items()} == {task: 3 for task in failed}
        assert "SesSuppressedDestination: AccessDeniedException on put" in alerts["sync_ses_suppression_list"]["error"]
        assert ("UnifiedProfile: AccessDeniedException on put" if outage else "domain: AccessDeniedException") in (
            alerts[first]["error"]
        )
        assert all("@" not in alert["error"] for alert in alerts.values())  # SES has the address in the path

    # No data reached the endpoint: only the domain and its object types were set up.
    for table in ("profiles", "profile_objects", "suppressed_destinations"):
        assert endpoint_rows(stack, f"select count(*) from {table}") == [(0,)], table
    assert {op for (op,) in endpoint_rows(stack, "select operation from request_counts where outcome = 'ok'")} == (
        CONTROL_PLANE
    )
    # Nothing was counted against any object: no state, no log rows; each task's runs stopped unfinished.
    assert sync_tables("select count(*) from customer_profiles_sync_state") == [(0,)]
    assert sync_tables("select count(*) from customer_profiles_sync_log") == [(0,)]
    assert sync_tables(
        "select object_type, count(*), sum(sent + failed + dead_lettered), count(finished_at) "
        "from customer_profiles_sync_runs group by 1 order by 1"
    ) == [
        ("SesSuppressedDestination", 3 * len(OUTAGES), 0, 0),
        (config.PROFILE_TYPE, 3 * OUTAGES.count(DATA_PLANE_OUTAGE), 0, 0),
    ]

    stack.profiles.outage_flag.unlink()
    recovered = run_sync_dags(dagbag, "success")
    assert {tries for _, tries in recovered.values()} == {1}
    # One run sends exactly the warehouse, nothing failed or dead-lettered.
    assert endpoint_bodies(stack) == expected
    assert dict(endpoint_rows(stack, "select email, reason from suppressed_destinations")) == suppressed
    sent = {name: len(found) for name, found in items.items()} | {ses_suppression.OBJECT_TYPE: len(suppressed)}
    assert set(sent) == {*config.OBJECT_TYPES, ses_suppression.OBJECT_TYPE}
    assert sync_tables(
        "select object_type, sent, unchanged, failed, dead_lettered from customer_profiles_sync_runs "
        "where finished_at is not null order by 1"
    ) == sorted((name, n, 0, 0, 0) for name, n in sent.items())
    assert sync_tables(
        "select object_type, count(*) filter (content_hash is not null and failed_hash is null and attempts = 0 "
        "and not dead_lettered) from customer_profiles_sync_state group by 1 order by 1"
    ) == sorted(sent.items())
