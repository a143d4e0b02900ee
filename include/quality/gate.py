"""Great Expectations suites and checkpoints for the warehouse, and the gate that stops a run when one fails.

Suites validate pandas DataFrames fetched from the warehouse: GX's SQL path through
duckdb_engine is broken (GX #10738, #11579), so locally the interval's rows are fetched first.
A checkpoint groups suites (landing, canonical_events, profiles); each run writes its results
and data docs pages (include/quality/data_docs.py).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from include.landing.land import MANIFEST_PREFIX, partition_prefix

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

log = logging.getLogger(__name__)

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
CHANNELS = ["email", "text", "media", "voice", "whatsapp"]
PHONE_CHANNELS = ["text", "media", "voice", "whatsapp"]
E164 = r"^\+[1-9][0-9]{1,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# An event may reach us long after it happened (SES retries for hours), never after it landed.
MAX_EVENT_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)


class QualityGateFailed(Exception):
    """A suite failed: the message names each failed expectation and sample offending values."""


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None
    unexpected_count: int | None
    sample: list

    def __str__(self) -> str:
        where = f" on {self.column}" if self.column else ""
        if self.unexpected_count is None:  # a table-level expectation: show what it saw
            return f"{self.expectation}{where}: observed {self.sample[:5]}"
        return f"{self.expectation}{where}: {self.unexpected_count} unexpected, e.g. {self.sample[:5]}"


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def engagement_events_expectations(start: datetime, end: datetime) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=ENGAGEMENT_EVENT_COLUMNS, exact_match=True),
        gxe.ExpectColumnValuesToNotBeNull(column="event_id"),
        gxe.ExpectColumnValuesToBeUnique(column="event_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="message_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="type"),
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=CHANNELS),
        gxe.ExpectColumnValuesToNotBeNull(column="timestamp"),
        gxe.ExpectColumnValuesToBeBetween(
            column="timestamp", min_value=_epoch_ms(start - MAX_EVENT_AGE), max_value=_epoch_ms(end + CLOCK_SKEW)
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
    """One row per (event, destination address) of the given channels."""
    frame = events.loc[events["channel"].isin(channels), ["event_id", "destination_address"]]
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


def profile_reconciliation_expectations() -> list:
    """Every source record linked exactly once, and no link to a profile that does not exist."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnPairValuesToBeEqual(column_A="source_records", column_B="linked_records"),
        gxe.ExpectColumnValuesToBeBetween(column="links_to_missing_profiles", min_value=0, max_value=0),
    ]


@dataclass(frozen=True)
class Validation:
    """One validation definition of a checkpoint: a suite and the frame it validates."""

    suite: str
    frame: pd.DataFrame
    expectations: list


@dataclass(frozen=True)
class Outcome:
    """What one suite of a checkpoint run found, and the data docs page that shows it."""

    checkpoint: str
    suite: str
    rows: int
    expectations: int
    failures: list[Failure]
    docs: str

    def summary(self) -> dict:
        return {
            "checkpoint": self.checkpoint,
            "suite": self.suite,
            "rows": self.rows,
            "expectations": self.expectations,
            "failed": len(self.failures),
            "docs": self.docs,
        }

    def __str__(self) -> str:
        return (
            f"{self.checkpoint}/{self.suite}: {len(self.failures)} of {self.expectations} expectations failed on "
            f"{self.rows} rows (page: {self.docs}):\n" + "\n".join(f"  - {f}" for f in self.failures)
        )


def run_name(start: datetime, end: datetime) -> str:
    return f"{start:%Y%m%dT%H}-{end:%Y%m%dT%H}"


