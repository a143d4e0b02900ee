"""Which hours a landing run covers, and what it reports to the build."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from include import settings
from include.landing import tasks
from include.landing.partitions import HOUR
from include.landing.sources import CUSTOMER_COLUMNS

H10 = datetime(2026, 11, 20, 10, tzinfo=UTC)
CRM_ROW = "crm,C1,Ana,Smith,ana@example.com,,,,,,,,,,{updated_at}\n"
HEADER = ",".join(CUSTOMER_COLUMNS) + "\n"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=settings.LANDING_BUCKET)
        # A prefixed daily export, and a flat one spanning two hours by its records' times.
        client.put_object(Bucket=settings.LANDING_BUCKET, Key="customers/2026/11/20/03/crm.csv", Body=HEADER.encode())
        rows = [CRM_ROW.format(updated_at=at) for at in ("2026-11-20T10:15:00Z", "2026-11-20T12:01:00Z")]
        flat = HEADER + "".join(rows)
        client.put_object(Bucket=settings.LANDING_BUCKET, Key="customers/flat.csv", Body=flat.encode())
        yield client


def test_a_scheduled_or_backfill_run_lands_its_own_hour(s3):
    assert tasks.hours_to_land(s3, "customers", {}, H10.replace(minute=0), [{"keys": ["customers/flat.csv"]}]) == [H10]


def test_a_run_given_a_range_lands_every_hour_of_it_in_one_run(s3):
    # Catch-up and re-landing a day: one run, whatever its own data interval or drops say.
    params = {"interval_start": "2026-11-20T09:30:00Z", "interval_end": "2026-11-20T12:00:00+00:00"}
    assert tasks.hours_to_land(s3, "customers", params, H10, [{"keys": ["customers/flat.csv"]}]) == [
        H10,
        H10.replace(hour=11),
    ]


def test_a_drop_run_lands_the_hours_its_dropped_files_hold(s3):
    assert tasks.hours_to_land(s3, "customers", {}, None, [{"keys": ["customers/flat.csv"]}]) == [
        H10,
        H10.replace(hour=12),
    ]


def test_a_drop_event_naming_no_keys_lands_every_hour_of_the_stream(s3):
    assert tasks.hours_to_land(s3, "customers", {}, None, [{"keys": ["customers/flat.csv"]}, {}]) == [
        H10.replace(hour=3),
        H10,
        H10.replace(hour=12),
    ]


def test_a_drop_run_lands_nothing_for_a_stream_nobody_dropped(s3):
    assert tasks.hours_to_land(s3, "bookings", {}, None, []) == []


def test_a_landing_run_reports_the_streams_and_hours_that_had_lines():
    results = [
        {"stream": "ses", "hours": ["2026-11-20T10:00:00+00:00"], "lines_read": 3},
        None,  # a skipped or failed stream
        {"stream": "customers", "hours": [], "lines_read": 0},
        {"stream": "bookings", "hours": ["2026-11-20T12:00:00+00:00", "2026-11-20T10:00:00+00:00"], "lines_read": 1},
    ]
    assert tasks.landing_report(results) == {
        "streams": ["bookings", "ses"],
        "hours": ["2026-11-20T10:00:00+00:00", "2026-11-20T12:00:00+00:00"],
    }
    assert tasks.landing_report([None, {"stream": "ses", "hours": [], "lines_read": 0}]) is None


# -- late files ------------------------------------------------------------------------------------
LINE = b'{"eventType":"Send"}\n'  # quarantined or not, a line the hour's manifest counts


def firehose_key(stream: str, hour: datetime, name: str) -> str:
    return f"{stream}/{hour:%Y/%m/%d/%H}/{name}"


@pytest.fixture
def lake(s3):
    """The landing bucket of ``s3`` beside an empty raw zone, ``ses`` of hour 10 landed."""
    s3.create_bucket(Bucket=settings.RAW_BUCKET)
    s3.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("ses", H10, "a.gz"), Body=LINE)
    tasks.land(s3, "ses", [H10])
    return s3


def test_a_scheduled_run_lands_again_a_lookback_hour_whose_late_object_no_manifest_lists(lake):
    late = firehose_key("ses", H10, "late.gz")
    lake.put_object(Bucket=settings.LANDING_BUCKET, Key=late, Body=LINE)
    next_hour = H10 + HOUR

    assert tasks.hours_to_land(lake, "ses", {}, next_hour, []) == [H10, next_hour]
    assert tasks.land(lake, "ses", [H10, next_hour])["hours"] == [H10.isoformat()]
    # Landed whole, once: both objects listed, and the next run finds nothing late.
    assert tasks.hours_to_land(lake, "ses", {}, next_hour + HOUR, []) == [next_hour + HOUR]
    assert tasks.hours_to_land(lake, "ses", {}, next_hour, []) == [next_hour]


def test_an_hour_whose_objects_are_all_landed_is_not_landed_again(lake):
    lake.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("ses", H10, "empty.gz"), Body=b"")
    tasks.land(lake, "ses", [H10])  # an empty object is listed too, so it is not late for ever
    assert tasks.hours_to_land(lake, "ses", {}, H10 + HOUR, []) == [H10 + HOUR]
    assert tasks.hours_to_land(lake, "bookings", {}, H10 + HOUR, []) == [H10 + HOUR]


def test_an_object_delivered_again_with_other_bytes_is_landed_again(lake):
    lake.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("ses", H10, "a.gz"), Body=LINE * 2)
    assert tasks.hours_to_land(lake, "ses", {}, H10 + HOUR, []) == [H10, H10 + HOUR]


def test_the_lookback_reaches_back_its_hours_and_no_further(lake):
    unlanded = H10 - (tasks.LOOKBACK - 1) * HOUR, H10 - tasks.LOOKBACK * HOUR  # ses of hour 10 is landed
    for hour in unlanded:
        lake.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("ses", hour, "x.gz"), Body=LINE)
    assert tasks.hours_to_land(lake, "ses", {}, H10 + HOUR, []) == [unlanded[0], H10 + HOUR]
    # A range or a drop lands what it names, and looks back at nothing.
    eleven = {"interval_start": "2026-11-20T11:00Z", "interval_end": "2026-11-20T12:00Z"}
    assert tasks.hours_to_land(lake, "ses", eleven, H10 + HOUR, []) == [H10 + HOUR]
    assert tasks.hours_to_land(lake, "ses", {}, None, []) == []


def test_objects_no_manifest_lists_beyond_the_lookback_alert_naming_them_and_the_run_that_lands_them(lake):
    now = H10 + 40 * HOUR
    beyond = [now - (tasks.LOOKBACK + 1) * HOUR, now - tasks.ALERT * HOUR]
    for hour in beyond:
        lake.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("ses", hour, "late.gz"), Body=LINE)
    # A source system's object: its name is its exporter's, and may name a person.
    lake.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("customers", beyond[1], "ana@example.com.csv"),
                    Body=HEADER.encode())  # fmt: skip
    # Not alerted: within the lookback (landed by the run), older than the alert's hours.
    for hour in (now - HOUR, now - (tasks.ALERT + 1) * HOUR):
        lake.put_object(Bucket=settings.LANDING_BUCKET, Key=firehose_key("ses", hour, "other.gz"), Body=LINE)

    alert = tasks.late_file_alert(lake, {}, now)

    assert alert.startswith("3 landing objects no manifest lists, older than the 3-hour lookback")
    assert f"ses {beyond[0]:%Y-%m-%dT%H}: 1" in alert and f"customers {beyond[1]:%Y-%m-%dT%H}: 1" in alert
    assert f"Keys: {firehose_key('ses', beyond[1], 'late.gz')}, {firehose_key('ses', beyond[0], 'late.gz')}." in alert
    assert "ana@example.com" not in alert and "other.gz" not in alert
    window = {"interval_start": beyond[1].isoformat(), "interval_end": (beyond[0] + HOUR).isoformat()}
    assert alert.endswith(f"Land them: airflow dags trigger land_engagement_events -c '{json.dumps(window)}'")
    # Landed as the alert says, they are no longer alerted; nor does a range or a drop run look.
    for stream in ("ses", "customers"):
        tasks.land(lake, stream, tasks.hours_to_land(lake, stream, window, None, []))
    assert tasks.late_file_alert(lake, {}, now) is None
    assert tasks.late_file_alert(lake, window, now) is None
    assert tasks.late_file_alert(lake, {}, None) is None
