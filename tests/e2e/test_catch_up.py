"""Catching up 18 hours over two days in one landing run builds what hour-by-hour runs build.

Two private stacks (own var/, S3 server, Customer Profiles endpoint) get the same input:
- hour by hour: tests/e2e/hourly_driver.py lands each of the 18 hours in order with
  ``dag.test`` (as the hourly schedule does) and builds over the hours each landing run's
  Asset events report;
- catch-up: the real scheduler, dag-processor and api-server (local/airflow_services.py),
  the runbook's command — ``airflow dags trigger land_engagement_events`` with the 18 hours as
  ``interval_start``/``interval_end`` — and the build its raw-zone Asset events trigger.
Then the raw zones must be byte-identical and the warehouses equal table by table (profiles
up to their ids). The sync DAG stays paused: it reads the marts compared here and writes none of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from include import intervals, settings, streams
from include.landing.partitions import hour_from_key
from local import airflow_services, sample_data, stack
from local.run import upload_input

pytestmark = [pytest.mark.e2e, pytest.mark.longest]

START = datetime(2026, 11, 20, 8, tzinfo=UTC)
HOURS = 18
# Data in one hour of each day, the same people on both (identity carried forward); every
# other hour is empty, so the hourly path builds twice.
DATA_HOURS = (START + timedelta(hours=1), START + timedelta(hours=17))
PEOPLE = 60
LANDING_DAG, BUILD_DAG = "land_engagement_events", "build_warehouse"
# The exact command the on-call engineer runs (the runbook, docs/operations.md): the end is exclusive.
CATCH_UP = [
    "dags", "trigger", LANDING_DAG, "--conf",
    json.dumps({"interval_start": START.isoformat(), "interval_end": (START + timedelta(hours=HOURS)).isoformat()}),
]  # fmt: skip
# History per build: the two paths build over different intervals, so the same people may be
# renumbered at different builds (profile_merges), and each build's clustering is summed up
# under its own interval (profile_cluster_statistics). What the ids point at is compared instead.
NOT_COMPARED = {"profile_merges", "profile_cluster_statistics"}
# Columns holding a profile id: the marts' own, and the MarketingAssignedOffers object's field.
PROFILE_ID_COLUMNS = {"profile_id", "UserId"}
CATCH_UP_TIMEOUT_S = 1800


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("catch-up-input")
    for hour in DATA_HOURS:
        sample_data.generate(out, people=PEOPLE, day=hour, hours=1, seed=5, streams=streams.RAW_STREAMS)
    return out


@contextlib.contextmanager
def private_stack(var_dir: Path):
    """The local stack on free ports for var_dir (its S3 data in var_dir/s3), in its own process
    group; yields (s3_port, profiles_port, aws_port, athena_port)."""
    ports = tuple(stack.free_ports(4))
    env = os.environ | {
        "C360_VAR_DIR": str(var_dir),
        "C360_S3_PORT": str(ports[0]),
        "C360_PROFILES_PORT": str(ports[1]),
        "C360_AWS_PORT": str(ports[2]),
        "C360_ATHENA_PORT": str(ports[3]),  # two stacks run at once: each its own Athena endpoint
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "local_stack.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "local.stack", "serve"],
            cwd=settings.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        subprocess.run([sys.executable, "-m", "local.stack", "ready"], cwd=settings.PROJECT_ROOT, env=env, check=True)
        yield ports
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def metadata(var_dir: Path, sql: str, *args) -> list[tuple]:
    """Read the Airflow metadata database (SQLite) without taking part in its writes."""
    with contextlib.closing(
        sqlite3.connect(f"file:{var_dir / 'airflow' / 'airflow.db'}?mode=ro", uri=True, timeout=30)
    ) as db:
        return db.execute(sql, args).fetchall()


def wait_for_catch_up(var_dir: Path, services: airflow_services.AirflowServices) -> None:
    """Until the catch-up landing run is done and no build is queued, running or still to be triggered."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    while time.monotonic() < deadline:
        services.check_alive()
        (landing_done,) = metadata(
            var_dir,
            "select count(*) = 1 and min(state) in ('success', 'failed') from dag_run "
            "where dag_id = ? and run_type = 'manual'",
            LANDING_DAG,
        )[0]
        (builds_pending,) = metadata(
            var_dir, "select count(*) from dag_run where dag_id = ? and state in ('queued', 'running')", BUILD_DAG
        )[0]
        (events_queued,) = metadata(
            var_dir, "select count(*) from asset_dag_run_queue where target_dag_id = ?", BUILD_DAG
        )[0]
        if landing_done and not builds_pending and not events_queued:
            return
        time.sleep(5)
    raise TimeoutError(f"catch-up not finished in {CATCH_UP_TIMEOUT_S}s: see {var_dir / 'airflow' / 'logs'}")


