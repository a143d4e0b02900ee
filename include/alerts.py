"""Failure notifications for every DAG (default_args on_failure_callback)."""

from __future__ import annotations

import logging

log = logging.getLogger("customer360.alerts")


def notify_failure(context) -> None:
    """Log the failed task loudly; production adds a notifier connection here (Slack, SNS)."""
    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "customer360 task failed: dag=%s task=%s run=%s try=%s error=%s",
        ti.dag_id if ti else "?",
        ti.task_id if ti else "?",
        context.get("run_id"),
        ti.try_number if ti else "?",
        context.get("exception"),
    )
