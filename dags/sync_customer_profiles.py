"""
### Sync to Amazon Connect Customer Profiles

Runs when **build_warehouse** has validated the marts. Creates the domain and object types
if missing (PutProfileObjectType is an upsert, so templates in `include/object_types/`
are applied every run), then pushes only the objects whose content changed since their
last successful push. Per-row results: `customer_profiles_sync_log`; per run:
`customer_profiles_sync_runs`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task

from customer360_aws.hooks import CustomerProfilesHook
from include import customer_profiles_sync, settings, warehouse
from include.assets import VALIDATED_MARTS
from include.dag_defaults import DEFAULT_ARGS

EMAIL_ENGAGEMENT = "EmailEngagement"


@dag(
    dag_id="sync_customer_profiles",
    schedule=[VALIDATED_MARTS],
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "customer-profiles"],
    doc_md=__doc__,
)
def sync_customer_profiles():
    @task
    def prepare_domain() -> None:
        client = CustomerProfilesHook(aws_conn_id=settings.CUSTOMER_PROFILES_CONN_ID).conn
        customer_profiles_sync.ensure_domain(client, settings.CUSTOMER_PROFILES_DOMAIN)
        customer_profiles_sync.ensure_object_type(client, settings.CUSTOMER_PROFILES_DOMAIN, EMAIL_ENGAGEMENT)

    @task
    def sync_email_engagement(run_id=None) -> dict:
        client = CustomerProfilesHook(aws_conn_id=settings.CUSTOMER_PROFILES_CONN_ID).conn
        with warehouse.connect() as con:
            frame = con.execute("select * from email_recipients order by email_address").df()
            return customer_profiles_sync.sync_frame(
                con, client, settings.CUSTOMER_PROFILES_DOMAIN, EMAIL_ENGAGEMENT, frame, "email_address", run_id
            )

    prepare_domain() >> sync_email_engagement()


sync_customer_profiles()
