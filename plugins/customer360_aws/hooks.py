"""Hooks for Amazon Connect Customer Profiles and the SES v2 account-level suppression list.

Both are the Amazon provider's AwsBaseHook with a service name: region, credentials and
``endpoint_url`` come from the Airflow connection (so the local stack and AWS differ only
by connection). Throttled requests are retried by botocore's standard mode (exponential
backoff with jitter); the send rate is governed by the sync's AdaptiveRateLimiter
(include/sync/rate_limit.py), attached to the client. botocore's "adaptive" mode is not used:
its rate drops by 30 % on every throttle, and under 10 % throttled requests it sank to a few
percent of the ceiling (include/sync/rate_limit.py, bench/README.md).
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config


def client_config(max_attempts: int, max_pool_connections: int) -> Config:
    return Config(retries={"mode": "standard", "max_attempts": max_attempts}, max_pool_connections=max_pool_connections)


class CustomerProfilesHook(AwsBaseHook):
    """boto3 ``customer-profiles`` client from an AWS connection."""

    hook_name = "Amazon Connect Customer Profiles"

    def __init__(self, *args, max_attempts: int = 10, max_pool_connections: int = 64, **kwargs) -> None:
        kwargs["client_type"] = "customer-profiles"
        kwargs.setdefault("config", client_config(max_attempts, max_pool_connections))
        super().__init__(*args, **kwargs)


class SesV2Hook(AwsBaseHook):
    """boto3 ``sesv2`` client (the provider's SesHook is SES v1, without the suppression list)."""

    hook_name = "Amazon SES v2"

    def __init__(self, *args, max_attempts: int = 10, max_pool_connections: int = 64, **kwargs) -> None:
        kwargs["client_type"] = "sesv2"
        kwargs.setdefault("config", client_config(max_attempts, max_pool_connections))
        super().__init__(*args, **kwargs)
