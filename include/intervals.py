"""Which hours a build run covers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
# The dbt project's interval vars (dbt/dbt_project.yml: every var is c360__<name>).
START_VAR, END_VAR = "c360__interval_start", "c360__interval_end"


def as_utc(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolve_interval(
    params: Mapping[str, str | None],
    asset_event_hours: Iterable[str],
    data_interval: tuple[datetime | None, datetime | None],
) -> tuple[datetime, datetime]:
    """The [start, end) a run covers.

    A person's explicit range (trigger form or backfill conf) wins; an Asset-triggered run
    covers every hour its triggering landing events report; a scheduled run its data interval.
    """
    if requested := requested_range(params):
        start, end = requested
    elif hours := sorted(as_utc(h) for h in asset_event_hours):
        start, end = hours[0], hours[-1] + HOUR
    elif data_interval[0] is not None and data_interval[1] is not None and data_interval[0] < data_interval[1]:
        start, end = as_utc(data_interval[0]), as_utc(data_interval[1])
    else:
        raise ValueError("no interval: set interval_start and interval_end, or trigger from landing")
    if start >= end:
        raise ValueError(f"empty interval [{start}, {end})")
    return start, end


def requested_range(params: Mapping[str, str | None]) -> tuple[datetime, datetime] | None:
    """The [start, end) a person asked for in the trigger form (or backfill conf), if any."""
    if not (params.get("interval_start") and params.get("interval_end")):
        return None
    start, end = as_utc(params["interval_start"]), as_utc(params["interval_end"])
    if start >= end:
        raise ValueError(f"empty interval [{start}, {end})")
    return start, end


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """Every whole hour starting in [start, end)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    hour = hour if hour == start else hour + HOUR
    hours = []
    while hour < end:
        hours.append(hour)
        hour += HOUR
    return hours


def dbt_vars(start: datetime, end: datetime) -> dict[str, str]:
    """The interval as the dbt project's vars (naive UTC timestamps, portable to Trino and DuckDB)."""
    return {START_VAR: f"{start:%Y-%m-%d %H:%M:%S}", END_VAR: f"{end:%Y-%m-%d %H:%M:%S}"}


def from_dbt_vars(interval: dict[str, str]) -> tuple[datetime, datetime]:
    """The inverse of dbt_vars."""
    return as_utc(interval[START_VAR]), as_utc(interval[END_VAR])
