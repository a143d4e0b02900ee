"""
### Sync the SES suppression list

Runs when **build_warehouse** has validated the suppressions (`validated_suppressions`: the
`suppression_list` mart and the SES landing it is made of passed their own checks), whether
or not the rest of the build passed: one unrelated bad record must not keep new bounces and
complaints off the list. The Customer Profiles sync still waits for `validated_marts`.

`sync_ses_suppression_list` keeps the SES account-level suppression list equal to
`suppression_list`: PutSuppressedDestination for an address that is new or whose reason
changed, DeleteSuppressedDestination for one we put that left the mart. Addresses SES or a
person added are never touched. A run that would delete more than `max_delete_share` of what
it put (default 0.2, or `C360_SYNC_MAX_DELETE_SHARE`) refuses before sending anything: a
broken build must not un-suppress everybody. When the deletions are meant, trigger this DAG
with the **max_delete_share** param (e.g. 1) for that one run.

The task runs in the `customer_profiles_api` pool (one slot, shared with the Customer
Profiles sync), at most `C360_SYNC_SES_REQUESTS_PER_SECOND` requests per second. Per
address: `customer_profiles_sync_log`; per task run: `customer_profiles_sync_runs` (object
type `SesSuppressedDestination`). A killed task can simply be cleared: it resumes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task

from include.orchestration.assets import VALIDATED_SUPPRESSIONS
from include.orchestration.defaults import DEFAULT_ARGS, max_delete_share_params
from include.sync.config import SYNC_POOL

# The task body is include/sync/tasks.py, imported in the task: pandas and DuckDB at parse time
# would cost every task process of this file.


@dag(
    dag_id="sync_ses_suppression",
    schedule=[VALIDATED_SUPPRESSIONS],
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "ses"],
    doc_md=__doc__,
    params=max_delete_share_params("the addresses we put"),
)
def sync_ses_suppression():
    # Keeps the SES account-level suppression list equal to suppression_list.
    @task(pool=SYNC_POOL)
    def sync_ses_suppression_list(params=None, run_id=None, ti=None) -> dict:
        from include.sync import tasks

        with tasks.failing_on_data_problems():
            return tasks.sync_ses_suppression_list(tasks.ses_client(), params, run_id, ti.try_number)

    sync_ses_suppression_list()


sync_ses_suppression()
