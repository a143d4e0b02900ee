"""Each benchmark at a tiny size, through its own entry point, so the benchmarks cannot rot.

They assert the benchmarks' correctness checks (rows equal the generated events, nothing lost
or duplicated, a re-run sends nothing, every record linked, F1 computed), never their
timing targets: at these sizes the targets are reported as "not judged" and do not set the
exit code (bench/__init__.py). Results go to tmp_path, not bench/results/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import canonicalisation, customer_profiles_sync, identity_resolution, local_loop

pytestmark = pytest.mark.bench

RESULTS = Path(canonicalisation.__file__).parent / "results"


@pytest.fixture(autouse=True)
def results_untouched():
    """The committed results are not rewritten by a smoke run."""
    before = {path.name: path.stat().st_mtime_ns for path in RESULTS.glob("*")}
    yield
    assert {path.name: path.stat().st_mtime_ns for path in RESULTS.glob("*")} == before


def _report(out: Path, name: str) -> dict:
    assert (out / f"{name}.md").exists()
    return json.loads((out / f"{name}.json").read_text())


def test_canonicalisation(tmp_path):
    assert canonicalisation.main(["--events", "5000", "--baseline-records", "200", "--out", str(tmp_path)]) == 0

    (run,) = _report(tmp_path, "canonicalisation")["runs"]
    assert run["canonical_rows"] == sum(counts["events"] for counts in run["generated"].values()) > 0
    assert all(run["checks"].values()), run["checks"]
    # Every raw stream was landed (an empty partition for each hour of those without data).
    assert set(run["landing"]["by_stream"]) | set(run["landing"]["other_streams"]["streams"]) == set(
        canonicalisation.streams.RAW_STREAMS
    )
    baseline = run["baseline"]
    assert baseline["distinct_event_ids"] == baseline["distinct_event_ids_matching_engagement_events"] > 0
    verdicts = _report(tmp_path, "canonicalisation")["verdicts"]
    assert verdicts and not any(v["judged"] for v in verdicts)


def test_customer_profiles_sync(tmp_path):
    argv = ["--objects", "500", "--capacity-objects", "500", "--adaptive-seconds", "2", "--out", str(tmp_path)]
    assert customer_profiles_sync.main(argv) == 0

    result = _report(tmp_path, "customer_profiles_sync")
    assert all(check["pass"] for check in result["checks"]), result["checks"]
    check = result["sync"]["verification"]
    assert check["source_objects"] == check["endpoint_objects"] == check["log_sent_objects"] == 500
    assert check["lost"] == check["different"] == check["extra"] == check["duplicated_objects"] == 0
    assert result["sync"]["rerun"]["requests"] == result["sync"]["rerun"]["summary"]["sent"] == 0
    assert result["targets"] and not any(target["judged"] for target in result["targets"])


def test_identity_resolution_accuracy(tmp_path):
    # --loader dbt: make run's Airflow runs take minutes whatever the size (the e2e tests cover
    # make run); the CSVs, the landing, the profile models and the scoring are the same.
    argv = ["accuracy", "--case", "febrl3", "--entities", "100", "--loader", "dbt", "--out", str(tmp_path)]
    assert identity_resolution.main(argv) == 0

    scores = _report(tmp_path, "identity_resolution")["accuracy"]["febrl3"]
    assert scores["records"] == len(identity_resolution.febrl_records("febrl3", 100))
    assert scores["true_pairs"] > 0 and 0 < scores["f1"] <= 1
    assert scores["target_judged"] is False


def test_identity_resolution_scale(tmp_path):
    assert identity_resolution.main(["scale", "--records", "2000", "--out", str(tmp_path)]) == 0

    scale = _report(tmp_path, "identity_resolution")["scale"]
    assert scale["accuracy"]["records"] == 2000 and 0 < scale["accuracy"]["f1"] <= 1
    assert scale["stability"]["renumbered"] == 0 and scale["stability"]["profiles_with_unchanged_records"] > 0
    assert scale["targets_judged"] is False


def test_local_loop(tmp_path):
    assert local_loop.main(["--people", "20", "--out", str(tmp_path)]) == 0

    result = _report(tmp_path, "local_loop")
    stages = result["stages_s"]
    assert {"upload", "landing", "build", "dbt build", "gate", "sync", "pipeline"} <= stages.keys()
    assert result["dbt_nodes"] > 100 and result["dbt_node_seconds_sum"] > 0
    # The direct landing landed exactly what the DAG run landed (main() exits 1 otherwise).
    assert sum(result["landed"].values()) > 0
    assert all(ratio > 0 for ratio in result["ratios"].values())
    assert result["targets"] and not any(target["judged"] for target in result["targets"].values())