def raw_zone(s3_port: int) -> dict[str, str]:
    """Every raw-zone object (partitions, quarantine, manifests) → sha256 of its bytes."""
    s3 = stack.s3_client(s3_port)
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.RAW_BUCKET):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=settings.RAW_BUCKET, Key=obj["Key"])["Body"].read()
            objects[obj["Key"]] = hashlib.sha256(body).hexdigest()
    return objects


def in_window(key: str) -> bool:
    hour = hour_from_key(key)
    return hour is not None and START <= hour < START + timedelta(hours=HOURS)


def warehouse(var_dir: Path) -> dict[str, list[tuple]]:
    """Every relation of the main schema as sorted rows; profile ids replaced by their members.

    Ids are minted from the interval of the build that first saw a cluster, so the two paths
    may name one profile differently: a profile is identified by its sorted record keys.
    """
    with duckdb.connect(str(var_dir / "warehouse.duckdb"), read_only=True) as con:
        members = defaultdict(list)
        for record_key, profile_id in con.execute("select record_key, profile_id from profile_links").fetchall():
            members[profile_id].append(record_key)
        label = {profile_id: json.dumps(sorted(keys)) for profile_id, keys in members.items()}
        tables = {}
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1"
        ).fetchall():
            if name in NOT_COMPARED:
                continue
            relation = con.execute(f"select * from main.{name}")
            columns = [c[0] for c in relation.description]
            rows = relation.fetchall()
            for at in [i for i, column in enumerate(columns) if column in PROFILE_ID_COLUMNS]:
                rows = [(*row[:at], label[row[at]], *row[at + 1 :]) for row in rows]
            tables[name] = sorted(rows, key=repr)
    return tables


