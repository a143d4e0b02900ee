"""Test environment: a private var/ directory and free ports, set before Airflow is imported; dbt models as views."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest


def _free_ports(count: int) -> list[int]:
    """Distinct free ports: each socket stays bound until all are chosen."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


TEST_VAR_DIR = Path(tempfile.mkdtemp(prefix="c360-test-"))
S3_PORT, PROFILES_PORT, AWS_PORT, ATHENA_PORT = _free_ports(4)
os.environ["C360_S3_PORT"], os.environ["C360_PROFILES_PORT"] = str(S3_PORT), str(PROFILES_PORT)
os.environ["C360_AWS_PORT"], os.environ["C360_ATHENA_PORT"] = str(AWS_PORT), str(ATHENA_PORT)
os.environ["C360_VAR_DIR"] = str(TEST_VAR_DIR)
os.environ["C360_WAREHOUSE_PATH"] = str(TEST_VAR_DIR / "warehouse.duckdb")

from local.stack import local_environment  # noqa: E402  (reads the settings above)

os.environ.update(local_environment(S3_PORT, PROFILES_PORT, TEST_VAR_DIR, AWS_PORT))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, then the other end-to-end and benchmark ones (minutes each),
    then the quick ones: with the modules shared out across workers (``make test``: pytest-xdist,
    ``--dist loadfile``), the quick ones fill whichever worker finishes its long modules first.
    Order inside a module is kept."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("longest"):
            return 0
        return 1 if item.get_closest_marker("e2e") or item.get_closest_marker("bench") else 2

    items.sort(key=rank)


@pytest.fixture(scope="session")
def var_dir() -> Path:
    return TEST_VAR_DIR


DBT = str(Path(sys.executable).parent / "dbt")
# dbt-duckdb names every relation with the file's catalog; dropped, a view resolves in any database.
COMPILE_CATALOG = "c360_compiled"


@pytest.fixture(scope="session")
def dbt_models(tmp_path_factory):
    """``create(con, *models)``: dbt models (marts) as views in ``con``, over the tables a test
    made in the shape of their inputs; the sync's tables (incremental models) as empty tables.
    The SQL is what dbt compiles for the local target (one ``dbt compile`` of the marts and the
    sync's tables per session), so a test runs the models' own logic and DDL."""
    from include.settings import DBT_PROJECT_DIR  # after the environment above

    target = tmp_path_factory.mktemp("dbt-compiled")
    env = os.environ | {"C360_WAREHOUSE_PATH": str(target / f"{COMPILE_CATALOG}.duckdb")}
    selection = ["path:models/marts,resource_type:model", "path:models/sync"]
    command = [DBT, "compile", "--target", "local", "--select", *selection]
    result = subprocess.run(
        [*command, "--profiles-dir", ".", "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"dbt compile failed:\n{result.stdout[-3000:]}"
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    compiled = {node["name"]: node for node in nodes if node.get("compiled_code")}

    def create(con, *models: str) -> None:
        for model in models:
            node = compiled[model]
            schema, name = node["schema"], node["alias"]
            sql = node["compiled_code"].replace(f'"{COMPILE_CATALOG}".', "")
            con.execute(f'create schema if not exists "{schema}"')
            if node["config"]["materialized"] == "incremental":  # a table the sync writes
                con.execute(f'create table if not exists "{schema}"."{name}" as {sql}')
            else:
                con.execute(f'create or replace view "{schema}"."{name}" as {sql}')

    return create
