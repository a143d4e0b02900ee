"""Which ingest hours a build covers: the landing runs that triggered it, and those of the catch-up
window no build has built yet.

Every landed hour is built, whatever happened to the build its landing triggered:
- Airflow 3.3 can drop Asset events that arrive while a triggered build waits behind a running
  one (apache/airflow#56050, fixed in 3.4): that landing triggers no build;
- a build can fail (dbt, or the gate): its hours would otherwise wait for someone to replay them,
  and later gates check only their own interval.
So a build covers the ``raw_zone_landed`` events that triggered it, and every such event of the
``C360_BUILD_CATCH_UP_HOURS`` (72) before it was triggered that no *passed* build covered. What a
build covers it records beside its interval (an XCom of ``resolve_interval``, ``COVERED_KEY``:
each landing event by its run and time); a build passed when it updated ``validated_marts``, whose
events name the build's run. Both live in Airflow's metadata, not in the warehouse: the same on
DuckDB and Athena, and no query on the hourly path. That path stays cheap: two reads of Asset
events, and one XCom per passed build, newest first, only until none older can cover anything
left (normally the last one). A landing event older than the window is not looked at: a build
failing for that long has alerted on every run; replay the hours by hand (the runbook). Builds are
idempotent: covering an hour twice costs time, not correctness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from include import intervals, settings

CATCH_UP = timedelta(hours=settings.BUILD_CATCH_UP_HOURS)
# The XCom key under which resolve_interval records the landing events its build covers.
COVERED_KEY = "covered_landing_events"


def landing_key(event) -> str:
    """A landing event's identity: its landing run and time (a triggering event's reference has no id)."""
    return f"{event.source_run_id}@{event.timestamp.isoformat()}"


def build_events(
    triggering_asset_events,
    inlet_events,
    landed_asset,
    validated_asset,
    triggered_at: datetime,
    covered_by: Callable[[object], Iterable[str] | None],
) -> list:
    """The landing events a build covers: those that triggered it, and those of the catch-up window
    no passed build covered. ``covered_by(validated_event)``: what the build behind it covered."""
    triggering = [event for events in triggering_asset_events.values() for event in events]
    since, until = (triggered_at - CATCH_UP).isoformat(), triggered_at.isoformat()
    landed = inlet_events[landed_asset].after(since).before(until)
    passed = inlet_events[validated_asset].after(since).before(until)
    keys = {landing_key(event) for event in triggering}
    return triggering + [event for event in unbuilt(landed, passed, covered_by) if landing_key(event) not in keys]


def unbuilt(landed: Iterable, passed: Iterable, covered_by: Callable[[object], Iterable[str] | None]) -> list:
    """The landing events no passed build covered. A build covers only landings before it, so the
    passed builds are read newest first until none is later than a landing still uncovered."""
    pending = {landing_key(event): event for event in landed}
    for build in sorted(passed, key=lambda event: event.timestamp, reverse=True):
        if not any(event.timestamp < build.timestamp for event in pending.values()):
            break
        for key in covered_by(build) or ():
            pending.pop(key, None)
    return sorted(pending.values(), key=lambda event: event.timestamp)


def interval_for_run(params: dict, asset_events, data_interval) -> dict[str, str]:
    """The dbt interval of a build: the person's range, else every hour the events report."""
    hours = [hour for event in asset_events for hour in (event.extra or {}).get("hours", [])]
    start, end = intervals.resolve_interval(params, hours, data_interval)
    return intervals.dbt_vars(start, end)


def covered(asset_events, interval: dict[str, str]) -> list[str]:
    """The landing events a build over ``interval`` builds: those all of whose hours it holds (a
    person's range may leave some out: the next build covers them)."""
    start, end = intervals.from_dbt_vars(interval)
    return [
        landing_key(event)
        for event in asset_events
        if all(start <= intervals.as_utc(hour) < end for hour in (event.extra or {}).get("hours", []))
    ]
