"""Failure notifications for every DAG (default_args on_failure_callback): logged, and sent to
the alerts SNS topic by the Amazon provider's SnsNotifier."""

from __future__ import annotations

import json
import logging

from include import settings
from include.quality.masking import mask_identifiers

log = logging.getLogger("customer360.alerts")

# The alert the notifier renders: failure_message's facts, handed to it in the context as
# `failure` (rendered as a value, so nothing in an error message is read as a template).
ALERT_MESSAGE = "{{ failure | tojson }}"
ALERT_SUBJECT = "{{ ('customer360: ' ~ ti.dag_id ~ '.' ~ ti.task_id ~ ' failed')[:100] }}"  # SNS: <= 100


def failure_message(context) -> dict:
    """What on-call needs to act, for the log line and the alert: which task of which run failed,
    how, and where its log is. Only Airflow's own facts and the exception's message, any email or
    phone number in it masked (the gate's samples are masked already; a client error may quote one)."""
    ti = context["task_instance"]
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "try_number": ti.try_number,
        "error": mask_identifiers(str(context.get("exception"))),
        "log_url": getattr(ti, "log_url", None),
    }


def log_failure(context) -> None:
    """Log the failure (also where no alerts topic is configured)."""
    log.error("customer360 task failed: %s", json.dumps(failure_message(context)))


def sns_notifier(topic_arn: str):
    """The SnsNotifier publishing a failure to ``topic_arn`` through the alerts connection."""
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    return SnsNotifier(
        aws_conn_id=settings.ALERTS_CONN_ID,
        target_arn=topic_arn,
        message=ALERT_MESSAGE,
        subject=ALERT_SUBJECT,
    )


def publish_failure(context) -> None:
    """Publish the failure to the SNS topic ``C360_ALERTS_TOPIC_ARN`` (email, chat or paging
    subscribe to it); unset, nothing is sent.

    A new notifier for every failure: a notifier renders its templates in place, for good, and
    the tasks of a DAG share the callbacks of their default_args.
    """
    if topic_arn := settings.alerts_topic_arn():
        sns_notifier(topic_arn)({**context, "failure": failure_message(context)})


def failure_notifier() -> list:
    """The on_failure_callback of every task: log the failure, then alert the topic."""
    return [log_failure, publish_failure]
