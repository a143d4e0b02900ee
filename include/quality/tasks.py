"""The build DAG's gates: validate (every checkpoint) and validate_suppressions (the SES suppression
list's own), each a table read from the warehouse.

The tables are read through the warehouse seam (include/warehouse/seam.py): DuckDB locally,
Athena when dbt's target is, with the same SQL.
"""

from __future__ import annotations

import pandas as pd

from include import intervals, settings, streams
from include.identity.model import load_spec
from include.quality import expectations
from include.quality.gate import Validation, gate
from include.quality.reconciliation import manifest_counts, reconciliation_frame
from include.warehouse.seam import Warehouse, warehouse

INTERVAL_SQL = "ingest_hour >= ? and ingest_hour < ?"
# engagement_events' arrays and maps, read as JSON (either engine gives them back as lists and dicts).
EVENT_JSON_COLUMNS = ("destination_address", "tags", "channel_data")
# The streams suppression_list is made of: SES's bounces and complaints.
SUPPRESSION_STREAMS = ("ses",)


def engagement_events(wh: Warehouse, bounds: list) -> pd.DataFrame:
    """The interval's engagement_events with every column the mart has: the suite checks the set."""
    relation = wh.relation("engagement_events")
    columns = wh.query_df(f"select * from {relation} where 1 = 0").columns
    select = ", ".join(f'cast("{c}" as json) as "{c}"' if c in EVENT_JSON_COLUMNS else f'"{c}"' for c in columns)
    return wh.query_df(f"select {select} from {relation} where {INTERVAL_SQL}", bounds)


def landing_reconciliation(s3, wh: Warehouse, interval: dict[str, str], stream_names: list[str]) -> pd.DataFrame:
    """The streams' manifests beside the warehouse's landing_reconciliation rows, hour by hour of the interval."""
    start, end = intervals.from_dbt_vars(interval)
    rows = wh.query_df(
        f"select * from {wh.relation('landing_reconciliation')} where {INTERVAL_SQL}",
        [start.replace(tzinfo=None), end.replace(tzinfo=None)],
    )
    return reconciliation_frame(
        manifest_counts(
            s3,
            settings.RAW_BUCKET,
            stream_names,
            list(pd.date_range(start, end, freq="h", inclusive="left").to_pydatetime()),
        ),
        rows[rows["stream"].isin(stream_names)],
    )


def validate_engagement(s3, interval: dict[str, str], wh: Warehouse | None = None) -> dict[str, list[Validation]]:
    """The landing and canonical_events checkpoints of the interval, for the gate."""
    wh = wh or warehouse()
    start, end = intervals.from_dbt_vars(interval)
    events = engagement_events(wh, [start.replace(tzinfo=None), end.replace(tzinfo=None)])
    reconciled = landing_reconciliation(s3, wh, interval, list(streams.RAW_STREAMS))
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


def newest_calibration(wh: Warehouse) -> pd.DataFrame:
    """The identity model's newest calibration: one row, or none while there are too few records."""
    calibrations = wh.relation("identity_model_calibrations")
    return wh.query_df(
        f"select distinct calibration_id, records, degenerate_reason from {calibrations}"
        f" where calibration_id = (select max(calibration_id) from {calibrations})"
    )


def validate_profiles(wh: Warehouse | None = None) -> dict[str, list[Validation]]:
    """The profiles checkpoint: ids, identifier formats, profile sizes, every record linked once, and
    the identity model's newest calibration (a warning)."""
    wh = wh or warehouse()
    max_size = load_spec()["max_profile_size"]
    return {
        "profiles": [
            Validation(
                "unified_profiles",
                wh.query_df(
                    f"select profile_id, email, phone, source_record_count from {wh.relation('unified_profiles')}"
                ),
                expectations.profiles_expectations(max_size),
            ),
            Validation(
                "profile_links",
                wh.query_df(f"select record_key, profile_id, matched_by from {wh.relation('profile_links')}"),
                expectations.profile_links_expectations(),
            ),
            Validation(
                "identity_model_calibrations", newest_calibration(wh), expectations.identity_calibration_expectations()
            ),
            Validation(
                "profile_reconciliation",
                # One row, the dbt model profile_reconciliation: records, linked records, dangling links.
                wh.query_df(f"select * from {wh.relation('profile_reconciliation')}"),
                expectations.profile_reconciliation_expectations(),
            ),
        ]
    }


def validate_suppressions(s3, interval: dict[str, str]) -> list[dict]:
    """The suppressions checkpoint through the gate: what the SES suppression sync waits on, and no
    more. suppression_list itself, and the interval's SES landing reconciled (suppression_list reads
    every SES event landed: an hour lost would take its addresses off the list)."""
    wh = warehouse()
    suppressions = wh.query_df(f"select email_address, reason from {wh.relation('suppression_list')}")
    return gate(
        {
            "suppressions": [
                Validation("suppression_list", suppressions, expectations.suppression_list_expectations()),
                Validation(
                    "ses_landing_reconciliation",
                    landing_reconciliation(s3, wh, interval, list(SUPPRESSION_STREAMS)),
                    expectations.reconciliation_expectations(),
                ),
            ]
        },
        *intervals.from_dbt_vars(interval),
    )


def validate(s3, interval: dict[str, str]) -> list[dict]:
    """Every checkpoint of the interval through the gate: raises QualityGateFailed on a failed expectation."""
    wh = warehouse()
    checkpoints = {**validate_engagement(s3, interval, wh), **validate_profiles(wh)}
    return gate(checkpoints, *intervals.from_dbt_vars(interval))
