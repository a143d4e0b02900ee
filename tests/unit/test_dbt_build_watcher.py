"""A dbt node's task passes when the producer reported the node built and its tests passed; a retry builds both."""

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException
from cosmos.constants import _DBT_STARTUP_EVENTS_XCOM_KEY

from include.orchestration.dbt_build_watcher import DbtBuildWatcherSensor
from include.orchestration.dbt_config import profile_config, project_config

MODEL = "model.customer360.suppression_list"
PRODUCER = "dbt.dbt_producer_watcher"
MODEL_KEY = "model__customer360__suppression_list_status"
TESTS_KEY = "model__customer360__suppression_list_tests_status"


class ProducerReports:
    """The producer's XComs and state as a sensor task reads them; records every dbt command a fallback runs."""

    def __init__(self, producer_state="running", try_number=1, **xcoms):
        self.xcoms, self.producer_state, self.try_number = xcoms, producer_state, try_number
        self.pulled, self.commands = [], []

    def sensor(self, has_tests=True) -> DbtBuildWatcherSensor:
        sensor = DbtBuildWatcherSensor(
            task_id="suppression_list_model_build",
            project_dir=str(project_config.dbt_project_path),
            profile_config=profile_config,
            producer_task_id=PRODUCER,
            extra_context={"dbt_node_config": {"unique_id": MODEL}},
            has_tests=has_tests,
            mode="reschedule",
        )
        sensor._get_producer_task_status = lambda context: self.producer_state
        sensor.build_and_run_cmd = lambda context, cmd_flags: self.commands.append([*sensor.base_cmd, *cmd_flags])
        return sensor

    def context(self) -> dict:
        def xcom_pull(task_ids, key):
            assert task_ids == PRODUCER
            self.pulled.append(key)
            return self.xcoms.get(key)

        return {"ti": SimpleNamespace(try_number=self.try_number, xcom_pull=xcom_pull), "run_id": "r"}


def test_it_waits_for_the_model_then_for_its_tests_and_passes_when_they_pass():
    reports = ProducerReports()
    sensor = reports.sensor()
    assert sensor.poke(reports.context()) is False  # nothing reported yet
    reports.xcoms[MODEL_KEY] = {"status": "success", "outlet_uris": []}
    assert sensor.poke(reports.context()) is False  # built, its tests still running
    assert TESTS_KEY in reports.pulled
    reports.xcoms[TESTS_KEY] = "pass"
    reports.pulled.clear()
    assert sensor.poke(reports.context()) is True
    assert reports.pulled[-1] == TESTS_KEY and reports.pulled.count(TESTS_KEY) == 1  # read once, nothing after
    assert _DBT_STARTUP_EVENTS_XCOM_KEY not in reports.pulled  # dbt's version lines: the producer's log has them
    assert reports.commands == []  # the producer built it: no dbt here


def test_a_failed_test_fails_the_models_task():
    reports = ProducerReports(**{MODEL_KEY: {"status": "success", "outlet_uris": []}, TESTS_KEY: "fail"})
    with pytest.raises(AirflowException, match="Tests for model"):
        reports.sensor().poke(reports.context())


def test_a_failed_model_fails_before_its_tests_are_read():
    reports = ProducerReports(**{MODEL_KEY: {"status": "error", "outlet_uris": []}, TESTS_KEY: "pass"})
    with pytest.raises(AirflowException, match="finished with status 'error'"):
        reports.sensor().poke(reports.context())
    assert TESTS_KEY not in reports.pulled


def test_a_model_without_tests_passes_when_built():
    reports = ProducerReports(**{MODEL_KEY: {"status": "success", "outlet_uris": []}})
    assert reports.sensor(has_tests=False).poke(reports.context()) is True
    assert TESTS_KEY not in reports.pulled


def test_a_retry_after_the_producer_ended_builds_the_model_and_its_tests_itself():
    reports = ProducerReports(producer_state="failed", try_number=2)
    assert reports.sensor().poke(reports.context()) is True
    assert reports.commands == [["build", "--select", "suppression_list"]]
    assert TESTS_KEY not in reports.pulled  # `dbt build` ran them, and failing would have raised
