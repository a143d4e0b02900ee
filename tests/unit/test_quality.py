"""The Great Expectations checkpoints on small frames: good data passes, each kind of bad data fails by name,
and a failed checkpoint's data docs page shows the failure, its identifiers masked."""

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from include import settings
from include.quality import data_docs
from include.quality.expectations import (
    ENGAGEMENT_EVENT_COLUMNS,
    PHONE_CHANNELS,
    destination_expectations,
    destinations,
    engagement_events_expectations,
    identity_calibration_expectations,
    profile_links_expectations,
    profile_reconciliation_expectations,
    profiles_expectations,
    reconciliation_expectations,
    suppression_list_expectations,
)
from include.quality.gate import QualityGateFailed, Validation, gate, run_name
from include.quality.reconciliation import reconciliation_frame

START, END = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 12, tzinfo=UTC)
IN_INTERVAL_MS = int(datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp() * 1000)


def events(**overrides) -> pd.DataFrame:
    row = {column: None for column in ENGAGEMENT_EVENT_COLUMNS} | {
        "event_id": "e1", "message_id": "m1", "type": "Send", "channel": "email", "timestamp": IN_INTERVAL_MS,
        "ingest_hour": datetime(2026, 11, 20, 10), "destination_address": ["a@example.com"],
    }  # fmt: skip
    second = row | {"event_id": "e2", "channel": "text", "destination_address": ["+447700900123"]}
    return pd.DataFrame([row | overrides, second])


@pytest.fixture
def var_dir(tmp_path) -> Path:
    return tmp_path


def check(var_dir: Path, suite: str, frame: pd.DataFrame, expectations: list, checkpoint: str = "checks") -> dict:
    """One suite as a one-suite checkpoint, docs under var_dir; returns its summary."""
    (summary,) = gate(
        {checkpoint: [Validation(suite, frame, expectations)]},
        START,
        END,
        data_docs.project_config(s3_prefix="", var_dir=var_dir),
    )
    return summary


def gate_events(var_dir: Path, frame: pd.DataFrame) -> dict:
    return check(var_dir, "engagement_events", frame, engagement_events_expectations(START, END))


def page_text(url: str) -> str:
    """The visible text of a written page (tags and scripts removed, whitespace collapsed)."""
    html = Path(urlparse(url).path).read_text()
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_good_events_pass(var_dir):
    summary = gate_events(var_dir, events())
    page = var_dir / "reports/data_docs/validations/engagement_events/20261120T10-20261120T12"
    assert summary == {
        "checkpoint": "checks", "suite": "engagement_events", "rows": 2, "expectations": 9, "failed": 0,
        "warnings": [], "docs": (page / "20261120T120000.000000Z/warehouse-engagement_events.html").as_uri(),
    }  # fmt: skip
    assert Path(urlparse(summary["docs"]).path).is_file()


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"event_id": "e2"}, "expect_column_values_to_be_unique on event_id"),
        ({"channel": "fax"}, "expect_column_values_to_be_in_set on channel"),
        (
            {"timestamp": int((END + timedelta(days=1, hours=1)).timestamp() * 1000)},
            "expect_column_values_to_be_between on timestamp",
        ),
        (
            {"timestamp": int(datetime(1999, 12, 31, tzinfo=UTC).timestamp() * 1000)},
            "expect_column_values_to_be_between on timestamp",
        ),
        ({"ingest_hour": datetime(2026, 11, 20, 12)}, "expect_column_values_to_be_between on ingest_hour"),
        ({"message_id": None}, "expect_column_values_to_not_be_null on message_id"),
    ],
)
def test_bad_events_fail_naming_the_expectation(var_dir, overrides, named):
    with pytest.raises(QualityGateFailed, match=named):
        gate_events(var_dir, events(**overrides))


@pytest.mark.parametrize(
    "moment",
    [datetime(2017, 8, 5, tzinfo=UTC), START - timedelta(days=8), END + timedelta(hours=1)],
)
def test_an_event_far_from_its_ingest_hour_is_a_counted_warning_not_a_failure(var_dir, moment):
    late = int(moment.timestamp() * 1000)
    summary = gate_events(var_dir, events(timestamp=late))
    assert summary["failed"] == 0
    assert summary["warnings"] == [f"expect_column_values_to_be_between on timestamp: 1 unexpected, e.g. [{late}]"]


