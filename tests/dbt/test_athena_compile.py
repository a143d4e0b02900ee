"""The production target: dbt compiles for Athena and every model is valid Trino/Athena SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

from include import settings

DBT = str(Path(sys.executable).parent / "dbt")


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


def test_every_model_compiles_to_valid_athena_sql(compiled):
    models = sorted(p for p in compiled.rglob("*.sql") if ".yml" not in str(p.parent))
    assert len(models) >= 8
    for path in models:
        try:
            sqlglot.parse_one(path.read_text(), read="athena")
        except sqlglot.errors.ParseError as err:
            pytest.fail(f"{path.relative_to(compiled)} is not valid Athena SQL: {err}")


def test_athena_sql_uses_trino_functions_not_duckdb_ones(compiled):
    staging = (compiled / "staging" / "ses" / "stg_ses__events.sql").read_text()
    assert "json_extract_scalar(" in staging and "json_extract_string(" not in staging
    assert "from_iso8601_timestamp(" in staging and "epoch_ms(" not in staging


def test_broken_sql_is_rejected_by_the_check():
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one("select a from where", read="athena")
