"""
### Land engagement events and source-system batches

Every hour, for each raw stream — the engagement events (`ses`, `sms_voice`, `whatsapp`,
`conversations`) and the source-system batches (`customers` as CSV or JSON lines,
`bookings`, `loyalty`, `clickstream`, `service_interactions`): read the landing bucket's
files for the hour, check every record, write the good ones to the raw zone's Hive
partition and the bad ones to `_quarantine/` with a reason, and write a manifest. Source
records get their phone normalised on the way (E.164, type, country). Each stream's task
updates its raw-zone Asset (`raw_<stream>`); the engagement ones trigger **build_warehouse**.

Re-running an hour replaces that hour's partitions: clearing a task is always safe.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import CronDataIntervalTimetable, dag, task

from include import settings, tasks
from include.assets import RAW_ZONE
from include.dag_defaults import DEFAULT_ARGS


def land_stream(stream: str):
    @task(task_id=f"land_{stream}", outlets=[RAW_ZONE[stream]])
    def land(data_interval_start=None, outlet_events=None) -> dict:
        result = tasks.land(S3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn(), stream, data_interval_start)
        outlet_events[RAW_ZONE[stream]].extra = result
        return result

    return land()


@dag(
    dag_id="land_engagement_events",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "landing"],
    doc_md=__doc__,
)
def land_engagement_events():
    for stream in settings.RAW_STREAMS:
        land_stream(stream)


land_engagement_events()
