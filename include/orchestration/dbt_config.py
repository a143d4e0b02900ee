"""How Cosmos finds and runs the dbt project (shared by the DAGs that run dbt)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import PRODUCER_WATCHER_TASK_ID, ExecutionMode, InvocationMode, LoadMode, TestBehavior

from include import intervals, settings
from include.orchestration import dbt_build_watcher

project_config = ProjectConfig(
    dbt_project_path=settings.DBT_PROJECT_DIR,
    manifest_path=settings.DBT_MANIFEST_PATH,
    install_dbt_deps=False,  # the project has no packages: nothing to download at run time
)

profile_config = ProfileConfig(
    profile_name="customer360",
    target_name=settings.DBT_TARGET,
    profiles_yml_filepath=settings.DBT_PROJECT_DIR / "profiles.yml",
)


class _HooksHaveNoTask(logging.Filter):
    """dbt's on-run-start hook (declaring the raw zone) is an `operation` node: it runs inside the
    producer's `dbt build`, so Cosmos rightly renders no task for it — its warning says otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "<DbtResourceType.OPERATION>" not in record.getMessage()


logging.getLogger("cosmos.airflow.graph").addFilter(_HooksHaveNoTask())

# The manifest is compiled by `make dbt-manifest`: parsing the DAG file never calls dbt.
# A task per model (and seed) covering the model and its tests (include/orchestration/dbt_build_watcher.py):
# dbt (one `dbt build`, below) skips what depends on a failing test, and runs a test reading several
# models (every record linked once) after all of them, so no test needs a task of its own.
render_config = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST,
    test_behavior=TestBehavior.BUILD,
    should_detach_multiple_parents_tests=False,
)
render_config.node_converters = dbt_build_watcher.node_converters(render_config)

# One `dbt build` per run (Cosmos' watcher mode): a producer task runs the whole selection with
# dbt's threads and reports each node's result; every model still has its own task in the UI,
# which turns green or red with that model and its tests. The build runs in a subprocess:
# dbt-duckdb keeps its database open for the life of the process, which would lock the gate and
# the syncs out of the warehouse file.
execution_config = ExecutionConfig(
    execution_mode=ExecutionMode.WATCHER,
    invocation_mode=InvocationMode.SUBPROCESS,
    dbt_executable_path=str(Path(sys.executable).parent / "dbt"),
)

# Every model's task waits for the producer's report of it without holding a worker slot or
# needing a triggerer (a reschedule sensor), and without a dbt process of its own.
CONSUMER_ARGS = {"mode": "reschedule", "poke_interval": 5}


def interval_vars(task_id: str, start_key: str = intervals.START_VAR, end_key: str = intervals.END_VAR) -> str:
    """dbt's interval vars, as a template rendering the mapping `--vars` takes from ``task_id``'s XCom
    (a dict holding the interval's bounds under ``start_key`` and ``end_key``).

    One XCom pull per task: each is an API call, and every model's task renders the vars (a
    retried or cleared one runs dbt with them)."""
    bounds = f"'{intervals.START_VAR}': interval['{start_key}'], '{intervals.END_VAR}': interval['{end_key}']"
    return f"{{% set interval = ti.xcom_pull(task_ids='{task_id}') %}}{{{{ {{{bounds}}} | tojson }}}}"


def dbt_task_group(group_id: str, dbt_vars: str) -> DbtTaskGroup:
    """The dbt project as a task group: one producer running `dbt build`, a task per model with its tests."""
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=project_config,
        profile_config=profile_config,
        render_config=render_config,
        execution_config=execution_config,
        # Cosmos' per-model OpenLineage Assets are not valid Airflow 3 Asset URIs: our own Assets
        # (raw_*, validated_marts) chain the DAGs.
        operator_args={"emit_datasets": False, "vars": dbt_vars, **CONSUMER_ARGS},
    )
    # Cosmos 1.15.1 does not pass emit_datasets on to the watcher's producer, which then resolves
    # every model's Asset URI for the model tasks to emit (an event per model for an Asset no DAG
    # declares, and two warnings each): switch that off where it starts.
    group.children[f"{group_id}.{PRODUCER_WATCHER_TASK_ID}"]._should_generate_model_uris = False
    return group