@pytest.mark.timeout(CATCH_UP_TIMEOUT_S + 600)
def test_catching_up_two_days_in_one_run_equals_the_hourly_runs(input_dir, tmp_path):
    started = time.monotonic()
    hourly_var, catch_up_var = tmp_path / "hourly", tmp_path / "catch_up"
    with private_stack(hourly_var) as hourly_ports, private_stack(catch_up_var) as catch_up_ports:
        # The hour-by-hour path runs beside the scheduler: both wait on different things.
        hourly_env = os.environ | stack.local_environment(*hourly_ports[:2], hourly_var, hourly_ports[2])
        hourly_env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
        # Its output goes to files, not pipes: a pipe nobody reads until the catch-up is done
        # fills up and stalls the driver (it did: 12 min of one build spent blocked on a write).
        with open(tmp_path / "hourly.out", "wb") as out, open(tmp_path / "hourly.log", "wb") as log:
            hourly = subprocess.Popen(
                [sys.executable, "tests/e2e/hourly_driver.py", "--input", str(input_dir),
                 "--start", START.isoformat(), "--hours", str(HOURS)],
                cwd=settings.PROJECT_ROOT, env=hourly_env, stdout=out, stderr=log,
            )  # fmt: skip
        try:
            env = airflow_services.environment(
                catch_up_var, *catch_up_ports[:2], stack.free_port(), aws_port=catch_up_ports[2]
            )
            airflow_services.prepare(env)
            upload_input(stack.s3_client(catch_up_ports[0]), input_dir)
            airflow_services.airflow(env, "dags", "reserialize")
            for dag_id in (LANDING_DAG, BUILD_DAG):
                airflow_services.airflow(env, "dags", "unpause", dag_id)
            catch_up_started = time.monotonic()
            airflow_services.airflow(env, *CATCH_UP)
            with airflow_services.AirflowServices(env) as services:
                wait_for_catch_up(catch_up_var, services)
                catch_up_s = time.monotonic() - catch_up_started
            hourly.wait(timeout=CATCH_UP_TIMEOUT_S)
        finally:
            if hourly.poll() is None:
                hourly.kill()
                hourly.wait()
        assert hourly.returncode == 0, f"hourly path failed: see {tmp_path / 'hourly.log'}"
        hourly_builds = json.loads((tmp_path / "hourly.out").read_text().strip().splitlines()[-1])["builds"]
        hourly_raw, catch_up_raw = raw_zone(hourly_ports[0]), raw_zone(catch_up_ports[0])

    # One landing run covered the 18 hours, and succeeded; every build it triggered succeeded.
    assert metadata(
        catch_up_var, "select state from dag_run where dag_id = ? and run_type = 'manual'", LANDING_DAG
    ) == [("success",)]
    builds = metadata(catch_up_var, "select run_type, state from dag_run where dag_id = ?", BUILD_DAG)
    assert builds and set(builds) == {("asset_triggered", "success")}
    # Every hour a landing run reported was built. Airflow 3.3 may leave events that arrive
    # while a build is queued at max_active_runs for a later trigger (apache/airflow#56050):
    # harmless only while another event of the same hour was consumed.
    built = [intervals.from_dbt_vars(json.loads(value)) for (value,) in metadata(
        catch_up_var,
        "select value from xcom where dag_id = ? and task_id = 'resolve_interval' and key = 'return_value'",
        BUILD_DAG,
    )]  # fmt: skip
    reported = {
        datetime.fromisoformat(hour)
        for (extra,) in metadata(catch_up_var, "select extra from asset_event where extra like '%\"hours\"%'")
        for hour in json.loads(extra)["hours"]
    }
    assert reported == set(DATA_HOURS)
    assert all(any(start <= hour < end for start, end in built) for hour in reported)
    assert len(hourly_builds) == len(DATA_HOURS)  # empty hours wake no build

    # Raw zones: byte-identical for the 18 hours. The unpaused landing DAG also lands the
    # latest wall-clock hour on its own schedule (empty, outside the window).
    assert all(in_window(key) for key in hourly_raw)
    assert {k: v for k, v in catch_up_raw.items() if in_window(k)} == hourly_raw
    assert sum(1 for key in hourly_raw if key.startswith("ses/year=")) == HOURS
    data_manifests = [key for key in hourly_raw if key.endswith("manifest.json") and hour_from_key(key) in DATA_HOURS]
    assert len(data_manifests) == len(DATA_HOURS) * len(streams.RAW_STREAMS)

    hourly_tables, catch_up_tables = warehouse(hourly_var), warehouse(catch_up_var)
    assert hourly_tables.keys() == catch_up_tables.keys()
    for name in ("engagement_events", "conversation_messages", "quarantined_records", "unified_profiles"):
        assert hourly_tables[name], f"{name} is empty: the comparison would prove nothing"
    with duckdb.connect(str(hourly_var / "warehouse.duckdb"), read_only=True) as con:
        ingested = con.execute("select distinct ingest_hour from engagement_events order by 1").fetchall()
    assert [hour.replace(tzinfo=UTC) for (hour,) in ingested] == list(DATA_HOURS)
    for name in sorted(hourly_tables):
        assert catch_up_tables[name] == hourly_tables[name], f"{name} differs between catch-up and hourly runs"
    print(
        f"\ncatch-up: {len(builds)} builds, {catch_up_s:.0f}s from `airflow dags trigger`; "
        f"hourly: {len(hourly_builds)} builds; test {time.monotonic() - started:.0f}s"
    )
