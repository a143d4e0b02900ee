"""
### Sync to Amazon Connect Customer Profiles and the SES suppression list

Runs when **build_warehouse** has validated the marts.

1. `prepare_domain`: checks the marts hold every column the object types read, creates the
   domain if missing, applies the templates in `include/sync/object_types/` (PutProfileObjectType
   is an upsert).
2. `sync_unified_profile`: pushes the profiles that changed, then applies what left
   `unified_profiles`: MergeProfiles for ids merged away (`profile_merges`), DeleteProfile
   for the others.
3. `sync_engagement_summary`, `sync_marketing_assigned_offers`, `sync_interaction_history`:
   the objects attached to the profiles; removed rows are deleted.
4. `sync_ses_suppression_list`: the SES account-level suppression list follows
   `suppression_list`. It does not wait for the Customer Profiles tasks: a profile problem
   must not hold back suppressions.

A sync that would delete more than `max_delete_share` of what it pushed (default 0.2, or
`C360_SYNC_MAX_DELETE_SHARE`) refuses before sending anything: a broken build must not wipe
the domain. When the deletions are meant, trigger this DAG with the **max_delete_share**
param (e.g. 1) for that one run.

Only objects whose content changed are sent. Every task runs in the `customer_profiles_api`
pool (one slot), at most `C360_SYNC_REQUESTS_PER_SECOND` requests per second.
Per object: `customer_profiles_sync_log` (error code and message); per task run:
`customer_profiles_sync_runs`. Rejected objects are retried on later runs, dead-lettered
after `C360_SYNC_MAX_ATTEMPTS` rejections; a run over `C360_SYNC_MAX_REJECTED_SHARE`
rejected fails without retrying. A killed task can simply be cleared: it resumes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, chain, dag

from customer360_aws.operators import (
    CustomerProfilesPrepareOperator,
    CustomerProfilesSyncOperator,
    SesSuppressionSyncOperator,
)
from include.orchestration.assets import VALIDATED_MARTS
from include.orchestration.defaults import DEFAULT_ARGS
from include.sync.config import OBJECT_TYPES


def _task_id(object_type: str) -> str:
    return "sync_" + "".join(f"_{c.lower()}" if c.isupper() else c for c in object_type).lstrip("_")


@dag(
    dag_id="sync_customer_profiles",
    schedule=[VALIDATED_MARTS],
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "customer-profiles"],
    doc_md=__doc__,
    params={
        "max_delete_share": Param(
            None,
            type=["null", "number"],
            minimum=0,
            maximum=1,
            description="This run only: the share of pushed objects it may delete (null: the configured guard)",
        ),
    },
)
def sync_customer_profiles():
    profiles, *attached = (
        CustomerProfilesSyncOperator(task_id=_task_id(name), object_type=name) for name in OBJECT_TYPES
    )
    chain(CustomerProfilesPrepareOperator(task_id="prepare_domain"), profiles, attached)
    SesSuppressionSyncOperator(task_id="sync_ses_suppression_list")


sync_customer_profiles()
