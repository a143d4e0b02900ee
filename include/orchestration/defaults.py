"""What every customer360 DAG shares: default_args, and the Params of a run over a range of hours
and of a sync run that may delete more than its guard allows."""

from airflow.sdk import Param

from include import settings
from include.orchestration.alerts import failure_notifier

DEFAULT_ARGS = {
    "owner": "customer360",
    "retries": 2,
    "retry_delay": settings.retry_delay(),
    "retry_exponential_backoff": True,
    "on_failure_callback": failure_notifier(),
}


def interval_params(start: str, end: str) -> dict[str, Param]:
    """A run's own range of ingest hours, described for the trigger form. Both are ISO date-times
    (UTC, the end exclusive), so the form refuses anything else; both null: the run's usual hours."""
    return {
        "interval_start": Param(None, type=["null", "string"], format="date-time", description=start),
        "interval_end": Param(None, type=["null", "string"], format="date-time", description=end),
    }


def max_delete_share_params(removed: str) -> dict[str, Param]:
    """The sync DAGs' one-run override of the deletion guard, when deletions are meant (an
    erasure, a source retired); ``removed``: what the sync deletes, for the trigger form."""
    return {
        "max_delete_share": Param(
            None,
            type=["null", "number"],
            minimum=0,
            maximum=1,
            description=f"This run only: the share of {removed} it may delete (null: the configured guard)",
        ),
    }
