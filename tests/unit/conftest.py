"""A private Customer Profiles / SESv2 endpoint per test, boto3 clients for it, an in-memory S3,
and dbt models as views over a test's own tables."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from include import settings
from local.profiles_endpoint import ProfilesEndpoint

NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})
DBT = str(Path(sys.executable).parent / "dbt")
# dbt-duckdb names every relation with the file's catalog; dropped, a view resolves in any database.
COMPILE_CATALOG = "c360_compiled"


def endpoint_client(endpoint: ProfilesEndpoint, service: str = "customer-profiles"):
    """A real boto3 client for the endpoint; no retries, so a test sees every error."""
    return boto3.client(service, endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=NO_RETRIES)  # fmt: skip


@pytest.fixture
def endpoint(tmp_path):
    server = ProfilesEndpoint(tmp_path / "state.sqlite").start()
    yield server
    server.stop()


@pytest.fixture
def s3():
    """moto's in-process S3 with a `landing` and a `raw` bucket."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="landing")
        client.create_bucket(Bucket="raw")
        yield client


@pytest.fixture(scope="session")
def dbt_models(tmp_path_factory):
    """``create(con, *models)``: the dbt models as views in ``con``, over the tables a test made
    in the shape of their inputs. The SQL is what dbt compiles for the local target (one
    ``dbt compile`` of the marts per session), so a test runs the models' own logic."""
    target = tmp_path_factory.mktemp("dbt-compiled")
    env = os.environ | {"C360_WAREHOUSE_PATH": str(target / f"{COMPILE_CATALOG}.duckdb")}
    command = [DBT, "compile", "--target", "local", "--select", "path:models/marts,resource_type:model"]
    result = subprocess.run(
        [*command, "--profiles-dir", ".", "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=settings.DBT_PROJECT_DIR,
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
            con.execute(f'create or replace view "{schema}"."{name}" as {sql}')

    return create
