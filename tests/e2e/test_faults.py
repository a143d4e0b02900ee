"""Fault tests on the real local stack: an S3 read error on one landing file, a landing killed
mid-way, a Customer Profiles sync killed mid-way. Each retry must end where a clean run ends:
nothing lost, nothing counted or sent twice."""

from __future__ import annotations

import gzip
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from include import intervals, settings, streams
from include.landing import tasks
from include.landing.partitions import (
    MANIFEST_PREFIX,
    PART_NAME,
    QUARANTINE_PREFIX,
    hour_floor,
    hour_from_key,
    partition_prefix,
)
from include.orchestration import connections
from include.sync import config, templates
from include.sync.engine import Item
from include.warehouse.seam import DuckDBWarehouse
from local import sample_data
from local.run import upload_input
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, s3_client
from tests.e2e.s3_fault_proxy import INTERNAL_ERROR, TRUNCATED, S3FaultProxy

pytestmark = pytest.mark.e2e
DAY = datetime(2026, 11, 24, tzinfo=UTC)  # a day no other e2e module lands
HOUR = timedelta(hours=1)
FIRST_HOUR, LAST_HOUR = DAY, DAY + HOUR  # the sample's two hours
# The killed sync: slow enough to be killed mid-way, checkpointing often enough to have recorded some.
KILLED_SYNC_ENV = {"C360_SYNC_REQUESTS_PER_SECOND": "10", "C360_SYNC_CHECKPOINT_SECONDS": "0.2"}
THROTTLE_RATE = 0.2
S3_CONN_VAR = connections.variable(settings.S3_CONN_ID)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The shared S3 port (Airflow's connections point there) with a private Customer Profiles state.
    running = LocalStack(tmp_path_factory.mktemp("faults-var"), S3_PORT, PROFILES_PORT, THROTTLE_RATE).start()
    # Its S3 data is under its own var dir (fresh), the warehouse file is the session's: start from
    # empty buckets and no warehouse, and leave neither behind.
    _drop_state()
    yield running
    _drop_state()
    running.stop()


def _drop_state() -> None:
    s3 = s3_client()
    for bucket in (settings.LANDING_BUCKET, settings.RAW_BUCKET):
        try:
            keys = object_keys(s3, bucket)
        except s3.exceptions.NoSuchBucket:
            continue
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]})
        s3.delete_bucket(Bucket=bucket)
    for path in (settings.WAREHOUSE_PATH, settings.WAREHOUSE_PATH.with_name(settings.WAREHOUSE_PATH.name + ".wal")):
        path.unlink(missing_ok=True)


def object_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


