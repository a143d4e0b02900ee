"""default_args every customer360 DAG shares."""

from datetime import timedelta

from include import settings
from include.orchestration.alerts import failure_notifier

DEFAULT_ARGS = {
    "owner": "customer360",
    "retries": 2,
    "retry_delay": timedelta(seconds=settings.RETRY_DELAY_SECONDS),
    "retry_exponential_backoff": True,
    "on_failure_callback": failure_notifier(),
}
