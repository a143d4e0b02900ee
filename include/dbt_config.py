"""How Cosmos finds and runs the dbt project (shared by the DAGs that run dbt)."""

from __future__ import annotations

import sys
from pathlib import Path

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from include import settings

MANIFEST_PATH = settings.DBT_PROJECT_DIR / "target" / "manifest.json"

project_config = ProjectConfig(
    dbt_project_path=settings.DBT_PROJECT_DIR,
    manifest_path=MANIFEST_PATH,
    install_dbt_deps=False,  # the project has no packages: nothing to download at run time
)

profile_config = ProfileConfig(
    profile_name="customer360",
    target_name=settings.DBT_TARGET,
    profiles_yml_filepath=settings.DBT_PROJECT_DIR / "profiles.yml",
)

# The manifest is compiled by `make dbt-manifest`: parsing the DAG file never calls dbt.
# One task per model that runs it and its tests (`dbt build`), so a failing test stops
# what depends on it.
# The per-type event views are cheap and many: they are built together by one task
# (EVENT_TYPE_VIEWS), not one dbt process each.
EVENT_TYPE_VIEWS = "path:models/marts/engagement/event_types"
# A test reading several models (e.g. every record linked once) runs as its own task after
# all of them: attached to one model's build it would run before the others exist.
render_config = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST,
    test_behavior=TestBehavior.BUILD,
    exclude=[EVENT_TYPE_VIEWS],
    should_detach_multiple_parents_tests=True,
)

# A dbt subprocess per task: dbt-duckdb keeps its database open for the life of the
# process, which would lock the quality and sync tasks out of the warehouse file.
execution_config = ExecutionConfig(
    execution_mode=ExecutionMode.LOCAL,
    invocation_mode=InvocationMode.SUBPROCESS,
    dbt_executable_path=str(Path(sys.executable).parent / "dbt"),
)

# For the operators that run one dbt command outside the task group.
single_command_args = {
    "project_dir": project_config.dbt_project_path,
    "profile_config": profile_config,
    "invocation_mode": execution_config.invocation_mode,
    "dbt_executable_path": execution_config.dbt_executable_path,
    "install_deps": False,
}
