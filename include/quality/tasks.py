"""The build DAG's validate task: the checkpoints it runs, each a table read from the warehouse."""

from __future__ import annotations

import pandas as pd

from include import intervals, settings
from include.identity.model import load_spec
from include.quality import expectations
from include.quality.gate import Validation, gate
from include.quality.reconciliation import manifest_counts, reconciliation_frame
from include.warehouse.connection import query_df


def validate_engagement(s3, interval: dict[str, str]) -> dict[str, list[Validation]]:
    """The landing and canonical_events checkpoints of the interval, for the gate."""
    start, end = intervals.from_dbt_vars(interval)
    interval_sql = "ingest_hour >= ? and ingest_hour < ?"
    bounds = [start.replace(tzinfo=None), end.replace(tzinfo=None)]
    events = query_df(f"select * from engagement_events where {interval_sql}", bounds)
    reconciled = reconciliation_frame(
        manifest_counts(
            s3,
            settings.RAW_BUCKET,
            list(settings.RAW_STREAMS),
            list(pd.date_range(start, end, freq="h", inclusive="left").to_pydatetime()),
        ),
        query_df(f"select * from landing_reconciliation where {interval_sql}", bounds),
    )
    return {
        "landing": [Validation("landing_reconciliation", reconciled, expectations.reconciliation_expectations())],
        "canonical_events": [
            Validation("engagement_events", events, expectations.engagement_events_expectations(start, end)),
            Validation(
                "email_destinations",
                expectations.destinations(events, ["email"]),
                expectations.destination_expectations("email"),
            ),
            Validation(
                "phone_destinations",
                expectations.destinations(events, expectations.PHONE_CHANNELS),
                expectations.destination_expectations("phone"),
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


def validate_profiles() -> dict[str, list[Validation]]:
    """The profiles checkpoint: ids, identifier formats, profile sizes, every record linked once."""
    max_size = load_spec()["max_profile_size"]
    return {
        "profiles": [
            Validation(
                "unified_profiles",
                query_df("select profile_id, email, phone, source_record_count from unified_profiles"),
                expectations.profiles_expectations(max_size),
            ),
            Validation(
                "profile_links",
                query_df("select record_key, profile_id, matched_by from profile_links"),
                expectations.profile_links_expectations(),
            ),
            Validation(
                "profile_reconciliation",
                query_df(PROFILE_RECONCILIATION_SQL),
                expectations.profile_reconciliation_expectations(),
            ),
        ]
    }


def validate(s3, interval: dict[str, str]) -> list[dict]:
    """Every checkpoint of the interval through the gate: raises QualityGateFailed on a failed expectation."""
    checkpoints = {**validate_engagement(s3, interval), **validate_profiles()}
    return gate(checkpoints, *intervals.from_dbt_vars(interval))
