"""
### Erase a person (GDPR right to erasure)

Triggered by hand with **exactly one** of `email`, `phone` (E.164, or national with
`phone_country`) or `profile_id`, and the request's reference in **request_id** (a ticket
id: never personal data). From that identifier it finds every profile the person has and
every identifier of those profiles (emails, phones, loyalty, CRM and source record ids,
profile ids), then removes them from:

1. `erase_customer_profiles`: Amazon Connect Customer Profiles (DeleteProfile) and the SES
   account-level suppression list;
2. `erase_buckets`: the landing bucket (each line or CSV row naming them) and the raw zone
   (each source line's rows, landed and quarantined; manifests decremented with an
   `erased` count, so the quality gate still reconciles when the hours are rebuilt);
3. `erase_warehouse`: every row of every warehouse table naming them — events, messages,
   quarantine, identity tables, profiles and their history, sync state and logs — and one
   `erasure_audit` row (a keyed hash of the identifier, never the value; counts per place).

An identifier that other profiles' records hold too (a shared family phone) is kept and
counted: erasing it would erase someone else. A request that matches nothing succeeds and
is audited. Run it when no build or sync is running; afterwards, rebuild the hours the
`erase_buckets` log names to refresh the aggregates. Logic: `include/erasure/` (task bodies: `tasks.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from include import settings
from include.orchestration.defaults import DEFAULT_ARGS
from include.sync.config import SYNC_POOL


def _identifier(description: str) -> Param:
    return Param(None, type=["null", "string"], description=description)


@dag(
    dag_id="erase_person",
    schedule=None,
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "gdpr"],
    doc_md=__doc__,
    params={
        "email": _identifier("The person's email address"),
        "phone": _identifier("The person's phone: E.164, or national (read in phone_country)"),
        "phone_country": _identifier("ISO country of a national phone (default C360_DEFAULT_PHONE_REGION)"),
        "profile_id": _identifier("A unified profile id (p-…)"),
        "request_id": Param("", type="string", minLength=1, description="The request's reference, e.g. a ticket id"),
    },
)
def erase_person():
    # A bad request fails the same way on every try.
    @task(retries=0)
    def check_request(params=None) -> dict:
        # Imported here, not at the top: every task process parses this file, and parsing stays cheap.
        from include.erasure import tasks
        from include.erasure.request import ErasureRequestError

        try:
            return tasks.check_request(params)
        except ErasureRequestError as err:
            raise AirflowFailException(str(err)) from err

    @task(pool=SYNC_POOL)
    def erase_customer_profiles(params=None) -> dict:
        from customer360_aws.hooks import CustomerProfilesHook, SesV2Hook
        from include.erasure import tasks

        hook_args = {"aws_conn_id": settings.CUSTOMER_PROFILES_CONN_ID}
        return tasks.erase_from_customer_profiles(
            params, CustomerProfilesHook(**hook_args).conn, SesV2Hook(**hook_args).conn
        )

    @task
    def erase_buckets(params=None) -> dict:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from include.erasure import tasks

        return tasks.erase_from_buckets(params, S3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn())

    @task
    def erase_warehouse(found: dict, profiles: dict, buckets: dict, params=None, dag_run=None) -> dict:
        from include.erasure import tasks

        return tasks.erase_from_warehouse(params, found, profiles | buckets, dag_run.logical_date or dag_run.run_after)

    found = check_request()
    profiles = erase_customer_profiles()
    buckets = erase_buckets()
    found >> profiles >> buckets
    erase_warehouse(found, profiles, buckets)


erase_person()
