"""The Great Expectations gate on small frames: good data passes, each kind of bad data fails by name."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from include import quality

START, END = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 12, tzinfo=UTC)
IN_INTERVAL_MS = int(datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp() * 1000)


def events(**overrides) -> pd.DataFrame:
    row = {column: None for column in quality.ENGAGEMENT_EVENT_COLUMNS} | {
        "event_id": "e1", "message_id": "m1", "type": "Send", "channel": "email", "timestamp": IN_INTERVAL_MS,
        "ingest_hour": datetime(2026, 11, 20, 10), "destination_address": ["a@example.com"],
    }  # fmt: skip
    second = row | {"event_id": "e2", "channel": "text", "destination_address": ["+447700900123"]}
    return pd.DataFrame([row | overrides, second])


def gate(frame: pd.DataFrame) -> dict:
    return quality.gate("engagement_events", frame, quality.engagement_events_expectations(START, END))


def test_good_events_pass():
    assert gate(events()) == {"suite": "engagement_events", "rows": 2, "expectations": 9, "failed": 0}


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"event_id": "e2"}, "expect_column_values_to_be_unique on event_id"),
        ({"channel": "fax"}, "expect_column_values_to_be_in_set on channel"),
        ({"timestamp": int(END.timestamp() * 1000) + 3_600_000}, "expect_column_values_to_be_between on timestamp"),
        ({"ingest_hour": datetime(2026, 11, 20, 12)}, "expect_column_values_to_be_between on ingest_hour"),
        ({"message_id": None}, "expect_column_values_to_not_be_null on message_id"),
    ],
)
def test_bad_events_fail_naming_the_expectation(overrides, named):
    with pytest.raises(quality.QualityGateFailed, match=named):
        gate(events(**overrides))


def test_a_missing_column_fails_the_schema_check():
    with pytest.raises(quality.QualityGateFailed, match="expect_table_columns_to_match_set"):
        gate(events().drop(columns=["iso_country_code"]))


@pytest.mark.parametrize("address,ok", [("+447700900123", True), ("07700 900123", False), ("+0123", False)])
def test_phone_destinations_must_be_e164(address, ok):
    frame = quality.destinations(events(channel="text", destination_address=[address]), quality.PHONE_CHANNELS)
    if ok:
        quality.gate("phone_destinations", frame.iloc[:1], quality.destination_expectations("phone"))
    else:
        with pytest.raises(quality.QualityGateFailed, match="match_regex"):
            quality.gate("phone_destinations", frame, quality.destination_expectations("phone"))


def test_reconciliation_fails_when_counts_differ():
    manifests = pd.DataFrame([{"stream": "ses", "ingest_hour": datetime(2026, 11, 20, 10),
                               "manifest_landed": 10, "manifest_quarantined": 1}])  # fmt: skip
    warehouse = pd.DataFrame([{"stream": "ses", "ingest_hour": datetime(2026, 11, 20, 10), "raw_records": 10,
                               "events": 10, "distinct_events": 9, "new_events": 9, "canonical_events": 9,
                               "quarantined_records": 1}])  # fmt: skip
    frame = quality.reconciliation_frame(manifests, warehouse)
    assert quality.gate("landing_reconciliation", frame, quality.reconciliation_expectations())["failed"] == 0
    lost = quality.reconciliation_frame(manifests, warehouse.assign(canonical_events=8))
    with pytest.raises(quality.QualityGateFailed, match="column_pair_values_to_be_equal"):
        quality.gate("landing_reconciliation", lost, quality.reconciliation_expectations())
    # A manifest with no warehouse rows at all (the build lost an hour) fails too.
    missing = quality.reconciliation_frame(manifests, warehouse.iloc[0:0])
    with pytest.raises(quality.QualityGateFailed):
        quality.gate("landing_reconciliation", missing, quality.reconciliation_expectations())


def _profiles(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "profile_id": ["p-1", "p-2", "p-3"],
            "email": ["ana@example.com", None, "ben@example.org"],
            "phone": ["+447700900123", "+12065550100", None],
            "source_record_count": [3, 1, 12],
        }
    )
    for column, value in overrides.items():
        frame.loc[0, column] = value
    return frame


def test_good_profiles_pass():
    assert quality.gate("unified_profiles", _profiles(), quality.profiles_expectations(50))["failed"] == 0


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"profile_id": "p-2"}, "expect_column_values_to_be_unique on profile_id"),
        ({"email": "not-an-email"}, "expect_column_values_to_match_regex on email"),
        ({"phone": "07700900123"}, "expect_column_values_to_match_regex on phone"),
        ({"source_record_count": 51}, "expect_column_values_to_be_between on source_record_count"),
    ],
)
def test_bad_profiles_fail_naming_the_expectation(overrides, named):
    with pytest.raises(quality.QualityGateFailed, match=named):
        quality.gate("unified_profiles", _profiles(**overrides), quality.profiles_expectations(50))


def test_profile_reconciliation_fails_when_a_record_is_not_linked():
    counts = pd.DataFrame({"source_records": [10], "linked_records": [9], "links_to_missing_profiles": [0]})
    with pytest.raises(quality.QualityGateFailed, match="expect_column_pair_values_to_be_equal"):
        quality.gate("profile_reconciliation", counts, quality.profile_reconciliation_expectations())
    counts["linked_records"] = 10
    assert quality.gate("profile_reconciliation", counts, quality.profile_reconciliation_expectations())["failed"] == 0
