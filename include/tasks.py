"""Task bodies the DAGs wire: each takes plain arguments and the clients it needs."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

import pandas as pd

from include import identity_model, intervals, landing, quality, report, settings, warehouse

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
        return [landing.hour_floor(data_interval_start)]
    if not drop_events:
        return []
    keys = None if any("keys" not in extra for extra in drop_events) else [k for e in drop_events for k in e["keys"]]
    return sorted(landing.stream_hours(s3, settings.LANDING_BUCKET, stream, keys))


def land(s3, stream: str, hours: list[datetime]) -> dict:
    """Land each hour (replacing its partitions, empty ones too); the counts say what the build will find."""
    manifests = [landing.land_hour(s3, stream, hour, settings.LANDING_BUCKET, settings.RAW_BUCKET) for hour in hours]
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


def validate_engagement(s3, interval: dict[str, str]) -> dict[str, list[quality.Validation]]:
    """The landing and canonical_events checkpoints of the interval, for quality.gate."""
    start, end = intervals.from_dbt_vars(interval)
    interval_sql = "ingest_hour >= ? and ingest_hour < ?"
    bounds = [start.replace(tzinfo=None), end.replace(tzinfo=None)]
    events = warehouse.query_df(f"select * from engagement_events where {interval_sql}", bounds)
    reconciled = quality.reconciliation_frame(
        quality.manifest_counts(
            s3,
            settings.RAW_BUCKET,
            list(settings.RAW_STREAMS),
            list(pd.date_range(start, end, freq="h", inclusive="left").to_pydatetime()),
        ),
        warehouse.query_df(f"select * from landing_reconciliation where {interval_sql}", bounds),
    )
    return {
        "landing": [quality.Validation("landing_reconciliation", reconciled, quality.reconciliation_expectations())],
        "canonical_events": [
            quality.Validation("engagement_events", events, quality.engagement_events_expectations(start, end)),
            quality.Validation(
                "email_destinations", quality.destinations(events, ["email"]), quality.destination_expectations("email")
            ),
            quality.Validation(
                "phone_destinations",
                quality.destinations(events, quality.PHONE_CHANNELS),
                quality.destination_expectations("phone"),
            ),
        ],
    }


PROFILE_RECONCILIATION_SQL = """
select
    (select count(*) from main_intermediate.int_identity_records_normalised) as source_records,
    (select count(distinct record_key) from profile_links) as linked_records,
    (select count(*) from profile_links as links
     where not exists (select 1 from unified_profiles as p where p.profile_id = links.profile_id))
        as links_to_missing_profiles
"""


def validate_profiles() -> dict[str, list[quality.Validation]]:
    """The profiles checkpoint: ids, identifier formats, profile sizes, every record linked once."""
    max_size = identity_model.load_spec()["max_profile_size"]
    return {
        "profiles": [
            quality.Validation(
                "unified_profiles",
                warehouse.query_df("select profile_id, email, phone, source_record_count from unified_profiles"),
                quality.profiles_expectations(max_size),
            ),
            quality.Validation(
                "profile_links",
                warehouse.query_df("select record_key, profile_id, matched_by from profile_links"),
                quality.profile_links_expectations(),
            ),
            quality.Validation(
                "profile_reconciliation",
                warehouse.query_df(PROFILE_RECONCILIATION_SQL),
                quality.profile_reconciliation_expectations(),
            ),
        ]
    }


# Airflow 3.3 can drop Asset events that arrive while a triggered build waits behind a running
# one (apache/airflow#56050, fixed in 3.4). So a build also covers every raw-zone event of the
# CATCH_UP before it was triggered: a dropped landing is built by the next build.
CATCH_UP = timedelta(hours=float(os.environ.get("C360_BUILD_CATCH_UP_HOURS", "2")))


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


def write_dashboard(interval: dict[str, str]) -> str:
    """The run's static HTML dashboard under var/reports/ (engagement-latest.html is the newest)."""
    start, end = intervals.from_dbt_vars(interval)
    with warehouse.connect(read_only=True) as con:
        return str(report.write_report(con, settings.VAR_DIR / "reports", start, end))
