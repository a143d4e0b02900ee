from datetime import UTC, datetime

import pytest

from include.intervals import dbt_vars, from_dbt_vars, resolve_interval

H10 = datetime(2026, 11, 20, 10, tzinfo=UTC)
H12 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_explicit_params_win_over_asset_events_and_schedule():
    start, end = resolve_interval(
        {"interval_start": "2026-11-20T10:00:00Z", "interval_end": "2026-11-20T12:00"},
        ["2026-11-21T00:00:00+00:00"],
        (None, None),
    )
    assert (start, end) == (H10, H12)


def test_asset_triggered_run_covers_every_reported_hour():
    hours = ["2026-11-20T11:00:00+00:00", "2026-11-20T10:00:00+00:00", "2026-11-20T11:00:00+00:00"]
    assert resolve_interval({}, hours, (None, None)) == (H10, H12)


def test_scheduled_run_uses_its_data_interval():
    assert resolve_interval({"interval_start": None}, [], (H10, H12)) == (H10, H12)


@pytest.mark.parametrize(
    "params,hours,interval",
    [
        ({}, [], (None, None)),
        ({"interval_start": "2026-11-20T12:00", "interval_end": "2026-11-20T10:00"}, [], (None, None)),
    ],
)
def test_missing_or_empty_interval_is_an_error(params, hours, interval):
    with pytest.raises(ValueError):
        resolve_interval(params, hours, interval)


def test_dbt_vars_are_naive_utc_timestamps():
    assert dbt_vars(H10, H12) == {
        "c360__interval_start": "2026-11-20 10:00:00",
        "c360__interval_end": "2026-11-20 12:00:00",
    }


def test_from_dbt_vars_round_trips():
    assert from_dbt_vars(dbt_vars(H10, H12)) == (H10, H12)
