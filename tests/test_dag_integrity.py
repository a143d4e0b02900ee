"""Every DAG imports cleanly, the expected DAGs exist, and each is set up to be operated."""

import json

import pytest
from airflow.dag_processing.dagbag import DagBag

from include import settings, streams

EXPECTED_DAGS = {
    "land_engagement_events",
    "build_warehouse",
    "sync_customer_profiles",
    "sync_ses_suppression",
    "erase_person",
}
# Tasks that must not retry: a failed expectation (or a bad erasure request) fails identically on every try.
NO_RETRY_TASKS = {("build_warehouse", "validate"), ("erase_person", "check_request")}
# Fail a run whose task failed (the run's last tasks decide its state, and these run whatever
# happened): no retry, and no alert of their own — the failed task alerted.
RUN_STATE_TASKS = {
    ("land_engagement_events", "fail_if_a_stream_failed"),
    ("build_warehouse", "fail_if_the_build_failed"),
}


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dag_ids(dagbag):
    assert set(dagbag.dag_ids) == EXPECTED_DAGS


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_is_documented_owned_and_tagged(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and len(dag.doc_md) > 100
    assert "customer360" in dag.tags
    assert all(task.owner == "customer360" for task in dag.tasks)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_every_task_retries_and_alerts(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        if (dag_id, task.task_id) in RUN_STATE_TASKS:
            assert (task.retries, task.on_failure_callback, task.trigger_rule) == (0, [], "one_failed")
            continue
        expected = 0 if (dag_id, task.task_id) in NO_RETRY_TASKS else 2
        assert task.retries == expected, task.task_id
        assert task.on_failure_callback, task.task_id


def test_build_renders_every_dbt_model_as_a_task(dagbag):
    task_ids = set(dagbag.dags["build_warehouse"].task_ids)
    for model in ("stg_ses__events", "engagement_events", "quarantined_records", "landing_reconciliation"):
        assert any(model in task_id for task_id in task_ids), model


def test_every_task_runs_in_the_default_pool_or_a_declared_one(dagbag):
    from include.orchestration.pools import POOLS

    pools = {task.pool for dag in dagbag.dags.values() for task in dag.tasks}
    assert pools - {"default_pool"} == set(POOLS)


def test_landing_has_one_task_per_stream_each_updating_its_asset(dagbag):
    dag = dagbag.dags["land_engagement_events"]
    for stream in streams.RAW_STREAMS:
        task = dag.get_task(f"land_{stream}")
        assert [asset.name for asset in task.outlets] == [f"raw_{stream}"]


def test_landing_runs_hourly_and_on_source_system_file_drops(dagbag):
    from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable

    schedule = dagbag.dags["land_engagement_events"].timetable
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert isinstance(schedule.timetable, CronDataIntervalTimetable) and schedule.timetable.expression == "0 * * * *"
    assert {asset.name for asset in schedule.asset_condition.objects} == {
        f"landing_{stream}" for stream in streams.SOURCE_STREAMS
    }


def test_build_runs_once_per_landing_run_and_the_syncs_on_their_validated_assets(dagbag):
    build = dagbag.dags["build_warehouse"].timetable.asset_condition
    assert [asset.name for asset in build.objects] == ["raw_zone_landed"]
    # One landing run, one event: reported after every stream, whatever their outcome.
    report = dagbag.dags["land_engagement_events"].get_task("report_landed")
    assert [asset.name for asset in report.outlets] == ["raw_zone_landed"]
    assert report.trigger_rule == "all_done"
    assert report.upstream_task_ids == {f"land_{stream}" for stream in streams.RAW_STREAMS}
    sync = dagbag.dags["sync_customer_profiles"].timetable.asset_condition
    assert [asset.name for asset in sync.objects] == ["validated_marts"]
    suppressions = dagbag.dags["sync_ses_suppression"].timetable.asset_condition
    assert [asset.name for asset in suppressions.objects] == ["validated_suppressions"]
    assert dagbag.dags["sync_ses_suppression"].task_ids == ["sync_ses_suppression_list"]
    assert "sync_ses_suppression_list" not in dagbag.dags["sync_customer_profiles"].task_ids


def test_the_suppressions_gate_waits_for_its_own_models_and_for_the_run_to_release_the_warehouse(dagbag):
    dag = dagbag.dags["build_warehouse"]
    gate = dag.get_task("validate_suppressions")
    assert [asset.name for asset in gate.outlets] == ["validated_suppressions"]
    assert [asset.name for asset in dag.get_task("validate").outlets] == ["validated_marts"]
    # Its own inputs built and tested, not validate nor any other model: all of them must succeed.
    assert gate.trigger_rule == "all_success"
    assert gate.upstream_task_ids == {
        "resolve_interval",
        "dbt.suppression_list_model_build",
        "dbt.landing_reconciliation_model_build",
        "warehouse_released",
    }
    # Released once every other task of the run is done, whatever its outcome (dbt's process and the
    # gate's reads hold the DuckDB file the SES sync writes).
    released = dag.get_task("warehouse_released")
    assert released.trigger_rule == "all_done"
    assert {"dbt.dbt_producer_watcher_done", "validate", "write_dashboard"} <= released.upstream_task_ids
    assert set(dag.task_ids) - released.get_flat_relative_ids(upstream=True) == {
        "warehouse_released",
        "validate_suppressions",
        "fail_if_the_build_failed",
    }
    # A failed dbt build, gate or dashboard still fails the run.
    assert dag.get_task("fail_if_the_build_failed").upstream_task_ids == {"write_dashboard"}
    assert {task.task_id for task in dag.leaves} == {"validate_suppressions", "fail_if_the_build_failed"}


def test_build_runs_dbt_once_and_every_model_has_a_task_that_reports_it(dagbag):
    from airflow.sdk.bases.sensor import BaseSensorOperator
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    from include.orchestration.dbt_build_watcher import DbtBuildWatcherSensor

    dag = dagbag.dags["build_warehouse"]
    producers = [task for task in dag.tasks if isinstance(task, DbtProducerWatcherOperator)]
    assert [task.task_id for task in producers] == ["dbt.dbt_producer_watcher"]
    # It emits no per-model Asset events (Cosmos' OpenLineage URIs are not Airflow 3 Asset URIs).
    assert producers[0]._should_generate_model_uris is False
    dbt_tasks = [task for task in dag.tasks if task.task_id.startswith("dbt.") and task not in producers]
    sensors = [task for task in dbt_tasks if isinstance(task, BaseSensorOperator)]
    # One task per model and seed, its tests included: each a reschedule sensor (no worker slot held,
    # no triggerer), and nothing else in the group but the producer's own.
    manifest = json.loads(settings.DBT_MANIFEST_PATH.read_text())
    buildable = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] in ("model", "seed")}
    assert {task.task_id.removeprefix("dbt.").rsplit("_", 2)[0] for task in sensors} == buildable
    assert len(sensors) == len(buildable)
    assert {type(task) for task in sensors} == {DbtBuildWatcherSensor}
    assert {task.task_id for task in dbt_tasks} - {task.task_id for task in sensors} == {
        "dbt.dbt_producer_watcher_done"
    }
    assert {(task.mode, task.deferrable) for task in sensors} == {("reschedule", False)}
    assert dag.get_task("dbt.suppression_list_model_build").has_tests
    # The per-type event views are built by the same dbt build, and shown like every model.
    assert any("email_bounce" in task.task_id for task in sensors)
    assert not {"create_raw_relations", "event_type_views"} & set(dag.task_ids)


