"""Which ingest hours a build covers."""

from __future__ import annotations

from datetime import datetime, timedelta

from include import intervals, settings

# Airflow 3.3 can drop Asset events that arrive while a triggered build waits behind a running
# one (apache/airflow#56050, fixed in 3.4). So a build also covers every raw-zone event of the
# CATCH_UP before it was triggered: a dropped landing is built by the next build.
CATCH_UP = timedelta(hours=settings.BUILD_CATCH_UP_HOURS)


def build_events(triggering_asset_events, inlet_events, raw_assets, triggered_at: datetime) -> list:
    """The raw-zone events a build covers: those that triggered it and those of the catch-up window."""
    triggering = [event for events in triggering_asset_events.values() for event in events]
    since, until = (triggered_at - CATCH_UP).isoformat(), triggered_at.isoformat()
    return triggering + [event for asset in raw_assets for event in inlet_events[asset].after(since).before(until)]


def interval_for_run(params: dict, asset_events, data_interval) -> dict[str, str]:
    """The dbt interval of a build: the person's range, else every hour the events report."""
    hours = [hour for event in asset_events for hour in (event.extra or {}).get("hours", [])]
    start, end = intervals.resolve_interval(params, hours, data_interval)
    return intervals.dbt_vars(start, end)