@pytest.fixture(scope="module")
def sample(stack, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults-input")
    sample_data.generate(out, people=80, day=DAY, hours=2, seed=23, streams=streams.RAW_STREAMS)
    upload_input(s3_client(), out)
    return out


# -- the raw zone ------------------------------------------------------------------------------
def raw_hour(s3, hour: datetime) -> dict[str, bytes]:
    """Every raw-zone object of ``hour``: each stream's partition, quarantine partition and manifest."""
    partition = partition_prefix("", hour)  # "/year=…/hour=HH/"
    return {
        key: s3.get_object(Bucket=settings.RAW_BUCKET, Key=key)["Body"].read()
        for key in object_keys(s3, settings.RAW_BUCKET)
        if partition in key
    }


def wipe_raw_hour(s3, hour: datetime) -> None:
    for key in raw_hour(s3, hour):
        s3.delete_object(Bucket=settings.RAW_BUCKET, Key=key)
    assert not raw_hour(s3, hour)


def land_clean(s3, hour: datetime, names: tuple[str, ...] = streams.RAW_STREAMS) -> dict[str, bytes]:
    """What an undisturbed landing of ``hour`` writes."""
    for stream in names:
        tasks.land(s3, stream, [hour])
    return raw_hour(s3, hour)


def keys_of(stream: str, hour: datetime) -> tuple[str, str, str]:
    """The hour's landed partition file, quarantine partition file and manifest."""
    partition = partition_prefix(stream, hour)
    return (
        partition + PART_NAME,
        f"{QUARANTINE_PREFIX}/stream={partition}{PART_NAME}",
        f"{MANIFEST_PREFIX}/{partition}manifest.json",
    )


def rows(part: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(part).decode().splitlines()]


def landing_keys(s3, stream: str, hour: datetime) -> list[str]:
    return sorted(key for key in object_keys(s3, settings.LANDING_BUCKET, f"{stream}/") if hour_from_key(key) == hour)


def assert_counted_once(raw: dict[str, bytes], stream: str, hour: datetime, files: list[str]) -> None:
    """The manifest reconciles with what was written and names each landing file once."""
    landed_key, quarantine_key, manifest_key = keys_of(stream, hour)
    manifest = json.loads(raw[manifest_key])
    landed, quarantined = rows(raw[landed_key]), rows(raw[quarantine_key])
    assert [f["key"] for f in manifest["source_files"]] == files
    assert (manifest["landed"], manifest["quarantined"]) == (len(landed), len(quarantined))
    whole_lines = manifest["quarantined"] - manifest["quarantined_items"]
    assert manifest["lines_read"] == manifest["landed"] + whole_lines + sum(manifest["skipped_lines"].values())
    assert manifest["lines_read"] == sum(f["lines"] for f in manifest["source_files"])
    landed_lines = [(row["source_key"], row["line_no"]) for row in landed]
    assert len(landed_lines) == len(set(landed_lines))  # no line landed twice
    assert manifest["landed"] > 0 and manifest["quarantined"] > 0  # the sample breaks a few lines on purpose


# -- 1. an S3 error on one landing file --------------------------------------------------------
def test_an_s3_error_on_one_file_fails_the_attempt_and_the_retry_lands_the_hour_once(
    stack, sample, dagbag, monkeypatch
):
    s3 = s3_client()
    files = landing_keys(s3, "customers", LAST_HOUR)
    assert len(files) == 2  # the CRM export and the web accounts
    clean = land_clean(s3, LAST_HOUR)
    wipe_raw_hour(s3, LAST_HOUR)

    # The second file, read after the first: an error status (botocore retries it), then a connection
    # dropped mid-body (the task attempt fails; Airflow retries the task).
    with S3FaultProxy(S3_PORT, settings.LANDING_BUCKET, files[-1], [INTERNAL_ERROR, TRUNCATED]) as proxy:
        conn = json.loads(os.environ[S3_CONN_VAR])
        monkeypatch.setenv(S3_CONN_VAR, json.dumps(conn | {"extra": conn["extra"] | {"endpoint_url": proxy.url}}))
        # A manual run's data interval is the hour before its logical date.
        run = dagbag.dags["land_engagement_events"].test(logical_date=LAST_HOUR + HOUR)

    assert run.state == "success"
    assert (proxy.served, proxy.gets) == ([INTERNAL_ERROR, TRUNCATED], 3)
    tries = {ti.task_id: ti.try_number for ti in run.get_task_instances() if ti.task_id.startswith("land_")}
    assert tries == {f"land_{s}": 2 if s == "customers" else 1 for s in streams.RAW_STREAMS}
    # One report for the build, after the retried stream.
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert (states["report_landed"], states["fail_if_a_stream_failed"]) == ("success", "skipped")
    landed = raw_hour(s3, LAST_HOUR)
    assert sorted(landed) == sorted(clean)
    assert {k: landed[k] for k in clean if landed[k] != clean[k]} == {}  # records and manifests, byte for byte
    assert_counted_once(landed, "customers", LAST_HOUR, files)


# -- 2. a landing killed mid-way ---------------------------------------------------------------
# Lands one hour of one stream; pauses just before writing the quarantine partition (the landed
# partition is written by then) and says so, to be killed there.
KILLED_LANDING = """
import sys, time
from datetime import datetime
from include.landing import tasks
from local import stack

def pause(params, **kwargs):
    if params["Key"].startswith("_quarantine/"):
        print("paused", flush=True)
        time.sleep(600)

s3 = stack.s3_client()
s3.meta.events.register("before-parameter-build.s3.PutObject", pause)
tasks.land(s3, sys.argv[1], [datetime.fromisoformat(sys.argv[2])])
"""


def test_a_landing_killed_mid_way_is_made_whole_by_the_next_run(stack, sample):
    s3 = s3_client()
    stream, hour = "ses", FIRST_HOUR
    (first_file,) = landing_keys(s3, stream, hour)
    wipe_raw_hour(s3, hour)  # the first test's scheduled run landed it, as a never-landed hour of its lookback
    before = land_clean(s3, hour, (stream,))  # an earlier run, before a late Firehose file arrived
    lines = gzip.decompress(s3.get_object(Bucket=settings.LANDING_BUCKET, Key=first_file)["Body"].read()).splitlines()
    late_file = first_file.rsplit("/", 1)[0] + "/ses-firehose-late.gz"
    s3.put_object(
        Bucket=settings.LANDING_BUCKET, Key=late_file, Body=gzip.compress(b"\n".join([*lines[:5], b'{"mail": ']))
    )
    clean = land_clean(s3, hour, (stream,))
    landed_key, quarantine_key, manifest_key = keys_of(stream, hour)
    assert all(before[k] != clean[k] for k in (landed_key, quarantine_key, manifest_key))
    wipe_raw_hour(s3, hour)
    for key, body in before.items():  # the raw zone as the earlier run left it
        s3.put_object(Bucket=settings.RAW_BUCKET, Key=key, Body=body)

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_LANDING, stream, hour.isoformat()],
        cwd=settings.PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "paused\n"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    # Killed half-way: the new landed partition beside no quarantine partition and the old manifest.
    partial = raw_hour(s3, hour)
    assert sorted(partial) == sorted([landed_key, manifest_key])
    assert (partial[landed_key], partial[manifest_key]) == (clean[landed_key], before[manifest_key])

    tasks.land(s3, stream, [hour])  # the retry
    relanded = raw_hour(s3, hour)
    assert sorted(relanded) == sorted(clean)  # no partial or stale file left
    assert {k: relanded[k] for k in clean if relanded[k] != clean[k]} == {}
    assert_counted_once(relanded, stream, hour, [first_file, late_file])


