"""The landing DAG's task bodies: which hours a run covers, landing them, the run's report."""

from __future__ import annotations

import logging
from datetime import datetime

from include import intervals, settings
from include.landing.land import land_hour, stream_hours
from include.landing.partitions import hour_floor

log = logging.getLogger(__name__)


def hours_to_land(
    s3, stream: str, params: dict, data_interval_start: datetime | None, drop_events: list[dict]
) -> list[datetime]:
    """Which hours a landing run covers.

    A run triggered with ``interval_start``/``interval_end`` lands every hour of that range in
    one run (catch-up, re-landing a day). A scheduled, backfill or manual run lands its data
    interval's hour. A run triggered by file drops (data interval None) lands the hours the
    dropped files hold: the ``keys`` the drop events name, or every file of the stream when an
    event names none. A stream with no drop in such a run lands nothing.
    """
    if requested := intervals.requested_range(params):
        return intervals.hours_of(*requested)
    if data_interval_start is not None:
        return [hour_floor(data_interval_start)]
    if not drop_events:
        return []
    keys = None if any("keys" not in extra for extra in drop_events) else [k for e in drop_events for k in e["keys"]]
    return sorted(stream_hours(s3, settings.LANDING_BUCKET, stream, keys))


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
