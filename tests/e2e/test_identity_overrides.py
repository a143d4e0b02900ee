"""Operator overrides of identity resolution, end to end on the real local stack: a never_link
between two records of one profile splits it, and the sync pushes the new profile and moves its
objects; a must_link between the two then merges them back, recorded in profile_merges, and the
sync merges the profiles in Customer Profiles. After each step Customer Profiles holds exactly
what the warehouse says, object for object and profile by profile.

The overrides are the project's seed, identity_overrides.csv: each build here runs dbt's one
`dbt build` on a copy of the shipped project whose only difference is that CSV (the shipped one
is empty, and the working tree is not the test's to edit). The syncs are the real DAG."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from include import intervals, settings, streams
from include.landing import tasks
from include.sync import config, templates
from local import sample_data
from local.run import upload_input
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, s3_client
from tests.e2e import test_faults as faults
from tests.e2e.test_faults import endpoint_bodies, warehouse_items

pytestmark = pytest.mark.e2e
HOUR = datetime(2026, 11, 26, 9, tzinfo=UTC)  # a day no other e2e module lands
ONE_HOUR = timedelta(hours=1)
OVERRIDES_CSV = Path("seeds") / "identity_overrides.csv"
# The marts the sync reads and its state tables (as test_faults builds them), with every test of
# what they depend on; a later build, with no new data, rebuilds what the overrides feed (the
# profiles and their objects).
FIRST_BUILD = [
    *(f"+{templates.model_name(name)}" for name in config.OBJECT_TYPES),
    "+profile_links",
    "+profile_merges",
    # dbt selects a relationships test when either side is selected: this one's other side.
    "+profile_link_evidence",
    "+suppression_list",
    "path:models/sync",
]
OVERRIDES_BUILD = ["identity_overrides+"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # As test_faults: the session's S3 port with a private Customer Profiles state, and neither
    # buckets nor warehouse left from another module, nor left behind.
    running = LocalStack(tmp_path_factory.mktemp("overrides-var"), S3_PORT, PROFILES_PORT).start()
    faults._drop_state()
    yield running
    faults._drop_state()
    running.stop()


@pytest.fixture(scope="module")
def project(stack, tmp_path_factory) -> Path:
    """A copy of the shipped dbt project (without its target and logs), the sample landed for it."""
    copy = tmp_path_factory.mktemp("overrides-dbt") / "dbt"
    shutil.copytree(settings.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    sample = tmp_path_factory.mktemp("overrides-input")
    sample_data.generate(sample, people=40, day=HOUR, hours=1, seed=29, streams=streams.RAW_STREAMS)
    s3 = s3_client()
    upload_input(s3, sample)
    for stream in streams.RAW_STREAMS:
        tasks.land(s3, stream, [HOUR])
    return copy


def build(project: Path, build_number: int, overrides: list[tuple[str, str, str, str]], select: list[str]) -> None:
    """One hourly build of `select` with these overrides in the seed: the interval ends
    `build_number` hours after the landed hour (identity resolution reads everything ingested by then)."""
    with (project / OVERRIDES_CSV).open("w", newline="") as f:
        header = ("record_key_a", "record_key_b", "decision", "reason")
        csv.writer(f, lineterminator="\n").writerows([header, *overrides])
    start = HOUR + (build_number - 1) * ONE_HOUR
    variables = json.dumps(intervals.dbt_vars(start, start + ONE_HOUR))
    work = project.parent
    for args in (["run-operation", "create_raw_relations"], ["build", "--select", *select, "--vars", variables]):
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", ".", "--target", "local"]
            + ["--target-path", str(work / "target"), "--log-path", str(work / "logs")],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert done.returncode == 0, done.stdout[-3000:]


def sync(dagbag) -> None:
    assert dagbag.dags["sync_customer_profiles"].test(logical_date=None).state == "success"


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def links() -> dict[str, tuple[str, str]]:
    """record_key -> (profile_id, matched_by)."""
    found = rows("select record_key, profile_id, matched_by from profile_links")
    return {key: (profile, matched_by) for key, profile, matched_by in found}


def objects_per_profile(stack) -> Counter:
    """(our profile_id, object type) -> how many objects the endpoint holds on that profile."""
    with sqlite3.connect(stack.profiles.state_path) as db:
        found = db.execute(
            "select keys.key_value, objects.object_type from profile_objects as objects "
            "inner join profile_keys as keys on keys.profile_id = objects.profile_id and keys.key_name = ?",
            [config.PROFILE_KEY],
        ).fetchall()
    live = {profile for (profile,) in rows("select profile_id from unified_profiles")}
    # A merged profile's key points to the survivor too: count each object under live ids only.
    return Counter((profile, object_type) for profile, object_type in found if profile in live)


def assert_endpoint_holds_the_warehouse(stack) -> None:
    items = warehouse_items()
    expected = {name: sorted((json.loads(i.body) for i in found), key=json.dumps) for name, found in items.items()}
    assert endpoint_bodies(stack) == {name: bodies for name, bodies in expected.items() if bodies}
    wanted = Counter((i.profile_id, name) for name, found in items.items() for i in found)
    assert objects_per_profile(stack) == wanted


def test_a_never_link_splits_a_profile_and_a_must_link_merges_it_back(stack, project, dagbag):
    build(project, 1, [], FIRST_BUILD)
    sync(dagbag)
    before = links()
    # The profile with the most source records (contact points are not named by overrides).
    source_records: dict[str, list[str]] = {}
    for key, (profile, _) in before.items():
        if not key.startswith("engagement:"):
            source_records.setdefault(profile, []).append(key)
    profile, members = max(source_records.items(), key=lambda item: (len(item[1]), item[0]))
    assert len(members) >= 3, before
    first, last = min(members), max(members)
    profile_records = {key for key, (p, _) in before.items() if p == profile}
    assert_endpoint_holds_the_warehouse(stack)

    # Unmerge: first and last are different people, whatever links them.
    build(project, 2, [(last, first, "never_link", "TICKET-1")], OVERRIDES_BUILD)
    sync(dagbag)
    split = links()
    assert split[first][0] != split[last][0]
    parts = {split[key][0] for key in profile_records}
    assert len(parts) == 2 and profile in parts  # the larger part keeps the id
    (new_profile,) = parts - {profile}
    assert {key for key, (p, _) in split.items() if p in parts} == profile_records  # no record left or joined
    alone = [key for key in (first, last) if sum(1 for k in profile_records if split[k][0] == split[key][0]) == 1]
    assert alone and all(split[key][1] == "never_link" for key in alone)  # its every link was cut
    # Every other profile kept its records and its id.
    assert {k: v[0] for k, v in split.items() if k not in profile_records} == {
        k: v[0] for k, v in before.items() if k not in profile_records
    }
    assert rows("select old_profile_id, new_profile_id, change_kind from profile_merges") == [
        (profile, new_profile, "split")
    ]
    assert {p for p, _ in objects_per_profile(stack)} >= {profile, new_profile}
    assert_endpoint_holds_the_warehouse(stack)

    # Force-merge: the same two records are one person after all (the never_link is replaced).
    build(project, 3, [(first, last, "must_link", "TICKET-2")], OVERRIDES_BUILD)
    sync(dagbag)
    merged = links()
    assert {merged[key][0] for key in profile_records} == {profile}
    assert merged[first][1] == merged[last][1] == "must_link"
    assert rows(
        "select old_profile_id, new_profile_id, change_kind, recorded_for from profile_merges order by recorded_for"
    ) == [
        (profile, new_profile, "split", datetime(2026, 11, 26, 11)),
        (new_profile, profile, "merge", datetime(2026, 11, 26, 12)),
    ]
    assert rows(f"select count(*) from unified_profiles where profile_id = '{new_profile}'") == [(0,)]
    assert_endpoint_holds_the_warehouse(stack)
    assert new_profile not in {p for p, _ in objects_per_profile(stack)}
