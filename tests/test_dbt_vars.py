"""The dbt project's vars are c360__<name>: each one dbt reads is declared in dbt_project.yml,
and what Python passes (the run interval) is declared too."""

from __future__ import annotations

import re

import yaml

from include import intervals, settings

PROJECT = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())
VAR_CALL = re.compile(r"""(?<![\w.])var\(\s*['"]([^'"]+)['"]""")


def _dbt_files():
    return sorted(
        p for p in settings.DBT_PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml") and "target" not in p.parts
    )


def test_every_var_is_namespaced():
    assert PROJECT["vars"] and all(name.startswith("c360__") for name in PROJECT["vars"])


def test_every_var_dbt_reads_is_declared():
    read = {name for path in _dbt_files() for name in VAR_CALL.findall(path.read_text())}
    assert read and read <= set(PROJECT["vars"]), read - set(PROJECT["vars"])


def test_the_unit_tests_override_declared_vars_only():
    unit_tests = [
        (path.name, unit_test)
        for path in _dbt_files()
        if path.suffix == ".yml"
        for unit_test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])
    ]
    assert unit_tests
    for name, unit_test in unit_tests:
        overridden = set(unit_test.get("overrides", {}).get("vars", {}))
        assert overridden <= set(PROJECT["vars"]), (name, unit_test["name"], overridden)


def test_python_passes_the_declared_interval_vars():
    start, end = intervals.from_dbt_vars(
        {intervals.START_VAR: "2026-11-20 10:00", intervals.END_VAR: "2026-11-20 11:00"}
    )
    assert set(intervals.dbt_vars(start, end)) == {intervals.START_VAR, intervals.END_VAR}
    assert {intervals.START_VAR, intervals.END_VAR} <= set(PROJECT["vars"])