# -- 3. a Customer Profiles sync killed mid-way ------------------------------------------------
def dbt(args: list[str], work: Path) -> None:
    """dbt on the local target with its target and logs under work; fails the test with dbt's output."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", ".", "--target", "local"]
        + ["--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=settings.DBT_PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture(scope="module")
def warehouse(stack, sample, tmp_path_factory):
    """The sample landed and built by dbt into the marts the sync reads (one dbt process, no tests)."""
    s3 = s3_client()
    for stream in streams.RAW_STREAMS:
        tasks.land(s3, stream, [FIRST_HOUR, LAST_HOUR])
    work = tmp_path_factory.mktemp("faults-dbt")
    interval = intervals.dbt_vars(FIRST_HOUR, LAST_HOUR + HOUR)
    object_types = [f"+{templates.model_name(name)}" for name in config.OBJECT_TYPES]
    marts = [*object_types, "+profile_merges", "+suppression_list", "path:models/sync"]
    for args in (
        ["run-operation", "create_raw_relations"],
        ["seed"],
        ["run", "--select", *marts, "+engagement_event_outcomes", "--vars", json.dumps(interval)],
    ):
        dbt(args, work)


def warehouse_items() -> dict[str, list[Item]]:
    return {name: templates.load_object_type(name).items(DuckDBWarehouse()) for name in config.OBJECT_TYPES}


def endpoint_rows(stack, sql: str) -> list[tuple]:
    with sqlite3.connect(stack.profiles.state_path) as db:
        return db.execute(sql).fetchall()


def accepted_batches(stack) -> int:
    found = endpoint_rows(
        stack, "select n from request_counts where operation = 'BatchPutProfileObject' and outcome = 'ok'"
    )
    return found[0][0] if found else 0


def endpoint_bodies(stack) -> dict[str, list[dict]]:
    held: dict[str, list[dict]] = {}
    for object_type, body in endpoint_rows(stack, "select object_type, body from profile_objects"):
        held.setdefault(object_type, []).append(json.loads(body))
    return {name: sorted(bodies, key=json.dumps) for name, bodies in held.items()}


def synced_state() -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH)) as con:  # read-write: replays a killed writer's WAL
        found = con.execute(
            "select object_type, object_key, content_hash, failed_hash, dead_lettered "
            "from customer_profiles_sync_state where object_type in (select unnest(?::varchar[]))",
            [list(config.OBJECT_TYPES)],
        ).fetchall()
    return {(t, k): (h, failed, dead) for t, k, h, failed, dead in found}


def sync_runs(run_id: str) -> dict[str, tuple[int, int, int]]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        found = con.execute(
            "select object_type, sent, unchanged, failed from customer_profiles_sync_runs "
            "where run_id like ? and object_type in (select unnest(?::varchar[]))",
            [f"{run_id}#%", list(config.OBJECT_TYPES)],
        ).fetchall()
    return {t: (sent, unchanged, failed) for t, sent, unchanged, failed in found}


# The sync DAG run by Airflow in a process of its own, to be SIGKILLed.
KILLED_SYNC = """
import os
from airflow.dag_processing.dagbag import DagBag
dags = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
dag = DagBag(dag_folder=f"{dags}/sync_customer_profiles.py").dags["sync_customer_profiles"]
dag.test(logical_date=None)
"""


def test_a_sync_killed_mid_way_resumes_to_exactly_the_warehouse(stack, warehouse, dagbag, tmp_path):
    items = warehouse_items()
    expected = {name: sorted((json.loads(i.body) for i in found), key=json.dumps) for name, found in items.items()}
    profiles = len(items[config.PROFILE_TYPE])
    # Profiles go first, alone: the kill comes eight batches into the next type (one of the attached ones).
    kill_after = math.ceil(profiles / 10) + 8
    attached = [name for name in items if name != config.PROFILE_TYPE]
    assert profiles > 50 and all(len(items[name]) > 8 * 10 for name in attached)

    with open(tmp_path / "killed-sync.log", "w") as log:
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_SYNC],
            cwd=settings.PROJECT_ROOT,
            env=os.environ | KILLED_SYNC_ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while accepted_batches(stack) < kill_after:
            assert child.poll() is None, (tmp_path / "killed-sync.log").read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
    time.sleep(0.2)  # a request the child had fully sent may still be being answered
    held_at_kill = sum(len(bodies) for bodies in endpoint_bodies(stack).values())
    assert 0 < held_at_kill < sum(len(found) for found in items.values())
    recorded = {
        name: sum(1 for (t, k), (h, _, _) in synced_state().items() if t == name and h is not None)
        for name in config.OBJECT_TYPES
    }
    assert recorded[config.PROFILE_TYPE] == profiles  # finished before the kill
    part_way = [name for name in attached if 0 < recorded[name] < len(items[name])]
    assert len(part_way) == 1  # killed part-way through a type, after some of its checkpoints

    resumed = dagbag.dags["sync_customer_profiles"].test(logical_date=None)  # "clear it; it resumes"
    assert resumed.state == "success"
    # It sends exactly what the killed run had not recorded; what was recorded is unchanged.
    assert sync_runs(resumed.run_id) == {
        name: (len(found) - recorded[name], recorded[name], 0) for name, found in items.items()
    }

    # Customer Profiles holds exactly the warehouse's objects, each profile once.
    assert endpoint_bodies(stack) == expected
    accounts = [json.loads(body).get("AccountNumber") for (body,) in endpoint_rows(stack, "select body from profiles")]
    assert len(accounts) == len(set(accounts)) == profiles
    # The sync state says what was pushed, object for object, with nothing failed or dead-lettered.
    assert synced_state() == {
        (name, item.key): (item.content_hash, None, False) for name, found in items.items() for item in found
    }

    batches = accepted_batches(stack)
    again = dagbag.dags["sync_customer_profiles"].test(logical_date=None)
    assert again.state == "success"
    assert sync_runs(again.run_id) == {name: (0, len(found), 0) for name, found in items.items()}
    assert accepted_batches(stack) == batches


# -- 4. poison files beside good ones in one hour ----------------------------------------------
POISON_HOUR = DAY + 6 * HOUR  # an hour no other test of this module lands


def poison_hour_files() -> dict[str, bytes]:
    """The hour's landing files: good events of the shapes AWS publishes, and beside them poison."""
    from tests.unit import test_hostile_inputs as hostile

    def lines(*records) -> bytes:
        return "\n".join(r if isinstance(r, str) else hostile.line(r) for r in records).encode()

    prefix = f"{POISON_HOUR:%Y/%m/%d/%H}"
    late = hostile.bounce(timestamp="2017-08-05T00:41:02.669Z") | {"eventType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "ana@example.com"}], "timestamp": "2017-08-05T00:41:02.669Z",
        "complaintFeedbackType": "abuse"}}  # fmt: skip
    statuses = [hostile.status(), hostile.status(id="wamid.C", timestamp="soon")]
    return {
        f"ses/{prefix}/good.json": lines(hostile.SES, hostile.SES_NOTIFICATION, late),
        f"ses/{prefix}/poison.gz": hostile.truncated_gzip(),  # two lines land, the cut one does not
        f"ses/{prefix}/poison.json": b"\n".join(
            [
                b"[" * 50_000,
                b'{"eventType":"Send","mail":{"messageId":"x"},"s":"caf\xe9"}',
                hostile.line(hostile.mail(destination="a@example.com")).encode(),
                hostile.line(hostile.bounce(timestamp="9999-12-31T23:59:59-01:00")).encode(),
                hostile.line(hostile.mail(commonHeaders={"subject": "x"})).replace('"x"', '"\\ud800"').encode(),
                b'{"eventType":"Send","mail":{"messageId":"y","timestamp":NaN}}',
            ]
        ),  # fmt: skip
        f"sms_voice/{prefix}/mixed.json": lines(
            hostile.VOICE,
            hostile.sms(originationPhoneNumber="BRANDSMS", messageId="sms-2"),
            hostile.sms(messageId="sms-3", totalMessagePrice="free"),
            hostile.sms(messageId="sms-4", eventTimestamp=1.5),
        ),  # fmt: skip
        f"whatsapp/{prefix}/mixed.json": lines(hostile.whatsapp(statuses=statuses), hostile.whatsapp(statuses=3)),
        "ses/2026/13/45/99/misfiled.json": lines(hostile.SES),  # no such hour: refused where uploaded
    }


