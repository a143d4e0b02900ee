"""Probabilistic identity model: Splink 5 trained on DuckDB, exported as match weights for dbt.

The pipeline calibrates the model on its own records in dbt (identity_model_calibrations, the
same estimators in SQL, so on Athena too); this module trains the shipped ``default`` it starts
from, and holds what the tests compare that calibration with.

The spec is the ``c360__identity_resolution`` vars block of ``dbt/dbt_project.yml``: comparisons
(levels, most similar first), blocking rules and deterministic rules. Training runs here, on
DuckDB; scoring runs as dbt SQL in the warehouse (Splink has no Athena backend) from the seed
``identity_match_weights``: one log2 Bayes factor per (comparison, gamma) and a ``_prior`` row.
A pair's weight is w = prior + the sum of its levels' weights and its match probability is
2^w / (1 + 2^w); ``score`` does the same from the CSV, so tests hold the seed to Splink.

Gamma follows Splink: -1 when either side is null (weight 0), then the listed levels counting
down from their number, 0 for "else".

    python -m include.identity.model train --version default [--warehouse PATH] [--relation NAME] [--sample N]
    python -m include.identity.model evaluate --febrl 3 [--without loyalty_id] [--model default]

FEBRL's labelled records and the accuracy ``evaluate`` reports are evaluation.py's.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlglot
import yaml
from sqlglot import exp

from include import settings
from include.warehouse.relations import relation

SPEC_PATH = settings.DBT_PROJECT_DIR / "dbt_project.yml"
MODELS_DIR = Path(__file__).resolve().parent / "models"
WEIGHTS_CSV = settings.DBT_PROJECT_DIR / "seeds" / "identity_match_weights.csv"
# The normalised records, where dbt's manifest says the model is (read at import: the manifest must exist).
# The records identity resolution reads (the relation is looked up in the manifest when training).
RECORDS_MODEL = "int_identity_records_normalised"
WEIGHT_COLUMNS = ["model_version", "comparison", "gamma", "log2_bayes_factor"]
PRIOR = "_prior"
UNIQUE_ID = "record_key"

# Fixed seeds and sizes: the same records give the same model.
U_SEED = 20240601
U_MAX_PAIRS = 1e7
# The share of true matches the deterministic rules find (FEBRL with the id: 0.90 and 0.95;
# they never linked a wrong pair there); it scales their match count up to the prior.
RULES_RECALL = 0.9
# A blocking rule trains m by EM only if it yields this many pairs (EM on a handful of pairs
# is noise, and on none it fails).
EM_MIN_PAIRS = 100
# EM trains on a few thousand pairs: a level no match showed there (clean data: no match
# with two different emails) has an m below ~1/1000, not the 1e-13 or 0 EM drives it to,
# which would weigh -40 or -500. FEBRL's smallest trained m is 0.0046: the floor keeps them.
M_FLOOR = 1e-3
# Splink warns at length about every level an all-null column never shows; _finalised says it once.
SPLINK_LOG_LEVEL = logging.ERROR
logger = logging.getLogger(__name__)
WEIGHT_DECIMALS = 6


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())["vars"]["c360__identity_resolution"]


def _q(column: str, side: str) -> str:
    return f'"{column}_{side}"'


def _level(level: dict[str, Any], column: str) -> dict[str, Any]:
    kind = level["kind"]
    if kind == "exact":
        return {"sql_condition": f"{_q(column, 'l')} = {_q(column, 'r')}", "label_for_charts": "exact"}
    if kind == "levenshtein":
        k = int(level["max"])
        condition = f"levenshtein({_q(column, 'l')}, {_q(column, 'r')}) <= {k}"
        return {"sql_condition": condition, "label_for_charts": f"levenshtein <= {k}"}
    if kind == "swapped":
        other = level["with"]
        condition = f"{_q(column, 'l')} = {_q(other, 'r')} and {_q(other, 'l')} = {_q(column, 'r')}"
        return {"sql_condition": condition, "label_for_charts": f"swapped with {other}"}
    left, right = _q(column, "l"), _q(column, "r")
    if kind == "similarity":
        # Edits as a share of the longer value (Trino has no Jaro-Winkler; both engines have
        # Levenshtein), in whole percent: integers compare the same everywhere.
        share = float(level["min"])
        edits = round((1 - share) * 100)
        condition = f"levenshtein({left}, {right}) * 100 <= {edits} * greatest(length({left}), length({right}))"
        return {"sql_condition": condition, "label_for_charts": f"similarity >= {share:g}"}
    if kind == "prefix":
        n = int(level["length"])
        condition = f"length({left}) >= {n} and substr({left}, 1, {n}) = substr({right}, 1, {n})"
        return {"sql_condition": condition, "label_for_charts": f"first {n} equal"}
    if kind == "day_month_swapped":
        # ISO dates: the same year, the day entered as the month and the month as the day.
        condition = (
            f"substr({left}, 1, 4) = substr({right}, 1, 4) and substr({left}, 6, 2) = substr({right}, 9, 2)"
            f" and substr({left}, 9, 2) = substr({right}, 6, 2)"
        )
        return {"sql_condition": condition, "label_for_charts": "day and month swapped"}
    if kind == "tokens":
        # Jaccard share of the words the two values hold (distinct words, split on spaces).
        share = float(level["min"])
        shared = f"len(list_intersect(string_split({left}, ' '), string_split({right}, ' ')))"
        either = f"len(list_distinct(list_concat(string_split({left}, ' '), string_split({right}, ' '))))"
        condition = f"{shared} * 100 >= {round(share * 100)} * {either}"
        return {"sql_condition": condition, "label_for_charts": f"words shared >= {share:g}"}
    raise ValueError(f"comparison {column}: unknown level kind {kind!r}")


def comparison_levels(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """Splink levels for one spec comparison: null, the listed levels in order, else."""
    column = comparison["name"]
    null = {
        "sql_condition": f"{_q(column, 'l')} IS NULL OR {_q(column, 'r')} IS NULL",
        "label_for_charts": "null",
        "is_null_level": True,
    }
    listed = [_level(level, column) for level in comparison["levels"]]
    return [null, *listed, {"sql_condition": "ELSE", "label_for_charts": "else"}]


def blocking_sql(columns: list[str]) -> str:
    return " and ".join(f'l."{c}" = r."{c}"' for c in columns)


def _on_side(where: str, side: str) -> str:
    tree = sqlglot.parse_one(where, read="duckdb")
    qualified = tree.transform(
        lambda node: (
            exp.column(exp.to_identifier(node.name, quoted=True), table=side) if isinstance(node, exp.Column) else node
        )
    )
    return qualified.sql("duckdb")


def rule_sql(rule: dict[str, Any]) -> str:
    """A deterministic rule as a Splink blocking rule: every match field equal (nulls never
    are), the `where` filter on both sides."""
    sql = blocking_sql(rule["match"])
    if rule.get("where"):
        sql += f" and {_on_side(rule['where'], 'l')} and {_on_side(rule['where'], 'r')}"
    return sql


def splink_settings(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": UNIQUE_ID,
        "comparisons": [
            {"output_column_name": c["name"], "comparison_levels": comparison_levels(c)} for c in spec["comparisons"]
        ],
        "blocking_rules_to_generate_predictions": [blocking_sql(cols) for cols in spec["blocking_rules"]],
        "retain_intermediate_calculation_columns": True,
    }


def model_columns(spec: dict[str, Any]) -> list[str]:
    """The record columns the model and the rules read, in the order the spec names them."""
    used = [UNIQUE_ID]
    for comparison in spec["comparisons"]:
        used.append(comparison["name"])
        used.extend(level["with"] for level in comparison["levels"] if level["kind"] == "swapped")
    for columns in spec["blocking_rules"]:
        used.extend(columns)
    for rule in spec["rules"]:
        used.extend(rule["match"])
        if rule.get("where"):
            used.extend(c.name for c in sqlglot.parse_one(rule["where"], read="duckdb").find_all(exp.Column))
    return list(dict.fromkeys(used))


def prepare(records: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """The columns the model reads, all text (an all-null column stays a string column);
    blocked identifier values become null, as they link nothing."""
    missing = [c for c in model_columns(spec) if c not in records.columns]
    if missing:
        logger.warning("the records have no %s: taken as null", ", ".join(missing))
    frame = records.reindex(columns=model_columns(spec)).astype("string")
    for column, values in spec["blocked_values"].items():
        if column in frame:
            frame[column] = frame[column].where(~frame[column].isin([str(v) for v in values]))
    return frame


def _connection() -> duckdb.DuckDBPyConnection:
    # Everything Splink needs is built into DuckDB: never fetch an extension.
    return duckdb.connect(config={"autoinstall_known_extensions": False})


def linker_for(frame: pd.DataFrame, settings_or_model: dict[str, Any]):
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(_connection())
    return Linker(db_api.register(frame), settings_or_model, log_level=SPLINK_LOG_LEVEL)


def block_sizes(frame: pd.DataFrame, columns: list[str]) -> int:
    """Pairs a blocking rule yields on these records (records equal on every column, none null)."""
    keys = frame[columns].dropna()
    sizes = keys.groupby(columns, sort=False).size()
    return int((sizes * (sizes - 1) // 2).sum())


def fit(records: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """Train the spec's model on these records; returns Splink's model dict."""
    frame = prepare(records, spec)
    linker = linker_for(frame, splink_settings(spec))
    training = linker.training
    # Prior: the deterministic rules' matches, scaled up by their recall.
    training.estimate_probability_two_random_records_match([rule_sql(r) for r in spec["rules"]], recall=RULES_RECALL)
    if linker.misc.save_model_to_json()["probability_two_random_records_match"] == 0:
        raise ValueError("no two of these records meet a deterministic rule: the prior cannot be estimated")
    training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=U_SEED)
    em_rules = [blocking_sql(c) for c in spec["blocking_rules"] if block_sizes(frame, c) >= EM_MIN_PAIRS]
    if not em_rules:
        raise ValueError(f"no blocking rule yields {EM_MIN_PAIRS} pairs of these records: too few to train m")
    for rule in em_rules:
        # A session works on the linker's own settings: it drops the comparisons its rule
        # uses and sets lambda to the blocking-adjusted one (~1), and puts them back only
        # when it succeeds. A failed session must not leave them so.
        before = linker._settings_obj.core_model_settings.copy()
        try:
            training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as exc:
            # EM drives a level no match showed to m = 0, which Splink refuses; the other
            # rules' sessions still estimate that comparison.
            linker._settings_obj.core_model_settings = before
            logger.warning("EM blocked on %s did not converge, skipped: %s", rule, exc)
    return _finalised(linker.misc.save_model_to_json())


def _finalised(model: dict[str, Any]) -> dict[str, Any]:
    """Splink's model dict, made to weigh only what the records showed and to save the same
    bytes for the same records."""
    del model["linker_uid"]  # random per linker
    model["probability_two_random_records_match"] = float(f"{model['probability_two_random_records_match']:.12g}")
    for comparison in model["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        trained = [level for level in levels if "m_probability" in level and "u_probability" in level]
        if not trained:
            # Not seen in these records (e.g. no emails): Splink would fall back to made-up
            # defaults; m = u makes every level weigh 0 instead.
            logger.warning(
                "%s: not estimable from these records, all its levels weigh 0", comparison["output_column_name"]
            )
        for level in levels:
            if level in trained:
                level["m_probability"] = max(level["m_probability"], M_FLOOR)
            else:
                # A level no training pair showed (e.g. emails one typo apart): m = u, weight 0.
                level["m_probability"] = level["u_probability"] = level.get("u_probability", 1 / len(levels))
            # Multi-threaded sums differ in the last bits from run to run.
            for key in ("m_probability", "u_probability"):
                level[key] = float(f"{level[key]:.12g}")
    return model


def match_weights(model: dict[str, Any], version: str) -> pd.DataFrame:
    """The seed rows for one model: every (comparison, gamma) with the weight Splink's predict
    uses for it (null: 0), and the prior as comparison `_prior`, gamma 0."""
    from splink.internals.settings_creator import SettingsCreator

    model_settings = SettingsCreator.from_path_or_dict(model).get_settings("duckdb")
    prior = model["probability_two_random_records_match"]
    rows = [(version, PRIOR, 0, math.log2(prior / (1 - prior)))]
    for comparison in model_settings.comparisons:
        for level in comparison.comparison_levels:
            weight = level._match_weight
            if weight is None:
                raise ValueError(
                    f"{comparison.output_column_name} level {level.label_for_charts!r} has no trained weight"
                )
            rows.append((version, comparison.output_column_name, level.comparison_vector_value, weight))
    return pd.DataFrame(rows, columns=WEIGHT_COLUMNS)


def read_weights(path: Path = WEIGHTS_CSV) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=WEIGHT_COLUMNS)
    return pd.read_csv(path, dtype={"model_version": str, "comparison": str, "gamma": int, "log2_bayes_factor": float})


def write_weights(rows: pd.DataFrame, path: Path = WEIGHTS_CSV) -> None:
    """Replace this version's rows in the seed, keep every other version's; sorted, and with
    fixed decimals so the same model writes the same bytes."""
    versions = set(rows["model_version"])
    kept = read_weights(path)
    table = pd.concat([kept[~kept["model_version"].isin(versions)], rows], ignore_index=True)
    table = table.astype({"gamma": int, "log2_bayes_factor": float})
    table = table.sort_values(["model_version", "comparison", "gamma"], ascending=[True, True, False])
    # round() then + 0.0: never "-0.000000".
    table["log2_bayes_factor"] = [
        f"{round(w, WEIGHT_DECIMALS) + 0.0:.{WEIGHT_DECIMALS}f}" for w in table["log2_bayes_factor"]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(table.to_csv(index=False, lineterminator="\n"))


def score(gammas: pd.DataFrame, weights: pd.DataFrame, version: str) -> pd.Series:
    """Match probability of pairs from their `gamma_<comparison>` columns, computed from the
    seed exactly as dbt does: w = prior + the level weights (a level not in the seed weighs
    0), probability 2^w / (1 + 2^w)."""
    mine = weights[weights["model_version"] == version]
    if mine.empty:
        raise ValueError(f"no weights for model version {version!r}")
    lookup = mine.set_index(["comparison", "gamma"])["log2_bayes_factor"]
    total = pd.Series(lookup[(PRIOR, 0)], index=gammas.index)
    for comparison in mine.loc[mine["comparison"] != PRIOR, "comparison"].unique():
        level_weights = lookup.loc[comparison]
        total += gammas[f"gamma_{comparison}"].map(level_weights).fillna(0.0)
    return 1 / (1 + 2.0**-total)


def save_model(model: dict[str, Any], version: str, models_dir: Path = MODELS_DIR) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{version}.json"
    path.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n")
    return path


def train(
    records: pd.DataFrame | duckdb.DuckDBPyRelation,
    spec: dict[str, Any],
    version: str,
    models_dir: Path = MODELS_DIR,
    weights_csv: Path = WEIGHTS_CSV,
) -> dict[str, Any]:
    """Fit the model, save it as <models_dir>/<version>.json and its weights as this version's
    rows of the seed."""
    if isinstance(records, duckdb.DuckDBPyRelation):
        records = records.df()
    started = time.perf_counter()
    model = fit(records, spec)
    seconds = time.perf_counter() - started
    weights = match_weights(model, version)
    model_path = save_model(model, version, models_dir)
    write_weights(weights, weights_csv)
    return {
        "version": version,
        "records": len(records),
        "seconds": seconds,
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "model": model,
        "model_path": model_path,
        "weights": weights,
        "weights_path": weights_csv,
    }


def warehouse_records(warehouse: Path, relation: str, sample: int | None) -> pd.DataFrame:
    """The normalised records to train on; `sample` takes that many, the same ones every time
    (by hash of the key). Contact points are left out: scoring never pairs them."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = [row[0] for row in con.execute(f"describe {relation}").fetchall()]
        where = "where not is_contact_point" if "is_contact_point" in columns else ""
        limit = f"limit {int(sample)}" if sample else ""
        query = f"select * from {relation} {where} order by md5({UNIQUE_ID}) {limit}"
        return con.execute(query).df()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train_cmd = commands.add_parser("train", help="train a model version and write its seed rows")
    train_cmd.add_argument("--version", required=True)
    train_cmd.add_argument("--warehouse", type=Path, default=settings.WAREHOUSE_PATH)
    train_cmd.add_argument("--relation", help=f"default: the {RECORDS_MODEL} model's relation")
    train_cmd.add_argument("--sample", type=int, help="train on this many records (the same ones every run)")
    eval_cmd = commands.add_parser("evaluate", help="Splink's own pairwise accuracy on FEBRL (labels only score)")
    eval_cmd.add_argument("--febrl", type=int, choices=[3, 4], required=True)
    eval_cmd.add_argument("--without", action="append", default=[], help="blank this column (e.g. loyalty_id)")
    eval_cmd.add_argument("--threshold", type=float, help="default: the spec's match_threshold")
    eval_cmd.add_argument("--model", help="score with this shipped version instead of training on the data")
    args = parser.parse_args(argv)
    spec = load_spec()
    # Here, not at the top: evaluation reads this module's model functions.
    from include.identity import evaluation

    if args.command == "train":
        records = warehouse_records(args.warehouse, args.relation or relation(RECORDS_MODEL), args.sample)
        result = train(records, spec, args.version)
        print(
            f"model {result['version']}: {result['records']} records, {result['seconds']:.1f} s, "
            f"prior {result['probability_two_random_records_match']:.3g} -> {result['model_path']}, "
            f"{len(result['weights'])} rows in {result['weights_path']}"
        )
    else:
        records = evaluation.febrl_records(args.febrl).assign(**{column: pd.NA for column in args.without})
        started = time.perf_counter()
        model = json.loads((MODELS_DIR / f"{args.model}.json").read_text()) if args.model else fit(records, spec)
        seconds = None if args.model else round(time.perf_counter() - started, 1)
        threshold = args.threshold if args.threshold is not None else spec["match_threshold"]
        scores = evaluation.evaluate(records, model, spec, threshold)
        print(json.dumps({"febrl": args.febrl, "without": args.without, "model": args.model or "trained here",
                          "threshold": threshold, "training_seconds": seconds, **scores}))  # fmt: skip


if __name__ == "__main__":
    main()