def test_an_event_without_type_or_destination_passes(var_dir):
    frame = events(channel="voice", type=None, destination_address=[])
    assert gate_events(var_dir, frame)["failed"] == 0
    phones = destinations(frame, PHONE_CHANNELS)
    assert list(phones["address"]) == ["+447700900123"]  # the second event's; the first has none to check
    assert check(var_dir, "phone_destinations", phones, destination_expectations("phone"))["failed"] == 0


def test_a_missing_column_fails_the_schema_check(var_dir):
    with pytest.raises(QualityGateFailed, match="expect_table_columns_to_match_set"):
        gate_events(var_dir, events().drop(columns=["iso_country_code"]))


@pytest.mark.parametrize("address,ok", [("+447700900123", True), ("07700 900123", False), ("+0123", False)])
def test_phone_destinations_must_be_e164(var_dir, address, ok):
    frame = destinations(events(channel="text", destination_address=[address]), PHONE_CHANNELS)
    if ok:
        check(var_dir, "phone_destinations", frame.iloc[:1], destination_expectations("phone"))
    else:
        with pytest.raises(QualityGateFailed, match="match_regex"):
            check(var_dir, "phone_destinations", frame, destination_expectations("phone"))


def test_reconciliation_fails_when_counts_differ(var_dir):
    manifests = pd.DataFrame([{"stream": "ses", "ingest_hour": datetime(2026, 11, 20, 10),
                               "manifest_landed": 10, "manifest_quarantined": 1}])  # fmt: skip
    warehouse = pd.DataFrame([{"stream": "ses", "ingest_hour": datetime(2026, 11, 20, 10), "raw_records": 10,
                               "events": 10, "distinct_events": 9, "new_events": 9, "canonical_events": 9,
                               "quarantined_records": 1}])  # fmt: skip
    frame = reconciliation_frame(manifests, warehouse)
    assert check(var_dir, "landing_reconciliation", frame, reconciliation_expectations())["failed"] == 0
    lost = reconciliation_frame(manifests, warehouse.assign(canonical_events=8))
    with pytest.raises(QualityGateFailed, match="column_pair_values_to_be_equal"):
        check(var_dir, "landing_reconciliation", lost, reconciliation_expectations())
    # A manifest with no warehouse rows at all (the build lost an hour) fails too.
    missing = reconciliation_frame(manifests, warehouse.iloc[0:0])
    with pytest.raises(QualityGateFailed):
        check(var_dir, "landing_reconciliation", missing, reconciliation_expectations())


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


def test_good_profiles_pass(var_dir):
    assert check(var_dir, "unified_profiles", _profiles(), profiles_expectations(50))["failed"] == 0


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"profile_id": "p-2"}, "expect_column_values_to_be_unique on profile_id"),
        ({"email": "not-an-email"}, "expect_column_values_to_match_regex on email"),
        ({"phone": "07700900123"}, "expect_column_values_to_match_regex on phone"),
        ({"source_record_count": 51}, "expect_column_values_to_be_between on source_record_count"),
    ],
)
def test_bad_profiles_fail_naming_the_expectation(var_dir, overrides, named):
    with pytest.raises(QualityGateFailed, match=named):
        check(var_dir, "unified_profiles", _profiles(**overrides), profiles_expectations(50))


def test_profile_reconciliation_fails_when_a_record_is_not_linked(var_dir):
    counts = pd.DataFrame({"source_records": [10], "linked_records": [9], "links_to_missing_profiles": [0]})
    with pytest.raises(QualityGateFailed, match="expect_column_pair_values_to_be_equal"):
        check(var_dir, "profile_reconciliation", counts, profile_reconciliation_expectations())
    counts["linked_records"] = 10
    assert check(var_dir, "profile_reconciliation", counts, profile_reconciliation_expectations())["failed"] == 0


