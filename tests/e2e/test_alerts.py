"""A failed task notifies on-call through the alerts connection (the Amazon provider's
SnsNotifier): a real DAG run against the local stack's SNS topic, read back from the queue
subscribed to it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from include import streams
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, received_alerts

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(var_dir, tmp_path_factory):
    (var_dir / "airflow").mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    # A lake of its own, and no buckets in it: every landing task fails.
    running = LocalStack(
        var_dir,
        S3_PORT,
        PROFILES_PORT,
        s3_dir=tmp_path_factory.mktemp("alerts-s3"),
        create_buckets=False,
    ).start()
    yield running
    running.stop()


def test_a_failed_task_is_published_to_the_alerts_topic(stack):
    from airflow.dag_processing.dagbag import DagBag

    # The stack was started without buckets: every landing task fails, after its retries.
    land = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags["land_engagement_events"]
    run = land.test(logical_date=datetime(2026, 11, 20, 11, tzinfo=UTC))

    assert run.state == "failed"
    alerts = received_alerts()
    assert sorted((a["dag_id"], a["task_id"], a["run_id"], a["try_number"]) for a in alerts) == [
        ("land_engagement_events", f"land_{stream}", run.run_id, 3) for stream in sorted(streams.RAW_STREAMS)
    ]
    assert all("NoSuchBucket" in a["error"] for a in alerts), alerts[0]["error"]
    # Each alert links the log of its own task's last try.
    assert all(
        "/dags/land_engagement_events/runs/" in a["log_url"]
        and a["log_url"].endswith(f"/tasks/{a['task_id']}?try_number=3")
        for a in alerts
    ), [a["log_url"] for a in alerts]
