"""
### Erase a person (GDPR right to erasure)

Triggered by hand with **exactly one** of `email`, `phone` (E.164, or national with
`phone_country`) or `profile_id`, and the request's reference in **request_id** (a ticket
id: never personal data). Too short to be sure of is refused: an email must be
name@domain.tld, a phone at least 7 national digits, a profile_id at least 6 characters.
From that identifier it finds every profile the person has and every identifier of those
profiles (emails, phones, loyalty, CRM and source record ids, profile ids), then:

1. `erase_customer_profiles`: deletes their Amazon Connect Customer Profiles profiles
   (DeleteProfile). Their addresses **stay** on the SES account-level suppression list, so
   they cannot be mailed again; the audit counts them (`ses_suppressions_kept`).
2. `erase_lake_and_warehouse`, in the `raw_zone` pool taking every slot (no landing task
   runs meanwhile, so no landing triggers a build) and only when no `build_warehouse` run is
   running (it fails while one is, and is retried):
   - adds their identifiers, as keyed hashes, to the erased-subject register
     (`s3://<raw bucket>/_erasure/erased_subjects.json`): from then on landing quarantines
     any record of theirs as `erased_subject` (the line itself not kept), and the SES sync
     never removes their address;
   - the landing bucket (each line or CSV row naming them) and the raw zone (each source
     line's rows, landed and quarantined; manifests decremented with an `erased` count, so
     the quality gate still reconciles when the hours are rebuilt);
   - deletes their rows, by their keys, from the tables no build rewrites — the sync's state
     and log, `profile_merges` — and writes one `erasure_audit` row (a keyed hash of the
     identifier, never the value; counts per place; the interval rebuilt).
3. `rebuild`: dbt, as `build_warehouse` runs it, over the interval that task names (from the
   first raw-zone hour it changed to the end of the last hour built): every table built from
   the raw zone — events, messages, quarantine, identity tables, profiles — is rebuilt
   without them, on DuckDB and Athena alike. Skipped when no raw-zone hour changed.

"Naming them" is exact: values compared field by field, column by column (emails
lower-cased, phones as E.164, ids only in id fields), and text searched only for
identifiers long enough not to occur by chance (emails; phones of 7+ digits; ids of 6+
characters). Erasing CRM id `42` leaves `10:42:00`, `0.42` and `"points_balance": 42`.

An identifier that other profiles' records hold too (a shared family phone) is kept and
counted: erasing it would erase someone else. A request that matches nothing succeeds and
is audited. Pause `sync_customer_profiles` while it runs (it would push the person back from
marts not yet rebuilt). Logic: `include/erasure/` (task bodies: `tasks.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from include import settings
from include.orchestration import dbt_config
from include.orchestration.defaults import DEFAULT_ARGS
from include.orchestration.pools import POOLS, RAW_ZONE_POOL
from include.sync.config import SYNC_POOL


def _identifier(description: str) -> Param:
    return Param(None, type=["null", "string"], description=description)


@dag(
    dag_id="erase_person",
    schedule=None,
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    # DuckDB has one writer at a time: locally the rebuild's dbt tasks run one by one (as the build's).
    max_active_tasks=1 if settings.DBT_TARGET == "local" else 16,
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

    # Every slot of the raw_zone pool: no landing task runs beside it (include/erasure/tasks.py says why).
    @task(pool=RAW_ZONE_POOL, pool_slots=POOLS[RAW_ZONE_POOL].slots)
    def erase_lake_and_warehouse(found: dict, profiles: dict, params=None, dag_run=None, ti=None) -> dict:
        from customer360_aws.hooks import LakeS3Hook
        from include.erasure import tasks

        # A build already running read the raw zone before the erasure: it could write the person back.
        if running := ti.get_dr_count(dag_id="build_warehouse", states=["running"]):
            raise RuntimeError(f"{running} build_warehouse run(s) running: erasing once they are done (retried)")
        return tasks.erase_from_lake_and_warehouse(
            params, found, profiles, dag_run.logical_date or dag_run.run_after,
            LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn(),
        )  # fmt: skip

    @task.short_circuit
    def raw_zone_changed(erased: dict) -> bool:
        return erased["rebuilt_interval_start"] is not None

    found = check_request()
    profiles = erase_customer_profiles()
    found >> profiles
    erased = erase_lake_and_warehouse(found, profiles)
    # The tables dbt builds from the raw zone, rebuilt from the erased one: the same dbt as build_warehouse's.
    rebuild = dbt_config.dbt_task_group(
        "rebuild",
        dbt_config.interval_vars("erase_lake_and_warehouse", "rebuilt_interval_start", "rebuilt_interval_end"),
    )
    raw_zone_changed(erased) >> rebuild


erase_person()
