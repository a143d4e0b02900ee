"""Pools and connections are declared once (include/orchestration/pools.py, connections.py) and
every place that creates a pool or writes a connection reads that declaration."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from include import settings
from include.orchestration import connections, pools
from include.sync.config import SYNC_POOL
from local import stack

ROOT = settings.PROJECT_ROOT
POOLS_COMMAND = "-m include.orchestration.pools"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
COMPOSE_ENV = COMPOSE["x-airflow"]["environment"]
# `${NAME}`, `${NAME:-default}`, `${NAME:?message}`: compose fills them in from the environment.
INTERPOLATED = re.compile(r"\$\{([A-Z_]+)(?::[-?][^}]*)?\}")


def _texts(*patterns: str) -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text()
        for pattern in patterns
        for path in ROOT.glob(pattern)
        if ".venv" not in path.parts
    }


# -- pools -------------------------------------------------------------------------------------
def test_the_sync_pool_is_declared():
    assert pools.POOLS[SYNC_POOL] == pools.PoolSpec(1, "Customer Profiles and SES API calls")


def test_make_airflow_and_the_team_stack_create_the_pools_from_the_declaration():
    makefile = (ROOT / "Makefile").read_text()
    airflow_target = makefile.split("\nairflow:", 1)[1].split("\n\n", 1)[0]
    assert f"$(PY) {POOLS_COMMAND}" in airflow_target
    init = " ".join(COMPOSE["services"]["airflow-init"]["command"])
    assert f"python {POOLS_COMMAND}" in init
    assert init.index("airflow db migrate") < init.index(POOLS_COMMAND)


def test_the_local_drivers_create_the_pools_from_the_declaration():
    assert "create_pools()" in (ROOT / "local/run.py").read_text()
    assert '_python(env, "include.orchestration.pools")' in (ROOT / "local/airflow_services.py").read_text()


@pytest.mark.parametrize(
    "path, text", sorted(_texts("Makefile", "docker-compose.yaml", "*/**/*.py", "scripts/*").items())
)
def test_nothing_else_creates_a_pool_or_names_one(path, text):
    if path == "tests/test_pools_and_connections.py":
        return
    assert "airflow pools set" not in text and "airflow pools import" not in text, path
    if path != "include/orchestration/pools.py":
        assert "create_or_update_pool" not in text, path
    if path != "include/sync/config.py":
        assert f'"{SYNC_POOL}"' not in text and f"'{SYNC_POOL}'" not in text, path


# -- connections ---------------------------------------------------------------------------------
def test_every_connection_id_setting_is_declared():
    ids = {getattr(settings, name) for name in dir(settings) if name.endswith("_CONN_ID")}
    assert ids == set(connections.CONNECTIONS)


def test_the_local_stack_writes_every_declared_connection_from_the_template():
    env = stack.local_environment(1, 2, settings.VAR_DIR, 3, 4)
    written = {key: json.loads(value) for key, value in env.items() if key.startswith("AIRFLOW_CONN_")}
    endpoints = {"s3": "http://127.0.0.1:1", "customer_profiles": "http://127.0.0.1:2", "sns": "http://127.0.0.1:3",
                 "athena": "http://127.0.0.1:4"}  # fmt: skip
    assert written == {
        connections.variable(conn_id): connections.connection(
            conn_id, endpoints, stack.LOCAL_ACCESS_KEY, stack.LOCAL_SECRET_KEY, stack.REGION
        )
        for conn_id in connections.CONNECTIONS
    }


@pytest.mark.parametrize("variable", sorted(k for k in COMPOSE_ENV if k.startswith("AIRFLOW_CONN_")))
def test_the_team_stacks_connections_have_the_templates_shape(variable):
    """Compose cannot run Python: each connection it writes is the template's, for its own hosts."""
    (conn_id,) = [c for c in connections.CONNECTIONS if connections.variable(c) == variable]
    written = json.loads(INTERPOLATED.sub(lambda m: f"<{m.group(1)}>", COMPOSE_ENV[variable]))
    spec = connections.CONNECTIONS[conn_id]
    endpoints = {spec.endpoint: written["extra"]["endpoint_url"]} | {
        key: written["extra"]["service_config"][service]["endpoint_url"]
        for service, key in spec.service_endpoints.items()
    }
    region = COMPOSE_ENV["AWS_DEFAULT_REGION"]
    assert written == connections.connection(conn_id, endpoints, written["login"], written["password"], region)


def test_nothing_else_writes_a_connection():
    for path, text in _texts("*/**/*.py", "Makefile", "scripts/*").items():
        if path.startswith("tests/") or path == "include/orchestration/connections.py":
            continue
        assert '"conn_type"' not in text and "AIRFLOW_CONN_{" not in text, path
