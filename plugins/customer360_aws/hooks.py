"""The Amazon provider's hooks, with botocore's service models read once per process.

Hooks for Amazon Connect Customer Profiles and the SES v2 account-level suppression list,
the data lake's S3 and any other client (``AwsClientHook``): the provider's AwsBaseHook or
S3Hook, so region, credentials and ``endpoint_url`` come from the Airflow connection (the
local stack and AWS differ only by connection). Throttled requests are retried by botocore's
standard mode (exponential backoff with jitter); the send rate is governed by the sync's
AdaptiveRateLimiter (include/sync/rate_limit.py), attached to the client. botocore's
"adaptive" mode is not used: its rate drops by 30 % on every throttle, and under 10 %
throttled requests it sank to a few percent of the ceiling (include/sync/rate_limit.py,
bench/README.md).
"""

from __future__ import annotations

import boto3
import botocore.loaders
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.config import Config

# botocore reads and parses a service's JSON models (S3's is over 1 MB) once per session, and
# a hook makes a session per client: where one process runs many tasks (dag.test — make run,
# the e2e tests) each task paid ~0.2 s for it. Every hook's session reads them through this
# one loader instead (the provider does the same for its async sessions).
SERVICE_MODELS = botocore.loaders.create_loader()


class SharedServiceModels:
    """Mixin for an AwsBaseHook: its sessions load service models through SERVICE_MODELS."""

    def get_session(self, region_name: str | None = None, deferrable: bool = False):
        session = super().get_session(region_name=region_name, deferrable=deferrable)
        if isinstance(session, boto3.session.Session):  # the async (deferrable) one shares the provider's
            session._session.register_component("data_loader", SERVICE_MODELS)
        return session


class AwsClientHook(SharedServiceModels, AwsBaseHook):
    """Any boto3 client from an AWS connection (``client_type``: athena, s3, …)."""


class LakeS3Hook(SharedServiceModels, S3Hook):
    """The landing bucket and the raw zone: the provider's S3Hook."""


def client_config(max_attempts: int, max_pool_connections: int) -> Config:
    return Config(retries={"mode": "standard", "max_attempts": max_attempts}, max_pool_connections=max_pool_connections)


class CustomerProfilesHook(SharedServiceModels, AwsBaseHook):
    """boto3 ``customer-profiles`` client from an AWS connection."""

    hook_name = "Amazon Connect Customer Profiles"

    def __init__(self, *args, max_attempts: int = 10, max_pool_connections: int = 64, **kwargs) -> None:
        kwargs["client_type"] = "customer-profiles"
        kwargs.setdefault("config", client_config(max_attempts, max_pool_connections))
        super().__init__(*args, **kwargs)


class SesV2Hook(SharedServiceModels, AwsBaseHook):
    """boto3 ``sesv2`` client (the provider's SesHook is SES v1, without the suppression list)."""

    hook_name = "Amazon SES v2"

    def __init__(self, *args, max_attempts: int = 10, max_pool_connections: int = 64, **kwargs) -> None:
        kwargs["client_type"] = "sesv2"
        kwargs.setdefault("config", client_config(max_attempts, max_pool_connections))
        super().__init__(*args, **kwargs)