def test_a_degenerate_calibration_is_a_warning_naming_its_reason(var_dir):
    reason = "agreeing on birth_date counts against a match"
    newest = pd.DataFrame({"calibration_id": [3], "records": [5000], "degenerate_reason": [reason]})
    summary = check(var_dir, "identity_model_calibrations", newest, identity_calibration_expectations())
    assert summary["failed"] == 0
    assert summary["warnings"] == [
        f"expect_column_values_to_be_null on degenerate_reason: 1 unexpected, e.g. ['{reason}']"
    ]
    newest["degenerate_reason"] = None
    assert check(var_dir, "identity_model_calibrations", newest, identity_calibration_expectations())["warnings"] == []


def test_a_failing_frame_fails_its_checkpoint_and_its_page_shows_the_failure(var_dir):
    checkpoints = {
        "canonical_events": [
            Validation("engagement_events", events(channel="fax"), engagement_events_expectations(START, END)),
            Validation(
                "email_destinations",
                destinations(events(), ["email"]),
                destination_expectations("email"),
            ),
        ],
        # Validated although canonical_events failed: the docs show every failure of the run at once.
        "profiles": [Validation("unified_profiles", _profiles(phone="07700900123"), profiles_expectations(50))],
    }
    with pytest.raises(QualityGateFailed) as failed:
        gate(checkpoints, START, END, data_docs.project_config(s3_prefix="", var_dir=var_dir))

    message = str(failed.value)
    site = var_dir / "reports/data_docs"
    events_page = site / "validations/engagement_events/20261120T10-20261120T12/20261120T120000.000000Z"
    assert (
        "canonical_events/engagement_events: 1 of 9 expectations failed on 2 rows "
        f"(page: {(events_page / 'warehouse-engagement_events.html').as_uri()}):\n"
        "  - expect_column_values_to_be_in_set on channel: 1 unexpected, e.g. ['fax']"
    ) in message
    assert "profiles/unified_profiles: 1 of 5 expectations failed on 3 rows" in message
    assert "expect_column_values_to_match_regex on phone: 1 unexpected, e.g. ['07*******23']" in message
    assert "email_destinations" not in message  # it passed
    assert message.endswith(f"data docs: {(site / 'index.html').as_uri()}")

    # The page names the suite and the failed expectation (as GX words it) with the value it refused.
    text = page_text((events_page / "warehouse-engagement_events.html").as_uri())
    assert "Expectation Suite: engagement_events Data asset: None Status: Failed" in text
    assert "Unsuccessful Expectations 1" in text
    assert re.search(r"channel Status Expectation Observed Value values must belong to this set: email text media "
                     r"voice whatsapp \. 1 unexpected values found\. 50% of 2 total rows\. Unexpected Value Count "
                     r"fax 1", text)  # fmt: skip
    # The passing suite of the same checkpoint and the other checkpoint's suite have pages too.
    assert "Status: Succeeded" in page_text(
        (site / "validations/email_destinations/20261120T10-20261120T12/20261120T120000.000000Z/"
         "warehouse-email_destinations.html").as_uri()
    )  # fmt: skip
    assert (site / "expectations/unified_profiles.html").is_file()


def test_re_running_an_interval_replaces_its_results_and_pages(var_dir):
    def files() -> set[Path]:
        return {path.relative_to(var_dir) for path in var_dir.rglob("*") if path.is_file()}

    with pytest.raises(QualityGateFailed):
        gate_events(var_dir, events(channel="fax"))
    first = files()
    gate_events(var_dir, events())  # fixed data, same interval
    assert files() == first
    (result,) = (var_dir / "gx/validation_results/engagement_events").rglob("*.json")
    assert '"success": true' in result.read_text()


def test_results_past_the_retention_leave_with_their_pages(var_dir, monkeypatch):
    monkeypatch.setenv(settings.DATA_DOCS_RETENTION_DAYS_ENV, "30")

    def run(end: datetime) -> None:
        validation = Validation("unified_profiles", _profiles(), profiles_expectations(50))
        config = data_docs.project_config(s3_prefix="", var_dir=var_dir)
        gate({"profiles": [validation]}, end - timedelta(hours=1), end, config)

    def run_names(folder: str, suffix: str) -> list[str]:
        """The run names of the results (json) or pages (html) under folder: <suite>/<run name>/<run time>/<batch>."""
        return sorted(path.parent.parent.name for path in (var_dir / folder / "unified_profiles").rglob(f"*{suffix}"))

    first, second, third = END, END + timedelta(days=30), END + timedelta(days=31)
    names = [run_name(end - timedelta(hours=1), end) for end in (first, second, third)]
    run(first)
    run(second)  # exactly 30 days later: the first is kept
    assert run_names("gx/validation_results", ".json") == names[:2]
    assert run_names("reports/data_docs/validations", ".html") == names[:2]
    run(third)
    assert run_names("gx/validation_results", ".json") == names[1:]
    assert run_names("reports/data_docs/validations", ".html") == names[1:]
    assert names[0] not in (var_dir / "reports/data_docs/index.html").read_text()
    # A replay of the first interval prunes nothing newer than it.
    run(first)
    assert run_names("gx/validation_results", ".json") == sorted(names)


