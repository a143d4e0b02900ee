"""The production target: dbt compiles for Athena and every model is valid Trino/Athena SQL;
the models Python reads mean on Athena what they mean on DuckDB."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import sqlglot

from include import settings
from include.sync import config, templates
from include.warehouse.relations import relation
from local.athena_endpoint import trino_problems
from tests.unit.test_customer_profiles_sync import Marts, WarehouseFile, profile
from tests.unit.test_erasure import build_warehouse

DBT = str(Path(sys.executable).parent / "dbt")
# The models Python reads (the sync, the quality gate, erasure): plain selects over them are all
# the SQL Python holds, so what differs between the engines is here, in dbt.
OBJECT_TYPE_MODELS = tuple(templates.model_name(name) for name in config.OBJECT_TYPES)
ERASURE_MODELS = ("profile_record_identifiers", "profile_addresses", "profile_reconciliation")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("athena-target")
    env = os.environ | {"AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy", "C360_DBT_TARGET": "athena"}
    result = subprocess.run(
        [
            DBT,
            "compile",
            "--target",
            "athena",
            "--no-populate-cache",
            "--profiles-dir",
            ".",
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
        ],
        cwd=settings.DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"dbt compile --target athena failed:\n{result.stdout[-3000:]}"
    return target / "compiled" / "customer360" / "models"


def test_every_model_compiles_to_trino_sql_with_only_trino_functions(compiled):
    models = sorted(p for p in compiled.rglob("*.sql") if ".yml" not in str(p.parent))
    assert len(models) >= 8
    problems = {str(path.relative_to(compiled)): trino_problems(path.read_text()) for path in models}
    assert not {model: found for model, found in problems.items() if found}


def test_athena_sql_uses_trino_functions_not_duckdb_ones(compiled):
    staging = (compiled / "staging" / "ses" / "stg_ses__events.sql").read_text()
    assert "json_extract_scalar(" in staging and "json_extract_string(" not in staging
    assert "from_iso8601_timestamp(" in staging and "epoch_ms(" not in staging


@pytest.mark.parametrize(
    "sql",
    [
        "select a from where",
        "select strftime(now(), '%Y')",
        "select list_sort(x) from t",
        "select array_to_string(x, ',') from t",
        "select epoch_ms(1)",
        "select make_timestamp(2026, 1, 1, 0, 0, 0)",
        "select regexp_matches(a, 'b') from t",
        "select a::int from t",
        "select * from {{ ref('t') }}",
    ],
)
def test_the_check_rejects_broken_sql_and_duckdb_only_functions(sql):
    assert trino_problems(sql)


def test_the_check_passes_trino_sql():
    assert not trino_problems("select json_extract_scalar(a, '$.b'), from_iso8601_timestamp(c) from t where d = ?")


def athena_sql(compiled: Path, model: str) -> str:
    (path,) = compiled.rglob(f"{model}.sql")
    return path.read_text()


def as_duckdb(sql: str) -> str:
    """Athena SQL as DuckDB runs it (sqlglot), each model's relation the local warehouse's."""
    sql = re.sub(r'"[^"]+"\."[^"]+"\."([^"]+)"', lambda m: relation(m.group(1)), sql)
    return sqlglot.transpile(sql, read="athena", write="duckdb")[0]


def same_rows(con, compiled: Path, model: str) -> None:
    on_athena = con.execute(as_duckdb(athena_sql(compiled, model))).fetchall()
    on_duckdb = con.execute(f"select * from {relation(model)}").fetchall()
    assert on_duckdb and sorted(map(repr, on_athena)) == sorted(map(repr, on_duckdb)), model


def test_the_models_python_reads_give_the_same_rows_on_both_engines(compiled, dbt_models, tmp_path):
    """The Athena SQL (translated by sqlglot) and the DuckDB SQL of each model, over the same tables."""
    con = WarehouseFile(tmp_path / "marts.duckdb")
    marts = Marts(con)
    dbt_models(con, *OBJECT_TYPE_MODELS)
    marts.profiles(
        profile("ann", emails=["b@x.io", "A@x.io"], segments=["b", "a"], email_clicks_90d=2),
        profile("bob", birth_date=datetime(1975, 1, 2), last_booked_at=datetime(2026, 11, 3, 4, 5, 6, 789999)),
        profile("cat", sms_sends_90d=0, voice_sends_90d=1, whatsapp_sends_90d=3, whatsapp_reads_30d=1),
    )
    marts.offers(("ann", "autumn", True), ("bob", "autumn", False))
    marts.messages(("m1", "email", "a@x.io", 1), ("m2", "email", "bob@example.com", 30), ("m3", "sms", "x", 2))
    for model in OBJECT_TYPE_MODELS:
        same_rows(con, compiled, model)
    with duckdb.connect(str(tmp_path / "profiles.duckdb")) as con:
        build_warehouse(con, dbt_models)
        dbt_models(con, "profile_reconciliation")
        for model in ERASURE_MODELS:
            same_rows(con, compiled, model)


def compile_inline(sql: str, target: Path) -> str:
    """A macro's SQL as dbt compiles it for the athena target (no warehouse is reached; its
    artefacts in `target`, never the project's own manifest, which the other tests read)."""
    env = os.environ | {"AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy", "C360_DBT_TARGET": "athena"}
    result = subprocess.run(
        [DBT, "--quiet", "compile", "--target", "athena", "--no-populate-cache", "--profiles-dir", "."]
        + ["--target-path", str(target), "--log-path", str(target / "logs"), "--inline", sql],
        cwd=settings.DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def test_the_calibration_queries_are_trino_sql(compiled, tmp_path):
    """The queries a calibration runs as the model builds (never in a compiled model's file): the u
    sample and an EM iteration, its parameters inlined as doubles Trino reads as doubles."""
    params = "identity_values('p', ['session', 'comparison', 'gamma', 'm'], [[1, 'first_name', 4, 0.5]], ['m'])"
    u = "identity_values('u', ['comparison', 'gamma', 'u_probability'], [['first_name', 4, 0.01]], ['u_probability'])"
    for sql in ("{{ identity_u_sampled_sql() }}", f"{{{{ identity_em_iteration_sql({params}, {u}) }}}}"):
        compiled_sql = compile_inline(sql, tmp_path)
        assert "select" in compiled_sql and not trino_problems(compiled_sql), (sql, trino_problems(compiled_sql))
    assert "5.00000000000000000e-01" in compiled_sql
