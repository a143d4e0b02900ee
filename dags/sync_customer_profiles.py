"""
### Sync to Amazon Connect Customer Profiles

Runs when **build_warehouse** has validated the marts. (The SES suppression list has a DAG of
its own, **sync_ses_suppression**, which waits on the suppressions' own checks only.)

1. `prepare_domain`: checks the marts hold every column the object types read, creates the
   domain if missing, applies the templates in `include/sync/object_types/` (PutProfileObjectType
   is an upsert).
2. `sync_unified_profile`: pushes the profiles that changed, then applies what left
   `unified_profiles`: MergeProfiles for ids merged away (`profile_merges`), DeleteProfile
   for the others.
3. `sync_engagement_summary`, `sync_marketing_assigned_offers`, `sync_interaction_history`:
   the objects attached to the profiles; removed rows are deleted.

A sync that would delete more than `max_delete_share` of what it pushed (default 0.2, or
`C360_SYNC_MAX_DELETE_SHARE`) refuses before sending anything: a broken build must not wipe
the domain. When the deletions are meant, trigger this DAG with the **max_delete_share**
param (e.g. 1) for that one run.

Only objects whose content changed are sent. Every task runs in the `customer_profiles_api`
pool (one slot), at most `C360_SYNC_REQUESTS_PER_SECOND` requests per second.
Per object: `customer_profiles_sync_log` (error code and message); per task run:
`customer_profiles_sync_runs`. Rejected objects are retried on later runs, dead-lettered
after `C360_SYNC_MAX_ATTEMPTS` rejections; a run over `C360_SYNC_MAX_REJECTED_SHARE`
rejected fails without retrying. Throttled requests or items and server errors are not
rejections: they never count as an object's attempt nor toward that share.
A killed task can simply be cleared: it resumes.

**Outages.** An error that is the account's rather than an object's (AccessDenied, expired
or unrecognised credentials, a bad signature, no credentials, the endpoint unreachable)
stops the task at once with `TargetUnavailable`, naming the error code and the object type:
what was sent before it is recorded, no object's attempts are counted, and the task fails
like any other (Airflow retries it; the last failure alerts). Fix the credentials or
permissions of the `c360_customer_profiles` connection; the next run (or clearing the
failed tasks) sends everything that changed meanwhile, and nothing is dead-lettered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import chain, dag, task

from include.orchestration.assets import VALIDATED_MARTS
from include.orchestration.defaults import DEFAULT_ARGS, max_delete_share_params
from include.sync.config import OBJECT_TYPES, SYNC_POOL

# The task bodies are include/sync/tasks.py. It, the sync modules and the hooks are imported inside
# the tasks, not here: Airflow imports this file (and every file in plugins/) in every task process,
# and pandas and DuckDB at the top would cost each task ~1.7 s.

API_TASK_COLOR = "#f9e0c7"  # the tasks that call the AWS APIs, in the graph


def _task_id(object_type: str) -> str:
    return "sync_" + "".join(f"_{c.lower()}" if c.isupper() else c for c in object_type).lstrip("_")


def sync_object_type(object_type: str):
    # Pushes one object type: what changed, removals, and for UnifiedProfile merges and deletions.
    @task(task_id=_task_id(object_type), pool=SYNC_POOL)
    def sync(params=None, run_id=None, ti=None) -> dict:
        from include.sync import tasks

        with tasks.failing_on_data_problems():
            return tasks.sync_object_type(tasks.customer_profiles_client(), object_type, params, run_id, ti.try_number)

    return sync()


@dag(
    dag_id="sync_customer_profiles",
    schedule=[VALIDATED_MARTS],
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "customer-profiles"],
    doc_md=__doc__,
    params=max_delete_share_params("pushed objects"),
)
def sync_customer_profiles():
    # Checks the marts hold what the object types read, creates the domain if missing, applies the templates.
    @task(pool=SYNC_POOL)
    def prepare_domain(params=None) -> None:
        from include.sync import tasks

        with tasks.failing_on_data_problems():
            tasks.prepare_domain(tasks.customer_profiles_client(), params)

    prepare = prepare_domain()
    profiles, *attached = (sync_object_type(name) for name in OBJECT_TYPES)
    chain(prepare, profiles, attached)
    for api_task in (prepare, profiles, *attached):
        api_task.operator.ui_color = API_TASK_COLOR


sync_customer_profiles()
