"""The dbt project's unit tests (each model's logic on fixture rows) on a scratch DuckDB warehouse.

dbt reads the column types of a unit-tested model's inputs from the warehouse, so they must
exist first: a private local stack gets one tiny hour of every stream through the real landing
code (dbt's raw relations read the raw zone), the models upstream of the unit-tested ones are
built empty (``--empty``), then ``dbt test --select test_type:unit``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include import settings, streams
from include.landing import tasks
from local import sample_data
from local.run import upload_input
from local.stack import LocalStack, free_ports, local_environment, s3_client

DBT = str(Path(sys.executable).parent / "dbt")
HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


def dbt(env: dict[str, str], target: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DBT, *args, "--profiles-dir", ".", "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=settings.DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def dbt_env(tmp_path_factory) -> dict[str, str]:
    var_dir = tmp_path_factory.mktemp("dbt-unit")
    s3_port, profiles_port, aws_port = free_ports(3)
    stack = LocalStack(var_dir, s3_port, profiles_port, aws_port=aws_port).start()
    try:
        sample = var_dir / "sample"
        sample_data.generate(sample, people=5, day=HOUR, hours=1, seed=3, streams=streams.RAW_STREAMS)
        s3 = s3_client(s3_port)
        upload_input(s3, sample)
        for stream in streams.RAW_STREAMS:
            tasks.land(s3, stream, [HOUR])
        env = os.environ | local_environment(s3_port, profiles_port, var_dir, aws_port)
        env["C360_WAREHOUSE_PATH"] = str(var_dir / "warehouse.duckdb")
        yield env
    finally:
        stack.stop()


def test_every_dbt_unit_test_passes(dbt_env, tmp_path):
    seeds = dbt(dbt_env, tmp_path, "seed")  # the identity models' inputs include seeds
    assert seeds.returncode == 0, f"loading the seeds failed:\n{seeds.stdout[-3000:]}"
    inputs = dbt(dbt_env, tmp_path, "run", "--empty", "--select", "+test_type:unit", "--exclude", "test_type:unit")
    assert inputs.returncode == 0, f"building the unit tests' inputs failed:\n{inputs.stdout[-3000:]}"
    result = dbt(dbt_env, tmp_path, "test", "--select", "test_type:unit")
    assert result.returncode == 0, f"dbt unit tests failed:\n{result.stdout[-3000:]}"
    # Every unit test of the project ran and passed (a selection matching nothing would pass too).
    unit_tests = json.loads((tmp_path / "manifest.json").read_text())["unit_tests"]
    results = json.loads((tmp_path / "run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert len(unit_tests) >= 10 and ran == dict.fromkeys(unit_tests, "pass")
