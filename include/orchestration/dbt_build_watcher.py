"""A task per dbt node that turns green when the node *and its tests* passed in the producer's `dbt build`.

Cosmos' watcher mode runs one `dbt build` and gives each node a sensor task watching the build's
report of it. With ``TestBehavior.AFTER_EACH`` each tested model gets two (its run, its tests);
``TestBehavior.BUILD`` asks for one, but Cosmos 1.15 renders it as a placeholder that refuses to
be built. This is that one task: it watches the node's status, then its tests' aggregated status
(both reported by the producer), and a retry or a cleared task runs `dbt build --select <node>`
itself. Every task costs Airflow the same whatever it does (~0.15 s of API calls and bookkeeping
locally), so one task per node instead of two makes the build DAG ~48 tasks shorter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.sdk.exceptions import AirflowException
from cosmos import RenderConfig
from cosmos.airflow.graph import _get_dbt_dag_task_group_identifier, create_task_metadata
from cosmos.constants import SUPPORTED_BUILD_RESOURCES, DbtResourceType
from cosmos.core.airflow import get_airflow_task
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import get_xcom_val, is_dbt_node_status_success
from cosmos.operators.base import DbtBuildMixin
from cosmos.operators.watcher import DbtConsumerWatcherSensor


class DbtBuildWatcherSensor(DbtConsumerWatcherSensor):
    """Succeeds when the producer reported the node built and every test on it passed."""

    base_cmd = ["build"]  # a retry (or a cleared task) rebuilds the node and runs its tests
    ui_color = DbtBuildMixin.ui_color

    def __init__(self, *, has_tests: bool, **kwargs: Any) -> None:
        # Cosmos' WatcherTrigger watches one XCom key; this sensor watches two, so it pokes.
        super().__init__(**{**kwargs, "deferrable": False})
        self.has_tests = has_tests
        self._watching_tests = False
        self._built_here = False

    @property
    def is_test_sensor(self) -> bool:
        return self._watching_tests

    def poke(self, context: Any) -> bool:
        if not super().poke(context):  # the node itself
            return False
        if not self.has_tests or self._built_here:  # `dbt build` here ran the node's tests with it
            return True
        # The tests' aggregated status, read alone: the node's SQL and dbt output are logged already,
        # and each read is an API call (~12 ms, on every model's task).
        tests = get_xcom_val(context["ti"], self.producer_task_id, get_tests_status_xcom_key(self.model_unique_id))
        if tests is None:  # not all reported yet, or the producer ended first: Cosmos' test sensor decides
            self._watching_tests = True
            try:
                return super().poke(context)
            finally:
                self._watching_tests = False
        if not is_dbt_node_status_success(tests):
            raise AirflowException(f"Tests for model '{self.model_unique_id}' finished with status '{tests}'")
        return True

    def _log_startup_events(self, ti: Any) -> None:
        """Not read: dbt's version lines are in the producer's log, and Cosmos would read them in every
        model's task (an API call) to log them at debug level."""

    def _fallback_to_non_watcher_run(self, try_number: int, context: Any) -> bool:
        self._built_here = True
        return super()._fallback_to_non_watcher_run(try_number, context)


def node_converters(render_config: RenderConfig) -> dict[DbtResourceType, Callable[..., Any]]:
    """Cosmos node converters rendering each buildable node (model, seed, snapshot) as a DbtBuildWatcherSensor.

    The task is Cosmos' own for ``TestBehavior.BUILD`` (same id, selection and context) with this
    class in place of the placeholder.
    """

    def build_watcher_task(*, dag, task_group, node, task_args, execution_mode, test_indirect_selection, **_):
        metadata = create_task_metadata(
            node=node,
            execution_mode=execution_mode,
            args={**task_args, "has_tests": node.has_test},
            dbt_dag_task_group_identifier=_get_dbt_dag_task_group_identifier(dag, task_group),
            render_config=render_config,
            test_indirect_selection=test_indirect_selection,
        )
        metadata.operator_class = f"{DbtBuildWatcherSensor.__module__}.{DbtBuildWatcherSensor.__name__}"
        return get_airflow_task(metadata, dag, task_group)

    return dict.fromkeys(SUPPORTED_BUILD_RESOURCES, build_watcher_task)
