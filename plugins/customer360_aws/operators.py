"""The operators the sync DAG wires: clients from Airflow connections, the warehouse, include/'s logic.

Each runs in the ``customer_profiles_api`` pool (one slot): one task at a time calls the
APIs, so the configured rate is the account's, and one at a time writes the sync tables.
A run refused or failed for its data (contract gap, rejected share, mass deletion) raises
AirflowFailException: retrying at once would fail the same way and burn rows' attempts.
"""

from __future__ import annotations

from dataclasses import replace

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from customer360_aws.hooks import CustomerProfilesHook, SesV2Hook
from include import settings
from include.sync import customer_profiles, ses_suppression, templates
from include.sync.config import SYNC_POOL, SyncSettings
from include.sync.engine import ContractError, SyncRefused, SyncRejected
from include.sync.rate_limit import AdaptiveRateLimiter
from include.warehouse import connection as warehouse

DATA_PROBLEMS = (ContractError, SyncRejected, SyncRefused)


class _CustomerProfilesOperator(BaseOperator):
    ui_color = "#f9e0c7"

    def __init__(self, *, aws_conn_id: str = settings.CUSTOMER_PROFILES_CONN_ID, **kwargs) -> None:
        kwargs.setdefault("pool", SYNC_POOL)
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id

    def execute(self, context) -> dict | None:
        sync_settings = SyncSettings.from_env()
        # On-call confirms deletions that are meant (an erasure, a source retired) for one run.
        if (max_delete_share := context["params"].get("max_delete_share")) is not None:
            sync_settings = replace(sync_settings, max_delete_share=float(max_delete_share))
        try:
            return self.run(sync_settings, f"{context['run_id']}#{context['ti'].try_number}")
        except DATA_PROBLEMS as err:
            raise AirflowFailException(str(err)) from err

    def run(self, sync_settings: SyncSettings, run_id: str) -> dict | None:
        raise NotImplementedError

    def customer_profiles(self, sync_settings: SyncSettings):
        client = CustomerProfilesHook(aws_conn_id=self.aws_conn_id).conn
        AdaptiveRateLimiter(sync_settings.requests_per_second).attach(client)
        return client


class CustomerProfilesPrepareOperator(_CustomerProfilesOperator):
    """Checks the marts hold what the object types read, creates the domain if missing, applies the templates."""

    def run(self, sync_settings: SyncSettings, run_id: str) -> None:
        with warehouse.connect(read_only=True) as con:
            templates.check_sources(
                con,
                {
                    "profile_merges": customer_profiles.MERGES_SQL,
                    "suppression_list": ses_suppression.SOURCE_SQL,
                },
            )
        client = self.customer_profiles(sync_settings)
        templates.ensure_domain(client, settings.CUSTOMER_PROFILES_DOMAIN)
        templates.ensure_object_types(client, settings.CUSTOMER_PROFILES_DOMAIN)


class CustomerProfilesSyncOperator(_CustomerProfilesOperator):
    """Pushes one object type: what changed, removals, and for UnifiedProfile merges and deletions."""

    template_fields = ("object_type",)

    def __init__(self, *, object_type: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.object_type = object_type

    def run(self, sync_settings: SyncSettings, run_id: str) -> dict:
        client = self.customer_profiles(sync_settings)
        with warehouse.connect() as con:
            return customer_profiles.sync_object_type(
                con, client, settings.CUSTOMER_PROFILES_DOMAIN, self.object_type, run_id, sync_settings
            )


class SesSuppressionSyncOperator(_CustomerProfilesOperator):
    """Keeps the SES account-level suppression list equal to suppression_list."""

    def run(self, sync_settings: SyncSettings, run_id: str) -> dict:
        client = SesV2Hook(aws_conn_id=self.aws_conn_id).conn
        AdaptiveRateLimiter(sync_settings.ses_requests_per_second).attach(client)
        with warehouse.connect() as con:
            return ses_suppression.sync_suppression_list(con, client, run_id, sync_settings)
