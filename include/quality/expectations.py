"""What each suite expects: the Great Expectations expectations of the checkpoints, and their limits.

Suites: engagement_events and the destination addresses of each channel (the canonical_events
checkpoint), landing_reconciliation (landing), unified_profiles, profile_links,
identity_model_calibrations and profile_reconciliation (profiles); suppression_list and
ses_landing_reconciliation (suppressions, the checkpoint the SES suppression sync waits on).
Expectations are built per run: some bounds are the run's interval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

ENGAGEMENT_EVENT_COLUMNS = [
    "event_id",
    "account_id",
    "organization_id",
    "sending_id",
    "sending_address",
    "destination_address",
    "channel",
    "type",
    "status",
    "status_code",
    "status_message",
    "raw_status",
    "timestamp",
    "message_id",
    "tags",
    "channel_data",
    "iso_country_code",
    "raw_event",
    "stream",
    "ingest_hour",
]
# The columns whose offending values the gate shows as they are: codes, the ids this pipeline mints
# or AWS assigns to a message. Any other column's text is masked (masking.py) before it reaches a
# validation result, the data docs, the log or an alert; numbers and times are shown.
UNMASKED_COLUMNS = frozenset(
    {
        "event_id",
        "message_id",
        "channel",
        "type",
        "status",
        "stream",
        "profile_id",
        "matched_by",
        "reason",
        "degenerate_reason",
    }
)
CHANNELS = ["email", "text", "media", "voice", "whatsapp"]
SUPPRESSION_REASONS = ["BOUNCE", "COMPLAINT"]
PHONE_CHANNELS = ["text", "media", "voice", "whatsapp"]
E164 = r"^\+[1-9][0-9]{1,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# An event usually reaches us within hours of happening (SES retries for hours) and never long after
# it landed; one outside these bounds (an archive replayed, a receipt days late) is counted by a
# warning-level expectation, never a failed gate (docs/canonical-events.md, "Edge cases").
MAX_EVENT_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)
# What landing lets through at all (include/landing/records.py): from 2000 to a day after the ingest hour.
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AFTER_INGEST = timedelta(days=1)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def engagement_events_expectations(start: datetime, end: datetime) -> list:
    """``type`` may be null (an SMS/voice event without messageType); an event time far from its
    ingest hour is a warning (counted on the gate's summary), an impossible one a failure."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=ENGAGEMENT_EVENT_COLUMNS, exact_match=True),
        gxe.ExpectColumnValuesToNotBeNull(column="event_id"),
        gxe.ExpectColumnValuesToBeUnique(column="event_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="message_id"),
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=CHANNELS),
        gxe.ExpectColumnValuesToNotBeNull(column="timestamp"),
        gxe.ExpectColumnValuesToBeBetween(
            column="timestamp",
            min_value=_epoch_ms(EARLIEST_EVENT),
            max_value=_epoch_ms(end + LATEST_AFTER_INGEST),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="timestamp",
            min_value=_epoch_ms(start - MAX_EVENT_AGE),
            max_value=_epoch_ms(end + CLOCK_SKEW),
            severity="warning",
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="ingest_hour",
            min_value=start.replace(tzinfo=None),
            max_value=(end - timedelta(hours=1)).replace(tzinfo=None),
        ),
    ]


def destination_expectations(channel_kind: str) -> list:
    """Every destination address of a phone channel is E.164; of email, an address."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="address"),
        gxe.ExpectColumnValuesToMatchRegex(column="address", regex=E164 if channel_kind == "phone" else EMAIL),
    ]


def destinations(events: pd.DataFrame, channels: list[str]) -> pd.DataFrame:
    """One row per (event, destination address) of the given channels: the destinations present (an
    SMS/voice event without destinationPhoneNumber has none, and nothing to check)."""
    frame = events.loc[events["channel"].isin(channels), ["event_id", "destination_address"]]
    frame = frame[frame["destination_address"].map(lambda found: found is not None and len(found) > 0).astype(bool)]
    return frame.explode("destination_address").rename(columns={"destination_address": "address"})


def reconciliation_expectations() -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnPairValuesToBeEqual(column_A=left, column_B=right)
        for left, right in [
            ("manifest_landed", "raw_records"),
            ("manifest_quarantined", "quarantined_records"),
            ("new_events", "canonical_events"),
        ]
    ]


def suppression_list_expectations() -> list:
    """suppression_list: one row per address, each with a reason SES takes. An address that is not one
    is a warning: SES refuses that one entry (the sync counts it), the others must still go."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="email_address"),
        gxe.ExpectColumnValuesToBeUnique(column="email_address"),
        gxe.ExpectColumnValuesToBeInSet(column="reason", value_set=SUPPRESSION_REASONS),
        gxe.ExpectColumnValuesToMatchRegex(column="email_address", regex=EMAIL, severity="warning"),
    ]


def profiles_expectations(max_profile_size: int) -> list:
    """unified_profiles: unique ids, identifier formats, no profile above the size cap."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="profile_id"),
        gxe.ExpectColumnValuesToBeUnique(column="profile_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL),
        gxe.ExpectColumnValuesToMatchRegex(column="phone", regex=E164),
        gxe.ExpectColumnValuesToBeBetween(column="source_record_count", min_value=1, max_value=max_profile_size),
    ]


def profile_links_expectations() -> list:
    """profile_links: one row per source record, each pointing at a profile."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="record_key"),
        gxe.ExpectColumnValuesToBeUnique(column="record_key"),
        gxe.ExpectColumnValuesToNotBeNull(column="profile_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="matched_by"),
    ]


def identity_calibration_expectations() -> list:
    """The newest calibration of the identity model: a degenerate one is not used (the build
    keeps the last good one) and is a warning, its reason shown."""
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeNull(column="degenerate_reason", severity="warning")]


def profile_reconciliation_expectations() -> list:
    """Every source record linked exactly once, and no link to a profile that does not exist."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnPairValuesToBeEqual(column_A="source_records", column_B="linked_records"),
        gxe.ExpectColumnValuesToBeBetween(column="links_to_missing_profiles", min_value=0, max_value=0),
    ]
