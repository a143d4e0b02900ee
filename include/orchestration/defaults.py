"""default_args every customer360 DAG shares."""

import os
from datetime import timedelta

from include.orchestration.alerts import failure_notifier

DEFAULT_ARGS = {
    "owner": "customer360",
    "retries": 2,
    "retry_delay": timedelta(seconds=int(os.environ.get("C360_RETRY_DELAY_SECONDS", "60"))),
    "retry_exponential_backoff": True,
    "on_failure_callback": failure_notifier(),
}
