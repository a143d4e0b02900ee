"""Test environment: a private var/ directory and free ports, set before Airflow is imported."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TEST_VAR_DIR = Path(tempfile.mkdtemp(prefix="c360-test-"))
S3_PORT, PROFILES_PORT = _free_port(), _free_port()
os.environ["C360_S3_PORT"], os.environ["C360_PROFILES_PORT"] = str(S3_PORT), str(PROFILES_PORT)
os.environ["C360_VAR_DIR"] = str(TEST_VAR_DIR)
os.environ["C360_WAREHOUSE_PATH"] = str(TEST_VAR_DIR / "warehouse.duckdb")

from include import local_stack  # noqa: E402  (reads the settings above)

os.environ.update(local_stack.local_environment(S3_PORT, PROFILES_PORT, TEST_VAR_DIR))


@pytest.fixture(scope="session")
def var_dir() -> Path:
    return TEST_VAR_DIR
