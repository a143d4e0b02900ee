"""The landing DAG's task bodies: which hours a run covers, landing them, the run's report, late files.

Late files. Firehose names an object by the arrival time of its oldest record and buffers up to
900 s, so the last object of hour H often arrives after the H+1:00 run has landed H. So a scheduled
run also looks at the ``LATE_FILE_LOOKBACK_HOURS`` before its own: an hour whose Firehose prefix
holds an object its manifest does not list (by key and ETag) is landed again, whole, in this run.
Landing an hour replaces its partitions and manifest, so every object is landed exactly once, and
the hour is reported with the run's own, so the build covers it. The cost stays bounded: one
listing of a prefix per stream and hour looked at (never the whole bucket), and a manifest read
only where the prefix holds objects. Objects of older hours, up to ``LATE_FILE_ALERT_HOURS`` before
the run's own, no run lands by itself: the run's ``check_late_files`` fails, and so alerts, naming
them and the one landing run that lands them (``late_file_alert``). Only the Firehose prefix
(``<stream>/YYYY/MM/DD/HH/``) is looked at: late delivery is Firehose's, and a source system's
batch is landed by its drop event whenever it arrives.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from include import intervals, settings, streams
from include.landing.land import land_hour, stream_hours, unlanded_keys
from include.landing.partitions import HOUR, hour_floor

log = logging.getLogger(__name__)

LOOKBACK = settings.LATE_FILE_LOOKBACK_HOURS
ALERT = settings.LATE_FILE_ALERT_HOURS
# An alert names this many keys at most (then counts the rest): it is read by a person.
ALERT_KEYS = 20


def hours_to_land(
    s3, stream: str, params: dict, data_interval_start: datetime | None, drop_events: list[dict]
) -> list[datetime]:
    """Which hours a landing run covers.

    A run triggered with ``interval_start``/``interval_end`` lands every hour of that range in
    one run (catch-up, re-landing a day). A scheduled, backfill or manual run lands its data
    interval's hour, and those of the lookback before it that hold late files. A run triggered
    by file drops (data interval None) lands the hours the dropped files hold: the ``keys`` the
    drop events name, or every file of the stream when an event names none. A stream with no
    drop in such a run lands nothing.
    """
    if requested := intervals.requested_range(params):
        return intervals.hours_of(*requested)
    if data_interval_start is not None:
        hour = hour_floor(data_interval_start)
        return [*late_hours(s3, stream, hour), hour]
    if not drop_events:
        return []
    keys = None if any("keys" not in extra for extra in drop_events) else [k for e in drop_events for k in e["keys"]]
    return sorted(stream_hours(s3, settings.LANDING_BUCKET, stream, keys))


def _hours_before(hour: datetime, nearest: int, farthest: int) -> list[datetime]:
    """The hours from ``farthest`` to ``nearest`` hours before ``hour``, oldest first."""
    return [hour - n * HOUR for n in range(farthest, nearest - 1, -1)]


def late_hours(s3, stream: str, hour: datetime) -> list[datetime]:
    """The lookback hours before ``hour`` holding an object their manifest does not list."""
    late = []
    for earlier in _hours_before(hour, 1, LOOKBACK):
        if keys := unlanded_keys(s3, stream, earlier, settings.LANDING_BUCKET, settings.RAW_BUCKET):
            log.warning("%s %s: %d objects arrived after it was landed: landing it again", stream, earlier, len(keys))
            late.append(earlier)
    return late


def late_file_alert(s3, params: dict, data_interval_start: datetime | None) -> str | None:
    """What on-call must know of the objects no manifest lists in the hours from just beyond the
    lookback to ``LATE_FILE_ALERT_HOURS`` before a scheduled run's own, and the run that lands
    them; None when there are none, or for a run that is not scheduled (it looks back at nothing).

    Names the keys of the engagement streams' objects (Firehose names them: its delivery stream, a
    time and a UUID) and counts the source systems' (their exporters name them, maybe after a person).
    """
    if intervals.requested_range(params) or data_interval_start is None:
        return None
    hour = hour_floor(data_interval_start)
    found = {
        (stream, earlier): keys
        for stream in streams.RAW_STREAMS
        for earlier in _hours_before(hour, LOOKBACK + 1, ALERT)
        if (keys := unlanded_keys(s3, stream, earlier, settings.LANDING_BUCKET, settings.RAW_BUCKET))
    }
    if not found:
        return None
    named = [key for (stream, _), keys in found.items() if not streams.BY_NAME[stream].dropped for key in keys]
    hours = sorted(earlier for _, earlier in found)
    command = json.dumps({"interval_start": hours[0].isoformat(), "interval_end": (hours[-1] + HOUR).isoformat()})
    return (
        f"{sum(map(len, found.values()))} landing objects no manifest lists, older than the {LOOKBACK}-hour "
        f"lookback, so no scheduled run will land them: "
        + ", ".join(f"{stream} {earlier:%Y-%m-%dT%H}: {len(keys)}" for (stream, earlier), keys in sorted(found.items()))
        + (f". Keys: {', '.join(named[:ALERT_KEYS])}" if named else "")
        + (f" and {len(named) - ALERT_KEYS} more" if len(named) > ALERT_KEYS else "")
        + f". Land them: airflow dags trigger land_engagement_events -c '{command}'"
    )


def land(s3, stream: str, hours: list[datetime]) -> dict:
    """Land each hour (replacing its partitions, empty ones too); the counts say what the build will find."""
    manifests = [land_hour(s3, stream, hour, settings.LANDING_BUCKET, settings.RAW_BUCKET) for hour in hours]
    for manifest in manifests:
        log.info(
            "landed %s %s: %d of %d lines, %d quarantined %s",
            stream,
            manifest.hour,
            manifest.landed,
            manifest.lines_read,
            manifest.quarantined,
            manifest.quarantine_reasons,
        )
    return {
        "stream": stream,
        # The hours the build must cover: those with lines (an empty hour wakes no build).
        "hours": [manifest.hour for manifest in manifests if manifest.lines_read],
        "lines_read": sum(manifest.lines_read for manifest in manifests),
        "landed": sum(manifest.landed for manifest in manifests),
        "quarantined": sum(manifest.quarantined for manifest in manifests),
    }


def landing_report(results: list[dict | None]) -> dict | None:
    """What a landing run's streams landed, for the build: None when no stream read a line."""
    landed = [result for result in results if result and result["lines_read"]]
    if not landed:
        return None
    return {
        "streams": sorted(result["stream"] for result in landed),
        "hours": sorted({hour for result in landed for hour in result["hours"]}),
    }
