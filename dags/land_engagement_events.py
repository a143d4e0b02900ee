"""
### Land engagement events and source-system batches

For each raw stream — the engagement events (`ses`, `sms_voice`, `whatsapp`,
`conversations`) and the source-system batches (`customers` as CSV or JSON lines,
`bookings`, `loyalty`, `clickstream`, `service_interactions`): read the landing bucket's
files for the hour, check every record, write the good ones to the raw zone's Hive
partition and the bad ones to `_quarantine/` with a reason, and write a manifest. Source
records get their phone normalised on the way (E.164, type, country).

**When it runs**
- every hour, for the hour before;
- triggered with **interval_start** and **interval_end**: every hour of that range in one run
  (catch-up after an outage, re-landing a day: see the on-call runbook, docs/operations.md);
- when a source system drops a batch: an event on the Asset `landing_<stream>` (extra
  `{"keys": ["customers/…/export.csv"]}`) lands the hours those files hold, at once.

Each task that read files updates its raw-zone Asset (`raw_<stream>`, extra: the hours with
lines and the counts). When every stream is done, **report_landed** updates `raw_zone_landed`
(extra: the streams and hours that had lines), which triggers **build_warehouse** once for the
whole run. A stream with no files for the hour still gets its (empty) partition and manifest,
then ends *skipped*: an empty hour wakes no build.

**Late files.** Firehose delivers an hour's last objects up to 15 minutes after the hour, often
after that hour's run. So a scheduled run also lands again each of the `C360_LATE_FILE_LOOKBACK_HOURS`
(3) hours before its own whose Firehose prefix holds an object that hour's manifest does not
list, and reports it with its own hour: the build covers it. Then **check_late_files** fails,
and so alerts, when an hour older than that, up to `C360_LATE_FILE_ALERT_HOURS` (30) before the
run's own, holds such an object: its message names them and the landing run that lands them
(the on-call runbook, docs/operations.md).

Re-running an hour replaces that hour's partitions: clearing a task is always safe.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from functools import reduce

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from include import settings, streams
from include.orchestration.assets import LANDING_DROPS, RAW_ZONE, RAW_ZONE_LANDED
from include.orchestration.defaults import DEFAULT_ARGS, interval_params
from include.orchestration.pools import RAW_ZONE_POOL


def land_stream(stream: str):
    # One slot of raw_zone each: an erasure takes them all, so it never runs beside a landing.
    @task(task_id=f"land_{stream}", outlets=[RAW_ZONE[stream]], pool=RAW_ZONE_POOL)
    def land(params=None, data_interval_start=None, triggering_asset_events=None, outlet_events=None) -> dict:
        # Imported here, not at the top: every task process parses this file, and parsing stays cheap.
        from customer360_aws.hooks import LakeS3Hook
        from include.landing import tasks

        s3 = LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn()
        drop = LANDING_DROPS.get(stream)
        drops = [event.extra for event in triggering_asset_events[drop]] if drop else []
        hours = tasks.hours_to_land(s3, stream, params, data_interval_start, drops)
        result = tasks.land(s3, stream, hours)
        if not result["lines_read"]:
            raise AirflowSkipException(f"no {stream} lines in {len(hours)} hours: nothing new for the build")
        outlet_events[RAW_ZONE[stream]].extra = result
        return result

    return land()


@dag(
    dag_id="land_engagement_events",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
        assets=reduce(operator.or_, LANDING_DROPS.values()),
    ),
    start_date=datetime(2026, 11, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["customer360", "landing"],
    doc_md=__doc__,
    params=interval_params("Land every hour from (UTC, ISO)", "…to this hour, exclusive (UTC, ISO)"),
)
def land_engagement_events():
    landed = [land_stream(stream) for stream in streams.RAW_STREAMS]

    # After every stream, whatever each one's outcome: a failed stream must not hold back the
    # build of the others (its failure alerts; clearing it re-runs this task too).
    @task(outlets=[RAW_ZONE_LANDED], trigger_rule=TriggerRule.ALL_DONE)
    def report_landed(ti=None, outlet_events=None) -> dict:
        from include.landing import tasks

        report = tasks.landing_report(ti.xcom_pull(task_ids=[f"land_{stream}" for stream in streams.RAW_STREAMS]))
        if report is None:
            raise AirflowSkipException("no stream landed a line: no build")
        outlet_events[RAW_ZONE_LANDED].extra = report
        return report

    # Airflow judges a run by its last tasks, and report_landed runs whatever happened: this one
    # fails the run when a stream failed (Airflow's watcher pattern). The stream alerted already.
    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0, on_failure_callback=[])
    def fail_if_a_stream_failed() -> None:
        raise AirflowFailException("a stream failed to land: see its task")

    # After the streams (a failed one alerted already); a scheduled run's only: a range or a drop
    # looks back at nothing. AirflowFailException: what it found is not retried away.
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def check_late_files(params=None, data_interval_start=None) -> None:
        from customer360_aws.hooks import LakeS3Hook
        from include.landing import tasks

        s3 = LakeS3Hook(aws_conn_id=settings.S3_CONN_ID).get_conn()
        if alert := tasks.late_file_alert(s3, params, data_interval_start):
            raise AirflowFailException(alert)

    landed >> report_landed()
    landed >> fail_if_a_stream_failed()
    landed >> check_late_files()


land_engagement_events()
