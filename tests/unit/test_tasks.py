"""Which hours a landing run covers, and which a build run covers."""

from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from include import landing, settings, tasks

H10 = datetime(2026, 11, 20, 10, tzinfo=UTC)
CRM_ROW = "crm,C1,Ana,Smith,ana@example.com,,,,,,,,,,{updated_at}\n"
HEADER = ",".join(landing.CUSTOMER_COLUMNS) + "\n"


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
    assert tasks.hours_to_land(s3, "customers", H10.replace(minute=0), [{"keys": ["customers/flat.csv"]}]) == [H10]


def test_a_drop_run_lands_the_hours_its_dropped_files_hold(s3):
    assert tasks.hours_to_land(s3, "customers", None, [{"keys": ["customers/flat.csv"]}]) == [
        H10,
        H10.replace(hour=12),
    ]


def test_a_drop_event_naming_no_keys_lands_every_hour_of_the_stream(s3):
    assert tasks.hours_to_land(s3, "customers", None, [{"keys": ["customers/flat.csv"]}, {}]) == [
        H10.replace(hour=3),
        H10,
        H10.replace(hour=12),
    ]


def test_a_drop_run_lands_nothing_for_a_stream_nobody_dropped(s3):
    assert tasks.hours_to_land(s3, "bookings", None, []) == []


def test_a_build_triggered_by_landings_covers_every_hour_they_report():
    events = {
        "raw_ses": [SimpleNamespace(extra={"hours": ["2026-11-20T10:00:00+00:00"]})],
        "raw_customers": [
            SimpleNamespace(extra={"hours": ["2026-11-20T12:00:00+00:00", "2026-11-20T03:00:00+00:00"]}),
            SimpleNamespace(extra=None),
        ],
    }
    assert tasks.interval_for_run({}, events, (None, None)) == {
        "interval_start": "2026-11-20 03:00:00",
        "interval_end": "2026-11-20 13:00:00",
    }
