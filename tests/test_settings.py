"""Configuration in one place: include/settings.py reads the pipeline's environment (local/stack.py
the local stack's ports); no other module reads a variable of its own."""

from __future__ import annotations

import ast
import re

import pytest

from include import settings

ROOT = settings.PROJECT_ROOT
PIPELINE = ("include", "dags", "plugins")
READERS = {ROOT / "include/settings.py", ROOT / "local/stack.py"}
# Sets a library's variable before importing it (Great Expectations' analytics off); reads none.
SETS_ONLY = {ROOT / "include/quality/__init__.py"}


def _modules(*dirs: str) -> list:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def _environment_uses(path) -> list[str]:
    """The source lines that touch ``os.environ`` or call ``os.getenv``."""
    lines = path.read_text().splitlines()
    return [
        lines[node.lineno - 1].strip()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


@pytest.mark.parametrize("path", _modules(*PIPELINE), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pipeline_reads_the_environment_only_through_settings(path):
    uses = _environment_uses(path)
    if path in READERS:
        return
    if path in SETS_ONLY:
        assert all(".setdefault(" in use and "C360_" not in use for use in uses), uses
        return
    assert uses == [], f"{path.relative_to(ROOT)}: {uses} — read it in include/settings.py"


@pytest.mark.parametrize("path", _modules("local"), ids=lambda p: str(p.relative_to(ROOT)))
def test_local_reads_its_own_variables_in_local_stack_only(path):
    """local/ hands the environment on to subprocesses and reads Airflow's; a C360_* variable
    it reads itself is read in local/stack.py."""
    if path in READERS:
        return
    reads = [use for use in _environment_uses(path) if re.search(r"""environ(\.get\(|\[)["']C360_""", use)]
    assert reads == [], f"{path.relative_to(ROOT)}: {reads} — read it in local/stack.py"


def test_every_c360_variable_the_pipeline_names_is_declared_in_settings():
    """Each C360_* name in include/, dags/, plugins/ is read (or listed as dbt's) in settings.py."""
    declared = set(re.findall(r"C360_[A-Z0-9_]+", (ROOT / "include/settings.py").read_text()))
    for path in _modules(*PIPELINE):
        for name in set(re.findall(r"C360_[A-Z0-9_]+", path.read_text())):
            # C360_SYNC_<FIELD>: SyncSettings' fields, through settings.sync_overrides.
            assert name in declared or name.startswith("C360_SYNC_"), f"{path.relative_to(ROOT)} names {name}"
