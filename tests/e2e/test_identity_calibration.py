"""Self-calibration of the identity model, end to end on the real local stack: dbt's build
estimates the model on the records it resolves and scores with that estimate; the same build
again estimates nothing new; materially more records estimate it again, with other weights;
a degenerate estimate is kept with its reason and not used, and is what the profiles gate checks.

Each build runs dbt on a copy of the shipped project (as test_identity_overrides): the last step
edits the copy's calibration settings, which the working tree is not the test's to edit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from include import intervals, settings, streams
from include.identity import model
from include.landing import tasks
from include.quality import tasks as quality
from include.warehouse.seam import DuckDBWarehouse
from local import sample_data
from local.run import upload_input
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, s3_client
from tests.e2e import test_faults as faults

pytestmark = pytest.mark.e2e
HOUR = datetime(2026, 11, 27, 9, tzinfo=UTC)  # a day no other e2e module lands
ONE_HOUR = timedelta(hours=1)
# Identity resolution up to the scored pairs, with the tests of those models only.
SELECT = ["+int_record_pairs_scored", "--indirect-selection", "cautious"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = LocalStack(tmp_path_factory.mktemp("calibration-var"), S3_PORT, PROFILES_PORT).start()
    faults._drop_state()
    yield running
    faults._drop_state()
    running.stop()


@pytest.fixture(scope="module")
def project(stack, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("calibration-dbt") / "dbt"
    shutil.copytree(settings.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    return copy


def land(tmp_path_factory, hour: datetime, people: int, seed: int) -> None:
    sample = tmp_path_factory.mktemp("calibration-input")
    sample_data.generate(sample, people=people, day=hour, hours=1, seed=seed, streams=streams.RAW_STREAMS)
    s3 = s3_client()
    upload_input(s3, sample)
    for stream in streams.RAW_STREAMS:
        tasks.land(s3, stream, [hour])


def build(project: Path, interval_end: datetime, declare_raw: bool = False) -> None:
    """dbt's build of the hour before interval_end; declare_raw first declares the raw zone (once:
    its relations read every hour landed)."""
    variables = json.dumps(intervals.dbt_vars(interval_end - ONE_HOUR, interval_end))
    work = project.parent
    commands = [["build", "--select", *SELECT, "--vars", variables]]
    if declare_raw:
        commands.insert(0, ["run-operation", "create_raw_relations"])
    for args in commands:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", ".", "--target", "local"]
            + ["--target-path", str(work / "target"), "--log-path", str(work / "logs")],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert done.returncode == 0, done.stdout[-3000:]


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def calibrations() -> list[tuple]:
    """(calibration_id, records, is_degenerate, degenerate_reason), one per calibration."""
    return rows(
        "select distinct calibration_id, records, is_degenerate, degenerate_reason"
        " from identity_model_calibrations order by calibration_id"
    )


def calibrated_weights(calibration_id: int) -> dict[tuple[str, int], float]:
    found = rows(
        "select comparison, gamma, log2_bayes_factor from identity_model_calibrations"
        f" where calibration_id = {calibration_id}"
    )
    return {(comparison, gamma): weight for comparison, gamma, weight in found}


def weights_in_use() -> tuple[set[str], dict[tuple[str, int], float]]:
    found = rows(
        "select model_version, comparison, gamma, log2_bayes_factor from main_intermediate.int_identity_match_weights"
    )
    return {version for version, *_ in found}, {(c, g): w for _, c, g, w in found}


def resolved_records() -> int:
    (count,) = rows("select count(*) from main_intermediate.int_identity_records_normalised where not is_contact_point")
    return count[0]


def test_the_model_calibrates_on_the_records_it_resolves(stack, project, tmp_path_factory):
    land(tmp_path_factory, HOUR, people=700, seed=31)
    build(project, HOUR + ONE_HOUR, declare_raw=True)
    records = resolved_records()
    assert records >= 1000  # calibration.min_records
    assert calibrations() == [(1, records, False, None)]
    first = calibrated_weights(1)
    # Every level of every comparison, and the prior; scored with them.
    assert len(first) == 1 + sum(1 + len(c["levels"]) for c in model.load_spec()["comparisons"])
    assert weights_in_use() == ({"calibration-1"}, first)
    # Estimated here, not the shipped model: the prior at least is this data's.
    shipped = rows(
        "select log2_bayes_factor from identity_match_weights where model_version = 'default' and comparison = '_prior'"
    )
    assert first[("_prior", 0)] != shipped[0][0]
    # The estimate says what a match looks like: agreeing on a name or a birth date is evidence
    # for it, disagreeing against it.
    for comparison in ("first_name", "last_name", "birth_date"):
        assert first[(comparison, 4)] > 5 > 0 > first[(comparison, 0)]
    # Splink's own estimators on the same records agree (Splink's u from every pair, ours from a
    # sample of them): to a fraction of a bit on the prior and on the levels most pairs are at
    # (rare levels rest on a handful of pairs). Where EM drives a
    # level's m to 0, Splink drops the whole rule's session and may leave the level untrained
    # (weight 0); the calibration floors m instead (m_floor): those levels are not compared.
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        resolved = con.execute(
            "select * from main_intermediate.int_identity_records_normalised where not is_contact_point"
        ).df()
    splink = model.match_weights(model.fit(resolved, model.load_spec()), "splink")
    splink_weights = {(c, g): w for _, c, g, w in splink.itertuples(index=False)}
    for comparison in ("_prior", "first_name", "last_name", "birth_date", "postal_code", "address_line1"):
        for gamma in (0, max(g for c, g in first if c == comparison)):
            if splink_weights[(comparison, gamma)] != 0 or comparison == "_prior":
                assert abs(first[(comparison, gamma)] - splink_weights[(comparison, gamma)]) < 0.5, (comparison, gamma)
    (scored,) = rows("select count(*) from main_intermediate.int_record_pairs_scored where match_probability >= 0.9")
    assert scored[0] > 0

    # The same interval again: nothing estimated, the same weights.
    build(project, HOUR + ONE_HOUR)
    assert calibrations() == [(1, records, False, None)]
    assert weights_in_use() == ({"calibration-1"}, first)

    # Fresh records, more than recalibrate_on_change (10%) of them: estimated again, other weights.
    land(tmp_path_factory, HOUR + ONE_HOUR, people=500, seed=37)
    build(project, HOUR + 2 * ONE_HOUR)
    grown = resolved_records()
    assert grown > records * 1.1
    assert calibrations() == [(1, records, False, None), (2, grown, False, None)]
    second = calibrated_weights(2)
    assert second.keys() == first.keys() and second != first
    assert weights_in_use() == ({"calibration-2"}, second)

    # A degenerate estimate (here: a tolerance no EM meets; the changed spec calibrates again) is
    # kept with its reason and not used; the profiles checkpoint warns with that reason.
    spec = project / "dbt_project.yml"
    spec.write_text(spec.read_text().replace("em_tolerance: 0.01", "em_tolerance: 0"))
    build(project, HOUR + 2 * ONE_HOUR)
    (*_, (number, _, degenerate, reason)) = calibrations()
    assert (number, degenerate) == (3, True) and reason.startswith("EM did not converge")
    assert weights_in_use() == ({"calibration-2"}, second)
    assert quality.newest_calibration(DuckDBWarehouse())["degenerate_reason"].tolist() == [reason]