def test_poison_beside_good_files_in_one_hour_lands_the_good_and_builds(stack, tmp_path):
    s3 = s3_client()
    for key, body in poison_hour_files().items():  # as make run INPUT=<dir> would upload them
        (tmp_path / "input" / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "input" / key).write_bytes(body)
    upload_input(s3, tmp_path / "input")

    landed = {stream: tasks.land(s3, stream, [POISON_HOUR]) for stream in streams.RAW_STREAMS}  # none raises

    assert {s: (r["landed"], r["quarantined"]) for s, r in landed.items() if r["lines_read"]} == {
        "ses": (5, 7), "sms_voice": (2, 2), "whatsapp": (1, 2),
    }  # fmt: skip
    raw = raw_hour(s3, POISON_HOUR)
    manifests = {s: json.loads(raw[keys_of(s, POISON_HOUR)[2]]) for s in ("ses", "sms_voice", "whatsapp")}
    assert manifests["ses"]["quarantine_reasons"] == {
        "invalid_gzip": 1, "too_deep": 1, "invalid_utf8": 1, "not_a_list": 1, "implausible_timestamp": 1,
        "invalid_unicode": 1, "invalid_json": 1,
    }  # fmt: skip
    assert manifests["ses"]["lines_read"] == 3 + 3 + 6  # good.json, poison.gz (2 + the cut rest), poison.json
    assert manifests["whatsapp"]["quarantine_reasons"] == {"implausible_timestamp": 1, "not_a_list": 1}
    for stream, files in (("ses", 3), ("sms_voice", 1), ("whatsapp", 1)):
        landed_key, quarantine_key, _ = keys_of(stream, POISON_HOUR)
        manifest = manifests[stream]
        assert (manifest["landed"], manifest["quarantined"]) == (
            len(rows(raw[landed_key])),
            len(rows(raw[quarantine_key])),
        )
        whole = manifest["quarantined"] - manifest["quarantined_items"]
        assert manifest["lines_read"] == manifest["landed"] + whole + sum(manifest["skipped_lines"].values())
        assert len(manifest["source_files"]) == files
    # The misfiled key is refused in its upload hour, never landed as an hour of its own.
    (misfiled,) = [key for key in poison_hour_files() if "/13/" in key]
    assert tasks.hours_to_land(s3, "ses", {}, None, [{"keys": [misfiled]}]) == [hour_floor(datetime.now(UTC))]
    s3.delete_object(Bucket=settings.LANDING_BUCKET, Key=misfiled)  # the other tests read every key's hour

    # The hour builds (models and their tests) and passes the gate's engagement checkpoints.
    interval = intervals.dbt_vars(POISON_HOUR, POISON_HOUR + HOUR)
    for args in (
        ["run-operation", "create_raw_relations"],
        ["build", "--select", "+engagement_events", "+landing_reconciliation", "--exclude", "test_type:unit",
         "--vars", json.dumps(interval)],
    ):  # fmt: skip
        dbt(args, tmp_path)
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        events = con.execute(
            "select message_id, type, destination_address from engagement_events where ingest_hour = ? order by all",
            [POISON_HOUR.replace(tzinfo=None)],
        ).fetchall()
    assert ("voice-1", None, []) in events and ("sms-2", "TRANSACTIONAL", ["+447700900123"]) in events
    # ses 3 (poison.gz's two lines re-deliver good.json's; a Bounce and a Complaint of one message stay two),
    # sms 2, whatsapp 1
    assert len(events) == 6

    from include.quality.gate import gate
    from include.quality.tasks import validate_engagement

    summaries = gate(validate_engagement(s3, interval), POISON_HOUR, POISON_HOUR + HOUR)
    (events_suite,) = [summary for summary in summaries if summary["suite"] == "engagement_events"]
    assert events_suite["failed"] == 0 and len(events_suite["warnings"]) == 1  # the 2017 receipt, counted
