"""The sync DAG's task bodies: the run's settings, the clients' rate, the warehouse, the sync.

Each body reads and writes the warehouse of dbt's target (``seam.warehouse()``: DuckDB or
Athena). The DAG passes each body a client from the Airflow connection (``customer_profiles_client``,
``ses_client``: plugins/customer360_aws/hooks.py) and runs it in the ``customer_profiles_api``
pool (one slot): one task at a time calls the APIs, so the configured rate is the account's,
and one at a time writes the sync tables.

A run refused or failed for its data (contract gap, rejected share, mass deletion) raises
one of ``DATA_PROBLEMS``: the DAG fails it without retrying (``failing_on_data_problems``:
AirflowFailException), since a retry at once would fail the same way and burn rows' attempts.
An outage (credentials, permissions or the endpoint: ``TargetUnavailable``) is not one: the
task fails and Airflow retries it, and the last failure alerts; no object's attempts are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from airflow.sdk.exceptions import AirflowFailException
from botocore.exceptions import BotoCoreError, ClientError

from include import settings
from include.erasure import register
from include.sync import customer_profiles, ses_suppression, state, templates
from include.sync.config import SyncSettings
from include.sync.engine import ContractError, SyncRefused, SyncRejected, TargetUnavailable, unavailable_code
from include.sync.rate_limit import AdaptiveRateLimiter
from include.warehouse.seam import warehouse

DATA_PROBLEMS = (ContractError, SyncRejected, SyncRefused)
# What the sync reads besides the object types' models: the marts, and its own tables (dbt builds them).
SOURCES = {"profile_merges": customer_profiles.MERGES_SQL, "suppression_list": ses_suppression.SOURCE_SQL} | {
    table: f"select * from {{{table}}}" for table in state.COLUMNS
}


@contextmanager
def failing_on_data_problems() -> Iterator[None]:
    """A run refused or failed for its data fails without retrying: a retry would fail the same way."""
    try:
        yield
    except DATA_PROBLEMS as err:
        raise AirflowFailException(str(err)) from err


def customer_profiles_client():
    from customer360_aws.hooks import CustomerProfilesHook

    return CustomerProfilesHook(aws_conn_id=settings.CUSTOMER_PROFILES_CONN_ID).conn


def ses_client():
    from customer360_aws.hooks import SesV2Hook

    return SesV2Hook(aws_conn_id=settings.CUSTOMER_PROFILES_CONN_ID).conn


def sync_settings(params: dict) -> SyncSettings:
    """The environment's settings, read now, and the run's ``max_delete_share`` param if it has one."""
    from_env = SyncSettings.from_env()
    # On-call confirms deletions that are meant (an erasure, a source retired) for one run.
    if (max_delete_share := params.get("max_delete_share")) is not None:
        return replace(from_env, max_delete_share=float(max_delete_share))
    return from_env


def sync_run_id(run_id: str, try_number: int) -> str:
    """Each try of a task is a run of its own in the sync tables."""
    return f"{run_id}#{try_number}"


def prepare_domain(client, params: dict) -> None:
    """Checks the marts hold what the object types read, creates the domain if missing, applies the templates."""
    run_settings = sync_settings(params)
    templates.check_sources(warehouse(), SOURCES)
    AdaptiveRateLimiter(run_settings.requests_per_second).attach(client)
    try:
        templates.ensure_domain(client, settings.CUSTOMER_PROFILES_DOMAIN)
        templates.ensure_object_types(client, settings.CUSTOMER_PROFILES_DOMAIN)
    except (ClientError, BotoCoreError) as err:
        if (code := unavailable_code(err)) is None:
            raise
        raise TargetUnavailable(
            f"the Customer Profiles domain: {code}: the target refused this account or could not be reached. "
            "Not a data problem: the task is retried"
        ) from err


def sync_object_type(client, object_type: str, params: dict, run_id: str, try_number: int) -> dict:
    """Pushes one object type: what changed, removals, and for UnifiedProfile merges and deletions."""
    run_settings = sync_settings(params)
    AdaptiveRateLimiter(run_settings.requests_per_second).attach(client)
    run = sync_run_id(run_id, try_number)
    return customer_profiles.sync_object_type(
        warehouse(), client, settings.CUSTOMER_PROFILES_DOMAIN, object_type, run, run_settings
    )


def sync_ses_suppression_list(client, params: dict, run_id: str, try_number: int) -> dict:
    """Keeps the SES account-level suppression list equal to suppression_list; erased people's
    addresses stay on it (the erased-subject register, read from the raw bucket)."""
    run_settings = sync_settings(params)
    AdaptiveRateLimiter(run_settings.ses_requests_per_second).attach(client)
    erased = erased_subjects()
    run = sync_run_id(run_id, try_number)
    return ses_suppression.sync_suppression_list(warehouse(), client, run, run_settings, erased)


def erased_subjects() -> register.ErasedSubjects:
    """The erased-subject register, from the raw bucket through the S3 connection."""
    from customer360_aws.hooks import LakeS3Hook

    return register.load(LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn(), settings.RAW_BUCKET)
