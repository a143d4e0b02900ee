"""The team stack's docker-compose.yaml: the services docs/local-stack.md promises, the project mounted,
the locked Airflow image, and no secret written into the file."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from include import settings

COMPOSE_FILE = settings.PROJECT_ROOT / "docker-compose.yaml"
AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
# Interpolated from the environment: `${NAME}`, `${NAME:-default}` or `${NAME:?message}`.
FROM_ENVIRONMENT = re.compile(r"^\$\{[A-Z_]+(:[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_the_team_stack_has_airflow_on_postgres_an_s3_store_and_the_profiles_endpoint(compose):
    services = compose["services"]
    assert set(AIRFLOW_COMPONENTS) | {"postgres", "minio", "customer-profiles", "airflow-init"} <= set(services)
    for name, command in AIRFLOW_COMPONENTS.items():
        service = services[name]
        assert service["command"] == command
        assert service["volumes"] == [".:/opt/customer360"], name
        assert service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_the_image_is_the_locked_airflow_version():
    locked = re.search(r"^apache-airflow==(\S+)$", (settings.PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    dockerfile = (settings.PROJECT_ROOT / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{locked.group(1)}-python3.11" in dockerfile


def test_secrets_come_from_the_environment(compose):
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert FROM_ENVIRONMENT.match(str(value)), f"{name}: {key} is written into the file"


def test_every_image_is_pinned_to_a_version(compose):
    for name, service in compose["services"].items():
        if "image" not in service:
            assert "build" in service, f"{name}: neither an image nor a build"
            continue
        image = service["image"]
        tag = image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]  # registry:port/name:tag@digest
        assert tag or "@sha256:" in image, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} floats on latest"


def _compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@pytest.mark.skipif(_compose_command() is None, reason="no docker compose client on this machine")
def test_docker_compose_accepts_the_file():
    # No engine is needed to check the file; the secrets it demands are set to throwaway values.
    result = subprocess.run(
        [*_compose_command(), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "AIRFLOW_JWT_SECRET": "x", "MINIO_ROOT_PASSWORD": "y"},
    )
    assert result.returncode == 0, result.stderr


def test_published_ports_listen_on_this_machine_only(compose):
    # The Customer Profiles endpoint has no authentication; nothing is exposed to the network by default.
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_the_airflow_services_run_the_runtime_image_and_the_local_endpoint_the_dev_one(compose):
    services = compose["services"]
    assert services["customer-profiles"]["build"] == {"context": ".", "target": "local-stack"}
    for name in AIRFLOW_COMPONENTS:
        assert services[name]["build"] == "."
    dockerfile = (settings.PROJECT_ROOT / "Dockerfile").read_text()
    # The default target (the last stage) is the runtime: no test or local-stack packages in it.
    last_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert last_stage.startswith("runtime") and "requirements-dev" not in last_stage