def run_checkpoints(
    checkpoints: dict[str, list[Validation]], start: datetime, end: datetime, project_config=None
) -> tuple[list[Outcome], str]:
    """Run each checkpoint, then build the data docs pages of every result; returns the outcomes and the index page.

    The run is named after the interval and timed at its end, so re-running an interval replaces
    its results and pages. project_config defaults to data_docs.project_config().
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from include.quality import data_docs

    context = gx.get_context(mode="ephemeral", project_config=project_config or data_docs.project_config())
    # A checkpoint run passes one set of batch parameters to all its validation definitions, so
    # an in-memory DataFrame asset would see one frame: each frame is read from its own pickle.
    source = context.data_sources.add_pandas("warehouse")
    run_id = RunIdentifier(run_name=run_name(start, end), run_time=end)
    outcomes, pages = [], []
    with tempfile.TemporaryDirectory(prefix="c360-gx-") as batches:
        for checkpoint_name, validations in checkpoints.items():
            definitions = []
            for validation in validations:
                path = Path(batches) / f"{validation.suite}.pickle"
                validation.frame.to_pickle(path)
                asset = source.add_pickle_asset(validation.suite, filepath_or_buffer=path)
                suite = context.suites.add(
                    gx.ExpectationSuite(name=validation.suite, expectations=validation.expectations)
                )
                definition = gx.ValidationDefinition(
                    name=validation.suite,
                    data=asset.add_batch_definition_whole_dataframe(validation.suite),
                    suite=suite,
                )
                definitions.append(context.validation_definitions.add(definition))
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(name=checkpoint_name, validation_definitions=definitions)
            )
            rows = {validation.suite: len(validation.frame) for validation in validations}
            for key, result in checkpoint.run(run_id=run_id).run_results.items():
                pages += [key, ExpectationSuiteIdentifier(name=result.suite_name)]
                (page,) = context.get_docs_sites_urls(
                    resource_identifier=key, site_names=[data_docs.SITE_NAME], only_if_exists=False
                )
                outcomes.append(
                    Outcome(
                        checkpoint_name,
                        result.suite_name,
                        rows[result.suite_name],
                        len(result.results),
                        failures(result),
                        page["site_url"],
                    )
                )
    if pruned := data_docs.prune_results(context, end):
        log.info("data docs: removed %d validation results past the retention", pruned)
    # One site build for the whole gate, not GX's UpdateDataDocsAction per result: each build
    # re-renders the index (reading up to INDEX_LIMIT results) and re-copies the static assets.
    context.build_data_docs(site_names=[data_docs.SITE_NAME], resource_identifiers=pages)
    (index,) = context.get_docs_sites_urls(site_names=[data_docs.SITE_NAME], only_if_exists=False)
    return outcomes, index["site_url"]


def failures(result) -> list[Failure]:
    found = []
    for r in result.results:
        if r.success:
            continue
        detail = r.result or {}
        kwargs = r.expectation_config.kwargs
        sample = detail.get("partial_unexpected_list") or (
            [detail["observed_value"]] if "observed_value" in detail else []
        )
        found.append(
            Failure(
                r.expectation_config.type,
                kwargs.get("column") or kwargs.get("column_A"),
                detail.get("unexpected_count"),
                list(sample),
            )
        )
    return found


def gate(checkpoints: dict[str, list[Validation]], start: datetime, end: datetime, project_config=None) -> list[dict]:
    """Run every checkpoint, then raise QualityGateFailed naming each failed expectation and its page.

    All checkpoints run before the gate decides, so the data docs show every failure at once.
    Returns one summary per suite.
    """
    outcomes, index = run_checkpoints(checkpoints, start, end, project_config)
    for outcome in outcomes:
        log.info("quality %s", json.dumps(outcome.summary()))
    if failed := [outcome for outcome in outcomes if outcome.failures]:
        raise QualityGateFailed("\n".join(map(str, failed)) + f"\ndata docs: {index}")
    return [outcome.summary() for outcome in outcomes]


def manifest_counts(s3, raw_bucket: str, streams: list[str], hours: list[datetime]) -> pd.DataFrame:
    """Landed and quarantined counts per stream and hour, from the landing manifests."""
    rows = []
    for stream in streams:
        for hour in hours:
            key = f"{MANIFEST_PREFIX}/{partition_prefix(stream, hour)}manifest.json"
            try:
                manifest = json.loads(s3.get_object(Bucket=raw_bucket, Key=key)["Body"].read())
            except s3.exceptions.NoSuchKey:
                continue
            rows.append(
                {
                    "stream": stream,
                    "ingest_hour": hour.replace(tzinfo=None),
                    "manifest_landed": manifest["landed"],
                    "manifest_quarantined": manifest["quarantined"],
                }
            )
    return pd.DataFrame(rows, columns=["stream", "ingest_hour", "manifest_landed", "manifest_quarantined"])


def reconciliation_frame(manifests: pd.DataFrame, warehouse: pd.DataFrame) -> pd.DataFrame:
    """Manifests joined to the warehouse's landing_reconciliation rows; a side missing counts as 0."""
    frame = manifests.merge(warehouse, on=["stream", "ingest_hour"], how="outer")
    counts = [
        "manifest_landed",
        "manifest_quarantined",
        "raw_records",
        "events",
        "distinct_events",
        "new_events",
        "canonical_events",
        "quarantined_records",
    ]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    return frame
