"""Test environment: a private var/ directory and free ports, set before Airflow is imported."""

from __future__ import annotations

import os
import socket
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


@pytest.fixture(scope="session")
def var_dir() -> Path:
    return TEST_VAR_DIR
