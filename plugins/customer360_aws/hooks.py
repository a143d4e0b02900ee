"""Hooks for Amazon Connect Customer Profiles and the SES v2 account-level suppression list.

Both are the Amazon provider's AwsBaseHook with a service name: region, credentials and
``endpoint_url`` come from the Airflow connection (so the local stack and AWS differ only
by connection), and throttling is handled by botocore's adaptive retry mode.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config


def adaptive_retries(max_attempts: int) -> Config:
    # Adaptive mode adds client-side rate limiting that backs off on throttling errors.
    return Config(retries={"mode": "adaptive", "max_attempts": max_attempts})


class CustomerProfilesHook(AwsBaseHook):
    """boto3 ``customer-profiles`` client from an AWS connection."""

    hook_name = "Amazon Connect Customer Profiles"

    def __init__(self, *args, max_attempts: int = 10, **kwargs) -> None:
        kwargs["client_type"] = "customer-profiles"
        kwargs.setdefault("config", adaptive_retries(max_attempts))
        super().__init__(*args, **kwargs)


class SesV2Hook(AwsBaseHook):
    """boto3 ``sesv2`` client (the provider's SesHook is SES v1, without the suppression list)."""

    hook_name = "Amazon SES v2"

    def __init__(self, *args, max_attempts: int = 10, **kwargs) -> None:
        kwargs["client_type"] = "sesv2"
        kwargs.setdefault("config", adaptive_retries(max_attempts))
        super().__init__(*args, **kwargs)
