"""The hooks' sessions read botocore's service models once per process (plugins/customer360_aws/hooks.py)."""

from __future__ import annotations

import pytest

from customer360_aws.hooks import (
    SERVICE_MODELS,
    AwsClientHook,
    CustomerProfilesHook,
    LakeS3Hook,
    SesV2Hook,
)


def _client(hook_class, **kwargs):
    # No connection: the provider falls back to boto3's default credential chain (none needed to build a client).
    return hook_class(aws_conn_id=None, region_name="eu-west-1", **kwargs).get_conn()


@pytest.mark.parametrize(
    ("hook_class", "kwargs"),
    [(LakeS3Hook, {}), (AwsClientHook, {"client_type": "athena"}), (CustomerProfilesHook, {}), (SesV2Hook, {})],
)
def test_two_hooks_share_one_parsed_service_model(hook_class, kwargs):
    first, second = _client(hook_class, **kwargs), _client(hook_class, **kwargs)
    # Each hook makes its own session; without the shared loader each parses the JSON anew.
    assert first.meta.service_model._service_description is second.meta.service_model._service_description


def test_the_sessions_load_through_the_shared_loader():
    session = LakeS3Hook(aws_conn_id=None, region_name="eu-west-1").get_session()
    assert session._session.get_component("data_loader") is SERVICE_MODELS


def test_the_provider_s3_hook_alone_parses_again():
    """The check above can fail: the provider's own hook reads the models per session."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    first, second = (S3Hook(aws_conn_id=None, region_name="eu-west-1").get_conn() for _ in range(2))
    assert first.meta.service_model._service_description is not second.meta.service_model._service_description