def test_suppression_list_needs_one_row_per_address_with_a_reason_ses_takes(var_dir):
    def suppressions(**overrides) -> pd.DataFrame:
        frame = pd.DataFrame(
            {"email_address": ["ana@example.com", "ben@example.org"], "reason": ["BOUNCE", "COMPLAINT"]}
        )
        for column, value in overrides.items():
            frame.loc[1, column] = value
        return frame

    assert check(var_dir, "suppression_list", suppressions(), suppression_list_expectations())["failed"] == 0
    for overrides, named in [
        ({"email_address": "ana@example.com"}, "expect_column_values_to_be_unique on email_address"),
        ({"email_address": None}, "expect_column_values_to_not_be_null on email_address"),
        ({"reason": "OTHER"}, "expect_column_values_to_be_in_set on reason: 1 unexpected, e.g. ['OTHER']"),
    ]:
        with pytest.raises(QualityGateFailed, match=re.escape(named)):
            check(var_dir, "suppression_list", suppressions(**overrides), suppression_list_expectations())
    # An address SES would refuse is that entry's problem, not every suppression's: a warning, masked.
    summary = check(
        var_dir, "suppression_list", suppressions(email_address="ben@example"), suppression_list_expectations()
    )
    assert summary["failed"] == 0
    assert summary["warnings"] == [
        "expect_column_values_to_match_regex on email_address: 1 unexpected, e.g. ['b***@e***']"
    ]


RAW_EMAIL, RAW_PHONE = "john.smith@example", "07700 900156"


def test_offending_identifiers_are_masked_in_the_message_results_pages_and_log(var_dir, caplog):
    frame = _profiles(email=RAW_EMAIL, phone=RAW_PHONE)
    # One offending value per column, another raw one beside it in the same rows (a record key).
    links = pd.DataFrame(
        {"record_key": ["ses:john.smith@example.com"] * 2, "profile_id": ["p-1"] * 2, "matched_by": ["x"] * 2}
    )
    checkpoints = {
        "profiles": [
            Validation("unified_profiles", frame, profiles_expectations(50)),
            Validation("profile_links", links, profile_links_expectations()),
        ]
    }
    with caplog.at_level(logging.INFO), pytest.raises(QualityGateFailed) as failed:
        gate(checkpoints, START, END, data_docs.project_config(s3_prefix="", var_dir=var_dir))

    message = str(failed.value)
    assert "expect_column_values_to_match_regex on email: 1 unexpected, e.g. ['j***@e***']" in message
    assert "expect_column_values_to_match_regex on phone: 1 unexpected, e.g. ['07*******56']" in message
    masked_keys = "['s***@e***.com', 's***@e***.com']"
    assert f"expect_column_values_to_be_unique on record_key: 2 unexpected, e.g. {masked_keys}" in message
    # The page shows the masked values where GX shows any sample (the control that the check can see them).
    page = page_text(next((var_dir / "reports/data_docs/validations/unified_profiles").rglob("*.html")).as_uri())
    assert "Unexpected Value Count j***@e*** 1" in page and "Unexpected Value Count 07*******56 1" in page
    written = [path for path in var_dir.rglob("*") if path.is_file() and path.suffix in (".json", ".html")]
    assert any(path.parent.parent.parent.name == "profile_links" for path in written if path.suffix == ".json")
    raw = ("john", "900156", "07700")
    for text, where in [(message, "message"), (caplog.text, "log"), *((p.read_text(), p) for p in written)]:
        assert not any(value in text for value in raw), where
