"""A private Customer Profiles / SESv2 endpoint per test, and boto3 clients for it."""

import boto3
import pytest
from botocore.config import Config

from include.profiles_endpoint import ProfilesEndpoint

NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})


def endpoint_client(endpoint: ProfilesEndpoint, service: str = "customer-profiles"):
    """A real boto3 client for the endpoint; no retries, so a test sees every error."""
    return boto3.client(service, endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=NO_RETRIES)  # fmt: skip


@pytest.fixture
def endpoint(tmp_path):
    server = ProfilesEndpoint(tmp_path / "state.sqlite").start()
    yield server
    server.stop()
