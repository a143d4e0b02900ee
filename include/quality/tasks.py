"""The build DAG's validate task: the checkpoints it runs, each a table read from the warehouse."""

from __future__ import annotations

import pandas as pd

from include import intervals, settings
from include.identity import model as identity_model
from include.quality import gate as quality
from include.warehouse import connection as warehouse


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


def validate(s3, interval: dict[str, str]) -> list[dict]:
    """Every checkpoint of the interval through the gate: raises QualityGateFailed on a failed expectation."""
    checkpoints = {**validate_engagement(s3, interval), **validate_profiles()}
    return quality.gate(checkpoints, *intervals.from_dbt_vars(interval))
