"""The identity model: spec → Splink levels, the weights seed, scoring from it, a real training run."""

from __future__ import annotations

import json
import math

import duckdb
import pandas as pd
import pytest

from include.identity import model
from include.identity.evaluation import febrl_records
from include.warehouse.relations import relation

SPEC = model.load_spec()


def _gammas(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Splink's comparison vectors of every blocked pair of `frame` (an untrained model
    scores too: the gammas do not depend on the weights)."""
    linker = model.linker_for(model.prepare(frame, spec), model.splink_settings(spec))
    predictions = linker.inference.predict(warning_mode="never").as_pandas_dataframe()
    return predictions.set_index(["record_key_l", "record_key_r"])


def _record(key: str, **fields) -> dict:
    return {column: fields.get(column) for column in model.model_columns(SPEC)} | {"record_key": key}


def test_spec_levels_become_splink_levels_in_gamma_order():
    from splink.internals.settings_creator import SettingsCreator

    splink_model = SettingsCreator.from_path_or_dict(model.splink_settings(SPEC)).get_settings("duckdb")
    by_name = {c.output_column_name: c for c in splink_model.comparisons}
    assert list(by_name) == [c["name"] for c in SPEC["comparisons"]]
    first_name = by_name["first_name"]
    assert [(level.comparison_vector_value, level.label_for_charts) for level in first_name.comparison_levels] == [
        (-1, "null"),
        (4, "exact"),
        (3, "swapped with last_name"),
        (2, "similarity >= 0.8"),
        (1, "similarity >= 0.6"),
        (0, "else"),
    ]
    for comparison in SPEC["comparisons"]:
        gammas = [level.comparison_vector_value for level in by_name[comparison["name"]].comparison_levels]
        assert gammas == [-1, *range(len(comparison["levels"]), -1, -1)]


def test_gammas_follow_the_level_kinds():
    spec = SPEC | {"blocking_rules": [["postal_code"]]}
    frame = pd.DataFrame(
        [
            _record("a", first_name="john", last_name="smith", birth_date="1980-01-02", postal_code="2000",
                    address_line1="12 main street"),
            _record("b", first_name="smith", last_name="john", birth_date="1980-02-01", postal_code="2000",
                    address_line1="12 main street"),
            _record("c", first_name="jon", last_name="smyth", birth_date="1980-01-20", postal_code="2000",
                    address_line1="12 main st"),
            _record("d", first_name="jane", last_name=None, birth_date="1981-01-02", postal_code="2000",
                    address_line1="12 mian street"),
        ]
    )  # fmt: skip
    gammas = _gammas(frame, spec)
    columns = ["gamma_first_name", "gamma_last_name", "gamma_birth_date", "gamma_address_line1"]
    # Names and the day and month swapped; the same address.
    assert gammas.loc[("a", "b"), columns].tolist() == [3, 3, 3, 3]
    # jon: 1 edit in 4 (similarity 0.75); smyth: 1 in 5 (0.8); the same year and month; half the words.
    assert gammas.loc[("a", "c"), columns].tolist() == [1, 2, 1, 1]
    # jane: 3 edits; the year one digit off; a typo in the street (similarity 0.86).
    assert gammas.loc[("a", "d"), columns].tolist() == [0, -1, 2, 2]
    assert gammas.loc[("a", "b"), "gamma_email"] == -1


def test_rule_filters_apply_to_both_sides_and_blocked_values_link_nothing():
    rule = {"match": ["phone", "last_name"], "where": "phone_type in ('MOBILE')"}
    assert model.rule_sql(rule) == (
        'l."phone" = r."phone" and l."last_name" = r."last_name"'
        " and l.\"phone_type\" IN ('MOBILE') and r.\"phone_type\" IN ('MOBILE')"
    )
    frame = pd.DataFrame([_record("a", email="test@test.com"), _record("b", email="ann@example.com")])
    assert model.prepare(frame, SPEC)["email"].isna().tolist() == [True, False]


def _weights(version: str, prior: float, first_name_exact: float) -> pd.DataFrame:
    rows = [(version, "_prior", 0, prior), (version, "first_name", 1, first_name_exact)]
    rows += [(version, "first_name", 0, -2.5), (version, "first_name", -1, 0.0)]
    return pd.DataFrame(rows, columns=model.WEIGHT_COLUMNS)


def test_writing_a_version_replaces_only_its_rows(tmp_path):
    path = tmp_path / "weights.csv"
    model.write_weights(_weights("b", -9.0, 7.25), path)
    model.write_weights(_weights("a", -10.123456789, 8.0), path)
    first = path.read_bytes()
    assert first.decode().splitlines() == [
        "model_version,comparison,gamma,log2_bayes_factor",
        "a,_prior,0,-10.123457",
        "a,first_name,1,8.000000",
        "a,first_name,0,-2.500000",
        "a,first_name,-1,0.000000",
        "b,_prior,0,-9.000000",
        "b,first_name,1,7.250000",
        "b,first_name,0,-2.500000",
        "b,first_name,-1,0.000000",
    ]
    model.write_weights(_weights("a", -10.123456789, 8.0), path)
    assert path.read_bytes() == first  # same model, same bytes
    model.write_weights(_weights("a", -1e-9, 1.0), path)
    lines = path.read_text().splitlines()
    assert "a,_prior,0,0.000000" in lines and "a,first_name,1,1.000000" in lines  # never -0.000000
    assert lines[5:] == first.decode().splitlines()[5:]  # b untouched


def test_score_is_the_logistic_of_prior_plus_level_weights():
    weights = pd.concat([_weights("a", -10.0, 8.0), _weights("b", 0.0, 0.0)])
    gammas = pd.DataFrame({"gamma_first_name": [1, 0, -1, 7]})
    expected = [2**-2 / (1 + 2**-2), 2**-12.5 / (1 + 2**-12.5), 2**-10 / (1 + 2**-10), 2**-10 / (1 + 2**-10)]
    assert model.score(gammas, weights, "a").tolist() == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="no weights for model version 'c'"):
        model.score(gammas, weights, "c")


@pytest.fixture(scope="module")
def febrl_subset() -> pd.DataFrame:
    records = febrl_records(3)
    return records[records["entity"] < 700].reset_index(drop=True)


@pytest.fixture(scope="module")
def trained(febrl_subset, tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    # As a DuckDB relation, the way a benchmark or the warehouse hands records over.
    records = duckdb.connect().from_df(febrl_subset.drop(columns="entity"))
    return model.train(records, SPEC, "tiny", root / "models", root / "weights.csv")


def test_training_on_febrl_gives_finite_sensible_weights(trained, febrl_subset):
    assert trained["records"] == len(febrl_subset)
    weights = model.read_weights(trained["weights_path"])
    assert set(weights["model_version"]) == {"tiny"}
    assert weights["log2_bayes_factor"].map(math.isfinite).all()
    lookup = weights.set_index(["comparison", "gamma"])["log2_bayes_factor"]
    assert len(lookup) == 1 + sum(len(c["levels"]) + 2 for c in SPEC["comparisons"])
    for comparison in SPEC["comparisons"]:
        if comparison["name"] in ("email", "phone"):
            continue
        levels = comparison["levels"]
        assert lookup[(comparison["name"], -1)] == 0.0
        assert lookup[(comparison["name"], len(levels))] > 0 > lookup[(comparison["name"], 0)]
        assert (lookup[comparison["name"]].drop(index=[-1, 0]) > lookup[(comparison["name"], 0)]).all()
    assert (lookup.loc["email"] == 0).all()  # FEBRL has no emails: no evidence, no weight
    assert 0 < trained["probability_two_random_records_match"] < 0.01
    assert lookup[("_prior", 0)] == pytest.approx(
        math.log2(
            trained["probability_two_random_records_match"] / (1 - trained["probability_two_random_records_match"])
        ),
        abs=1e-6,
    )
    saved = json.loads(trained["model_path"].read_text())
    assert saved == trained["model"] and "linker_uid" not in saved


def test_scoring_from_the_seed_agrees_with_splink(trained, febrl_subset):
    linker = model.linker_for(model.prepare(febrl_subset, SPEC), trained["model"])
    predictions = linker.inference.predict(warning_mode="never").as_pandas_dataframe()
    assert len(predictions) > 1000
    from_seed = model.score(predictions, model.read_weights(trained["weights_path"]), "tiny")
    assert from_seed.to_numpy() == pytest.approx(predictions["match_probability"].to_numpy(), abs=1e-5)


def test_shipped_seed_holds_the_shipped_model_and_no_benchmark_trained_one():
    shipped = model.read_weights()
    versions = sorted(path.stem for path in model.MODELS_DIR.glob("*.json"))
    # What a user gets is what the benchmarks measure: nothing trained on FEBRL ships.
    assert versions == ["default"] == sorted(set(shipped["model_version"]))
    for version in versions:
        expected = model.match_weights(json.loads((model.MODELS_DIR / f"{version}.json").read_text()), version)
        actual = shipped[shipped["model_version"] == version]
        merged = expected.merge(actual, on=["model_version", "comparison", "gamma"], validate="one_to_one")
        assert len(merged) == len(expected) == len(actual)
        assert merged["log2_bayes_factor_x"].to_numpy() == pytest.approx(merged["log2_bayes_factor_y"], abs=1e-6)


def test_warehouse_sample_is_stable_and_leaves_out_contact_points(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema main_intermediate")
        con.execute(
            "create table main_intermediate.int_identity_records_normalised as select 'k' || i as record_key,"
            " 'ann' as first_name, i % 3 = 0 as is_contact_point from range(300) as t(i)"
        )
    everything = model.warehouse_records(path, relation(model.RECORDS_MODEL), None)
    assert len(everything) == 200 and not everything["is_contact_point"].any()
    sample = model.warehouse_records(path, relation(model.RECORDS_MODEL), 50)
    assert len(sample) == 50 and set(sample["record_key"]) < set(everything["record_key"])
    assert (
        model.warehouse_records(path, relation(model.RECORDS_MODEL), 50)["record_key"].tolist()
        == sample["record_key"].tolist()
    )


def _clean_colliding_people(people: int = 500) -> pd.DataFrame:
    """Two records a person, names from a small pool (same-name strangers are common), and
    a person's email/phone/loyalty id never differ across their records, as in the sample
    sources: EM sessions then see no match at those `else` levels, and some fail."""
    import numpy as np

    rng = np.random.default_rng(7)
    first = [f"first{i}" for i in range(25)]
    last = [f"last{i}" for i in range(40)]
    rows = []
    for p in range(people):
        person = {
            "first_name": first[rng.integers(len(first))],
            "last_name": last[rng.integers(len(last))],
            "birth_date": f"19{rng.integers(50, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}",
            "postal_code": f"{rng.integers(2000, 2100)}",
            "email": f"person{p}@example.org",
            "phone": f"+6140000{p:04d}",
            "loyalty_id": f"L{p:06d}" if p % 3 == 0 else None,
        }
        for copy in range(2):
            record = dict(person)
            if copy and p % 4 == 0:
                record["birth_date"] = None
            rows.append(_record(f"p{p}-{copy}", **record))
    return pd.DataFrame(rows)


def test_training_on_clean_data_with_colliding_names_keeps_a_sane_model(tmp_path):
    result = model.train(_clean_colliding_people(), SPEC, "clean", tmp_path / "models", tmp_path / "weights.csv")
    assert 0 < result["probability_two_random_records_match"] < 0.01
    lookup = model.read_weights(result["weights_path"]).set_index(["comparison", "gamma"])["log2_bayes_factor"]
    # Every comparison exported, every level within a believable range.
    assert len(lookup) == 1 + sum(len(c["levels"]) + 2 for c in SPEC["comparisons"])
    assert lookup.abs().max() < 20
    # Identifiers the records hold weigh: equal for, different against.
    for comparison in ("email", "phone", "loyalty_id"):
        assert lookup[(comparison, 2)] > 5 and lookup[(comparison, 0)] < -5


def test_a_failed_em_session_leaves_the_linker_as_it_was(monkeypatch):
    from splink.internals import em_training_session

    real = em_training_session.expectation_maximisation
    calls = []

    def fail_first(**kwargs):
        # As Splink does when EM drives an m to 0 on the first rule's pairs.
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("m_probability value 0.0 is below the minimum allowed value of 1e-300")
        return real(**kwargs)

    monkeypatch.setattr(em_training_session, "expectation_maximisation", fail_first)
    fitted = model.fit(_clean_colliding_people(), SPEC)
    assert len(calls) > 1
    assert 0 < fitted["probability_two_random_records_match"] < 0.01
    assert [c["output_column_name"] for c in fitted["comparisons"]] == [c["name"] for c in SPEC["comparisons"]]