@pytest.mark.parametrize("dag_id", ["land_engagement_events", "build_warehouse"])
def test_interval_params_refuse_a_value_that_is_not_a_date_time(dagbag, dag_id):
    from airflow.sdk.exceptions import ParamValidationError

    params = dagbag.dags[dag_id].params
    params.validate()  # the defaults (no range) are valid
    for name in ("interval_start", "interval_end"):
        params[name] = "2026-11-20T00:00:00+00:00"
        with pytest.raises(ParamValidationError):
            params[name] = "yesterday"


# Every task process parses its DAG file (a task per dbt node in the build): what parsing imports
# is paid per task. Task bodies import these where they run.
HEAVY_MODULES = {"pandas", "great_expectations", "duckdb", "sqlglot", "splink"}
DAGS_PARSED_LIGHT = {
    "land_engagement_events.py",
    "build_warehouse.py",
    "erase_person.py",
    "sync_customer_profiles.py",
    "sync_ses_suppression.py",
}


@pytest.mark.parametrize("dag_file", sorted(path.name for path in (settings.PROJECT_ROOT / "dags").glob("*.py")))
def test_parsing_a_dag_imports_no_local_tool_and_nothing_heavy(dag_file):
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('dag', {str(settings.PROJECT_ROOT / 'dags' / dag_file)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    # Locally Airflow's own settings load local.stack (SQLite's connect args): not the DAG's doing.
    env = {key: value for key, value in os.environ.items() if "SQL_ALCHEMY_CONNECT_ARGS" not in key}
    env["PYTHONPATH"] = os.pathsep.join([str(settings.PROJECT_ROOT), str(settings.PROJECT_ROOT / "plugins")])
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=settings.PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "local" not in loaded, "DAGs must not import the local-only tools"
    if dag_file in DAGS_PARSED_LIGHT:
        assert not HEAVY_MODULES & loaded
