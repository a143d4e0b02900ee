"""Great Expectations checkpoints for the warehouse, and the gate that stops a run when one fails.

Suites (expectations.py) validate pandas DataFrames fetched from the warehouse: GX's SQL path
through duckdb_engine is broken (GX #10738, #11579), so locally the interval's rows are fetched
first. A checkpoint groups suites (landing, canonical_events, profiles; suppressions on its own);
each run writes its results and data docs pages (include/quality/data_docs.py).

No offending value is kept as it came: GX is asked for the offending rows' positions only
(RESULT_FORMAT), and the gate writes those rows' values, masked (masking.py), into the results
before the data docs are built from them; the gate's message, its log lines and the alert carry
the same masked samples.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from include.quality.expectations import UNMASKED_COLUMNS
from include.quality.masking import mask

log = logging.getLogger(__name__)

# GX keeps the positions of up to 20 offending rows and none of their values (SUMMARY keeps the
# values otherwise, and stores them in the results the data docs are built from).
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20, "exclude_unexpected_values": True}


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


@dataclass(frozen=True)
class Validation:
    """One validation definition of a checkpoint: a suite and the frame it validates."""

    suite: str
    frame: pd.DataFrame
    expectations: list


@dataclass(frozen=True)
class Outcome:
    """What one suite of a checkpoint run found, and the data docs page that shows it. ``warnings``:
    the failed expectations of severity warning (counted, never failing the gate)."""

    checkpoint: str
    suite: str
    rows: int
    expectations: int
    failures: list[Failure]
    docs: str
    warnings: list[Failure] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "checkpoint": self.checkpoint,
            "suite": self.suite,
            "rows": self.rows,
            "expectations": self.expectations,
            "failed": len(self.failures),
            "warnings": [str(warning) for warning in self.warnings],
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
            definitions, frames = [], {}
            for validation in validations:
                # Positions GX reports are the frame's index: made unique (an exploded frame repeats it).
                frames[validation.suite] = validation.frame.reset_index(drop=True)
                path = Path(batches) / f"{validation.suite}.pickle"
                frames[validation.suite].to_pickle(path)
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
                gx.Checkpoint(name=checkpoint_name, validation_definitions=definitions, result_format=RESULT_FORMAT)
            )
            for key, result in checkpoint.run(run_id=run_id).run_results.items():
                frame = frames[result.suite_name]
                add_masked_samples(result, frame)
                context.validation_results_store.set(key, result)
                pages += [key, ExpectationSuiteIdentifier(name=result.suite_name)]
                (page,) = context.get_docs_sites_urls(
                    resource_identifier=key, site_names=[data_docs.SITE_NAME], only_if_exists=False
                )
                outcomes.append(
                    Outcome(
                        checkpoint_name,
                        result.suite_name,
                        len(frame),
                        len(result.results),
                        failures(result),
                        page["site_url"],
                        failures(result, severity="warning"),
                    )
                )
    if pruned := data_docs.prune_results(context, end):
        log.info("data docs: removed %d validation results past the retention", pruned)
    # One site build for the whole gate, not GX's UpdateDataDocsAction per result: each build
    # re-renders the index (reading up to INDEX_LIMIT results) and re-copies the static assets.
    context.build_data_docs(site_names=[data_docs.SITE_NAME], resource_identifiers=pages)
    (index,) = context.get_docs_sites_urls(site_names=[data_docs.SITE_NAME], only_if_exists=False)
    return outcomes, index["site_url"]


def _columns(config) -> list[str]:
    """The columns an expectation reads row by row: one, or a pair."""
    return [config.kwargs[name] for name in ("column", "column_A", "column_B") if config.kwargs.get(name)]


def masked_value(column: str, value):
    return value if column in UNMASKED_COLUMNS else mask(value)


def add_masked_samples(result, frame: pd.DataFrame) -> None:
    """Each failed expectation's offending rows (the positions GX kept) as masked values, in GX's
    own fields, so the data docs show them as they show any sample: a pair's as [A, B]."""
    for r in result.results:
        positions = (r.result or {}).get("partial_unexpected_index_list")
        if r.success or not positions:
            continue
        columns = _columns(r.expectation_config)
        # tolist(): Python values (numpy's scalars would print as np.int64(…) and not serialise).
        by_column = [[masked_value(c, v) for v in frame.loc[positions, c].tolist()] for c in columns]
        sample = [list(values) for values in zip(*by_column, strict=True)] if len(columns) > 1 else by_column[0]
        counts = Counter(tuple(v) if isinstance(v, list) else v for v in sample)
        r.result["partial_unexpected_list"] = sample
        r.result["partial_unexpected_counts"] = [
            {"value": list(v) if isinstance(v, tuple) else v, "count": n}
            for v, n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
        ]


def failures(result, severity: str = "critical") -> list[Failure]:
    """The failed expectations of ``severity`` (critical: those that fail the gate; warning: counted)."""
    found = []
    for r in result.results:
        level = getattr(r.expectation_config, "severity", None)
        if r.success or str(getattr(level, "value", level) or "critical") != severity:
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
        for warning in outcome.warnings:
            log.warning("quality warning %s/%s: %s", outcome.checkpoint, outcome.suite, warning)
    if failed := [outcome for outcome in outcomes if outcome.failures]:
        raise QualityGateFailed("\n".join(map(str, failed)) + f"\ndata docs: {index}")
    return [outcome.summary() for outcome in outcomes]
