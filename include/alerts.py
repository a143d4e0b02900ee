"""Failure notifications for every DAG (default_args on_failure_callback)."""

from __future__ import annotations

import json
import logging
import os

from include import settings

log = logging.getLogger("customer360.alerts")


def failure_message(context) -> dict:
    """What on-call needs to act: which task of which run failed, how, and where the log is."""
    ti = context["task_instance"]
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "try_number": ti.try_number,
        "error": str(context.get("exception")),
        "log_url": getattr(ti, "log_url", None),
    }


def notify_failure(context) -> None:
    """Log the failure, and publish it to the alerts topic through the ``c360_alerts`` connection."""
    message = failure_message(context)
    log.error("customer360 task failed: %s", json.dumps(message))
    # The SNS topic email, chat or paging subscribe to; unset, failures are only logged.
    if topic_arn := os.environ.get("C360_ALERTS_TOPIC_ARN"):
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        SnsHook(aws_conn_id=settings.ALERTS_CONN_ID).publish_to_target(
            topic_arn,
            json.dumps(message),
            subject=f"customer360: {message['dag_id']}.{message['task_id']} failed"[:100],
        )
