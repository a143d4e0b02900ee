"""A private Customer Profiles / SESv2 endpoint per test, boto3 clients for it, and an in-memory S3."""

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from local.profiles_endpoint import ProfilesEndpoint

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


@pytest.fixture
def s3():
    """moto's in-process S3 with a `landing` and a `raw` bucket."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="landing")
        client.create_bucket(Bucket="raw")
        yield client
