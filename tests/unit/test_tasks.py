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


def _event(*hours):
    return SimpleNamespace(extra={"hours": list(hours)} if hours else None)


def test_a_build_covers_every_hour_its_events_report():
    events = [_event("2026-11-20T10:00:00+00:00"), _event("2026-11-20T12:00:00+00:00", "2026-11-20T03:00:00+00:00")]
    assert tasks.interval_for_run({}, [*events, _event()], (None, None)) == {
        "interval_start": "2026-11-20 03:00:00",
        "interval_end": "2026-11-20 13:00:00",
    }


class RecordedEvents:
    """inlet_events[asset].after(…).before(…) of the Task SDK, over a list of (asset, time, event)."""

    def __init__(self, recorded):
        self.recorded = recorded

    def __getitem__(self, asset):
        return _Window([(at, event) for name, at, event in self.recorded if name == asset])


class _Window(list):
    def after(self, since):
        return _Window([(at, e) for at, e in self if at >= datetime.fromisoformat(since)])

    def before(self, until):
        return [e for at, e in self if at <= datetime.fromisoformat(until)]


def test_a_build_also_covers_the_events_of_the_catch_up_window_before_it_was_triggered():
    triggered_at = datetime(2026, 11, 22, 8, tzinfo=UTC)
    dropped, stale, later = _event("2026-11-20T05:00:00+00:00"), _event("2026-11-19T00:00:00+00:00"), _event("x")
    inlet = RecordedEvents([
        ("raw_customers", triggered_at - tasks.CATCH_UP / 2, dropped),
        ("raw_ses", triggered_at - tasks.CATCH_UP * 2, stale),
        ("raw_ses", triggered_at + tasks.CATCH_UP, later),
    ])  # fmt: skip
    triggering = {"raw_ses": [_event("2026-11-20T10:00:00+00:00")]}

    events = tasks.build_events(triggering, inlet, ["raw_ses", "raw_customers"], triggered_at)

    assert events == [triggering["raw_ses"][0], dropped]
    assert tasks.interval_for_run({}, events, (None, None)) == {
        "interval_start": "2026-11-20 05:00:00",
        "interval_end": "2026-11-20 11:00:00",
    }


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
