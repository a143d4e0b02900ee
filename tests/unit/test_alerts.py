"""The failure callbacks: a log line always, an SnsNotifier alert when a topic is configured."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from airflow.providers.amazon.aws.hooks.sns import SnsHook

from include import settings
from include.orchestration import alerts

TOPIC = "arn:aws:sns:us-east-1:123456789012:c360-alerts"


def failure_context(task_id: str, error: str) -> dict:
    log_url = f"http://localhost:8080/dags/land_engagement_events/runs/r/tasks/{task_id}?try_number=3"
    ti = SimpleNamespace(dag_id="land_engagement_events", task_id=task_id, run_id="r", try_number=3, log_url=log_url)
    return {"task_instance": ti, "ti": ti, "exception": RuntimeError(error)}


@pytest.fixture
def published(monkeypatch):
    """What the notifiers hand to SNS (the e2e test publishes to a real topic)."""
    calls = []

    def publish_to_target(self, target_arn, message, subject=None, message_attributes=None):
        calls.append({"conn_id": self.aws_conn_id, "target_arn": target_arn, "message": message, "subject": subject})

    monkeypatch.setattr(SnsHook, "publish_to_target", publish_to_target)
    return calls


def run_callbacks(context) -> None:
    for callback in alerts.failure_notifier():
        callback(context)


def test_the_alert_carries_the_logged_facts_as_json(monkeypatch, published, caplog):
    monkeypatch.setenv("C360_ALERTS_TOPIC_ARN", TOPIC)
    context = failure_context("land_crm", "An error occurred (NoSuchBucket): 'raw' <missing> & \"gone\"")
    facts = alerts.failure_message(context)

    with caplog.at_level(logging.ERROR, logger="customer360.alerts"):
        run_callbacks(context)

    assert f"customer360 task failed: {json.dumps(facts)}" in caplog.text
    [alert] = published
    assert alert["conn_id"] == settings.ALERTS_CONN_ID
    assert alert["target_arn"] == TOPIC
    assert json.loads(alert["message"]) == facts
    assert alert["subject"] == "customer360: land_engagement_events.land_crm failed"


def test_each_failure_gets_its_own_alert_though_tasks_share_the_callbacks(monkeypatch, published):
    monkeypatch.setenv("C360_ALERTS_TOPIC_ARN", TOPIC)
    callbacks = alerts.failure_notifier()  # as in DEFAULT_ARGS: one list for every task
    for task_id in ("land_crm", "land_web"):
        for callback in callbacks:
            callback(failure_context(task_id, f"{task_id} broke"))

    assert [json.loads(alert["message"])["task_id"] for alert in published] == ["land_crm", "land_web"]
    assert [json.loads(alert["message"])["error"] for alert in published] == ["land_crm broke", "land_web broke"]


def test_the_subject_fits_sns(monkeypatch, published):
    monkeypatch.setenv("C360_ALERTS_TOPIC_ARN", TOPIC)
    run_callbacks(failure_context("t" * 200, "boom"))
    assert len(published[0]["subject"]) == 100


def test_without_a_topic_failures_are_only_logged(monkeypatch, published, caplog):
    monkeypatch.delenv("C360_ALERTS_TOPIC_ARN", raising=False)
    with caplog.at_level(logging.ERROR, logger="customer360.alerts"):
        run_callbacks(failure_context("land_crm", "boom"))

    assert "customer360 task failed" in caplog.text
    assert published == []


def test_identifiers_in_an_error_are_masked_in_the_log_and_the_alert(monkeypatch, published, caplog):
    monkeypatch.setenv("C360_ALERTS_TOPIC_ARN", TOPIC)
    # A client error quoting the address it refused, a gate message already masked, and template syntax.
    error = "PutSuppressedDestination refused john.smith@example.com (+447700900156); e.g. ['n***@e***'] {{ 7 * 7 }}"
    with caplog.at_level(logging.ERROR, logger="customer360.alerts"):
        run_callbacks(failure_context("validate", error))

    masked = "PutSuppressedDestination refused j***@e***.com (+44********56); e.g. ['n***@e***'] {{ 7 * 7 }}"
    [alert] = published
    assert json.loads(alert["message"])["error"] == masked
    assert json.dumps(masked) in caplog.text
    assert not any(raw in alert["message"] + caplog.text for raw in ("john", "900156"))
