"""Which hours a landing run covers, and what it reports to the build."""

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from include import settings
from include.landing import tasks
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
