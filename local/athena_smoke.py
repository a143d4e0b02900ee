"""``make athena-smoke``: one hour of sample data through every DAG on a real AWS account, checked, then removed.

It writes to the account, so it refuses (one message naming everything missing) unless the
environment of docs/aws.md is set, dbt's target is ``athena`` with a manifest compiled for it,
the connections resolve to AWS (no endpoint on this machine), the buckets exist, and
``--confirm`` is given. Then: the tiny Athena query (the connection works), one generated hour
(2000-01-01T00:00Z unless ``--hour``) uploaded to the landing bucket, ``land_engagement_events``
and ``build_warehouse`` over it, both syncs, each through ``dag.test``; the checks; and, whatever
happened, the cleanup of what it created, reporting what it could not remove.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from include import settings, streams
from include.orchestration.connections import variable as connection_variable

HOUR = timedelta(hours=1)
DEFAULT_HOUR = datetime(2000, 1, 1, tzinfo=UTC)  # far from any real traffic
PEOPLE, SEED = 20, 11
# docs/aws.md's environment that has no default fit for an account (the alerts topic is optional).
AWS_ENVIRONMENT = (
    "AWS_DEFAULT_REGION",
    "C360_LANDING_BUCKET",
    "C360_RAW_BUCKET",
    "C360_CUSTOMER_PROFILES_DOMAIN",
    "C360_ATHENA_S3_DATA_DIR",
    "C360_ATHENA_SCHEMA",
    "C360_ATHENA_WORK_GROUP",
    "C360_RAW_SCHEMA",
)
# The connections the smoke's DAGs call (alerts: only when a topic is set).
SMOKE_CONNECTIONS = (settings.S3_CONN_ID, settings.CUSTOMER_PROFILES_CONN_ID, settings.ATHENA_CONN_ID)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SES_OBJECT_TYPE = "SesSuppressedDestination"
SYNC_TABLES = ("customer_profiles_sync_state", "customer_profiles_sync_log", "customer_profiles_sync_runs")


class SmokeFailed(Exception):
    """A DAG run or a check that did not come out as it must."""


def endpoints(extra: Mapping) -> list[str]:
    """The endpoint URLs a connection's extra names: its own and each service_config's."""
    urls = [extra.get("endpoint_url")] + [cfg.get("endpoint_url") for cfg in extra.get("service_config", {}).values()]
    return [url for url in urls if url]


def missing_configuration(
    environ: Mapping[str, str],
    connections: Mapping[str, Mapping | None],
    buckets: Mapping[str, bool],
    manifest_adapter: str | None,
    confirmed: bool,
) -> list[str]:
    """What keeps the smoke from running against an account, one line each (empty: it may run).

    ``connections``: each needed connection's extra, None where it does not resolve; ``buckets``:
    whether each exists; ``manifest_adapter``: the adapter dbt/target/manifest.json was compiled for.
    """
    missing = []
    if settings.DBT_TARGET != "athena":
        missing.append(f"C360_DBT_TARGET=athena (it is {settings.DBT_TARGET!r})")
    unset = [name for name in AWS_ENVIRONMENT if not environ.get(name)]
    if unset:
        missing.append("the environment of docs/aws.md: " + ", ".join(unset) + " unset")
    if manifest_adapter != "athena":
        missing.append(
            f"a manifest compiled for Athena (dbt/target/manifest.json is {manifest_adapter or 'missing'}): "
            "cd dbt && dbt parse --target athena --profiles-dir ."
        )
    for conn_id, extra in connections.items():
        if extra is None:
            missing.append(f"the Airflow connection {conn_id} ({connection_variable(conn_id)} or the secrets backend)")
        elif local := [url for url in endpoints(extra) if any(host in url for host in LOOPBACK)]:
            missing.append(f"the connection {conn_id} points at this machine ({', '.join(local)}): the local stack")
    missing += [
        f"the bucket {bucket} (not found through {settings.S3_CONN_ID})" for bucket, ok in buckets.items() if not ok
    ]
    if not confirmed:
        missing.append("--confirm (make athena-smoke CONFIRM=1): the smoke writes to the account, then removes it")
    return missing


@dataclass
class Created:
    """What the smoke put in the account, filled in as it goes: the cleanup's plan."""

    hour: datetime
    landing_keys: list[str] = field(default_factory=list)
    profile_ids: set[str] = field(default_factory=set)
    suppressed_emails: set[str] = field(default_factory=set)
    sync_run_ids: list[str] = field(default_factory=list)  # Airflow run ids of the sync DAGs


def raw_prefixes(hour: datetime) -> list[str]:
    """The raw zone's prefixes of one hour: each stream's partition, quarantine and manifest."""
    from include.landing.partitions import MANIFEST_PREFIX, QUARANTINE_PREFIX, partition_prefix

    return [
        f"{prefix}{partition_prefix(stream, hour)}"
        for stream in streams.RAW_STREAMS
        for prefix in ("", f"{QUARANTINE_PREFIX}/stream=", f"{MANIFEST_PREFIX}/")
    ]


def sync_state_deletes(created: Created) -> list[tuple[str, list]]:
    """The sync tables' rows of the smoke (they outlive builds): its profiles' objects, its
    suppressions and its runs' rows. Each statement names its table as ``{table}``."""
    deletes: list[tuple[str, list]] = []
    state, log, runs = SYNC_TABLES
    for profile_id in sorted(created.profile_ids):
        deletes.append((f"delete from {{{state}}} where profile_id = ?", [profile_id]))
    for email in sorted(created.suppressed_emails):
        for table in (state, log):
            deletes.append(
                (f"delete from {{{table}}} where object_type = ? and object_key = ?", [SES_OBJECT_TYPE, email])
            )
    for run_id in created.sync_run_ids:
        for table in (log, runs):
            deletes.append((f"delete from {{{table}}} where run_id like ?", [f"{run_id}#%"]))
    return deletes


def cleanup_steps(created: Created, clients, rebuild: Callable[[], None], wh) -> list[tuple[str, Callable[[], object]]]:
    """The cleanup, in order: the files first, then the rebuild over the emptied hour (its hourly
    marts empty their hours first, the table marts lose the smoke's records), then what the
    syncs pushed and the rows the sync keeps of it."""
    from include.erasure.customer_profiles import erase_customer_profiles
    from include.erasure.resolution import Person
    from include.landing.partitions import list_objects

    def delete_keys(bucket: str, keys: list[str]) -> int:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys a call
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            errors = clients.s3.delete_objects(Bucket=bucket, Delete={"Objects": batch}).get("Errors", [])
            if errors:
                raise SmokeFailed(f"{len(errors)} of {bucket}'s objects not deleted: {errors[0].get('Code')}")
        return len(keys)

    def raw_zone() -> int:
        keys = [
            o["Key"]
            for prefix in raw_prefixes(created.hour)
            for o in list_objects(clients.s3, settings.RAW_BUCKET, prefix)
        ]
        return delete_keys(settings.RAW_BUCKET, keys)

    def suppressions() -> int:
        for email in sorted(created.suppressed_emails):
            with contextlib.suppress(clients.ses.exceptions.NotFoundException):  # gone already: what we wanted
                clients.ses.delete_suppressed_destination(EmailAddress=email)
        return len(created.suppressed_emails)

    def sync_rows() -> int:
        tables = {name: wh.relation(name) for name in SYNC_TABLES}
        for sql, params in sync_state_deletes(created):
            wh.execute(sql.format(**tables), params)
        return len(sync_state_deletes(created))

    domain = settings.CUSTOMER_PROFILES_DOMAIN
    person = Person(profile_ids=frozenset(created.profile_ids))
    return [
        ("landing objects", lambda: delete_keys(settings.LANDING_BUCKET, created.landing_keys)),
        ("raw-zone partitions and manifests", raw_zone),
        ("warehouse rows (build_warehouse over the emptied hour)", rebuild),
        ("Customer Profiles profiles", lambda: erase_customer_profiles(clients.profiles, domain, person)),
        ("SES suppressions", suppressions),
        ("sync state, log and runs rows", sync_rows),
    ]  # fmt: skip


def run_cleanup(steps: list[tuple[str, Callable[[], object]]], say: Callable[[str], None]) -> list[str]:
    """Every step, each whatever the others did; returns the ones that failed, with why."""
    failed = []
    for name, step in steps:
        try:
            result = step()
            say(f"  removed {name}" + (f": {result}" if isinstance(result, int) else ""))
        except Exception as err:  # noqa: BLE001 — the cleanup goes on and names what it left
            failed.append(f"{name}: {type(err).__name__}: {err}")
            say(f"  NOT removed {name}: {type(err).__name__}: {err}")
    return failed


# -- Against the account ----------------------------------------------------------------------


@dataclass
class Clients:
    s3: object
    profiles: object
    ses: object


def aws_clients() -> Clients:
    from customer360_aws.hooks import AwsClientHook

    def client(conn_id: str, kind: str):
        return AwsClientHook(aws_conn_id=conn_id, client_type=kind).get_conn()

    return Clients(
        client(settings.S3_CONN_ID, "s3"),
        client(settings.CUSTOMER_PROFILES_CONN_ID, "customer-profiles"),
        client(settings.CUSTOMER_PROFILES_CONN_ID, "sesv2"),
    )


def preflight(environ: Mapping[str, str], confirmed: bool) -> list[str]:
    """missing_configuration with the connections, buckets and manifest looked up."""
    import json

    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

    needed = SMOKE_CONNECTIONS + ((settings.ALERTS_CONN_ID,) if settings.alerts_topic_arn() else ())
    connections: dict[str, Mapping | None] = {}
    for conn_id in needed:
        try:
            connections[conn_id] = BaseHook.get_connection(conn_id).extra_dejson
        except AirflowNotFoundException:
            connections[conn_id] = None
    buckets: dict[str, bool] = {}
    if connections.get(settings.S3_CONN_ID) is not None:
        s3 = aws_clients().s3
        for bucket in (settings.LANDING_BUCKET, settings.RAW_BUCKET):
            try:
                s3.head_bucket(Bucket=bucket)
                buckets[bucket] = True
            except Exception:  # noqa: BLE001 — absent, forbidden or unreachable: not usable either way
                buckets[bucket] = False
    manifest = settings.DBT_MANIFEST_PATH
    adapter = json.loads(manifest.read_text())["metadata"].get("adapter_type") if manifest.exists() else None
    return missing_configuration(environ, connections, buckets, adapter, confirmed)


def upload_hour(s3, sample_dir: Path) -> tuple[list[str], int]:
    """Uploads the generated streams to the landing bucket; returns the keys and their lines."""
    files = sorted(p for stream in streams.RAW_STREAMS for p in (sample_dir / stream).rglob("*") if p.is_file())
    keys, lines = [], 0
    for path in files:
        key = path.relative_to(sample_dir).as_posix()
        s3.upload_file(str(path), settings.LANDING_BUCKET, key)
        keys.append(key)
        body = path.read_bytes()
        text = gzip.decompress(body) if path.suffix == ".gz" else body
        lines += text.count(b"\n") + (bool(text) and not text.endswith(b"\n"))  # a last line without its newline
    return keys, lines


def column_values(wh, model: str, column: str) -> set[str]:
    """A mart's distinct values of one column; empty where dbt has not made it yet."""
    from include.warehouse.seam import MissingRelation

    try:
        frame = wh.query_df(f"select distinct {column} as v from {wh.relation(model)}")
    except MissingRelation:
        return set()
    return set(frame["v"].dropna())


def smoke(hour: datetime, people: int, say: Callable[[str], None]) -> int:
    import subprocess

    from airflow.dag_processing.dagbag import DagBag

    from include.orchestration.pools import create_pools
    from include.sync import templates
    from include.sync.config import OBJECT_TYPES
    from include.warehouse import athena
    from include.warehouse.seam import warehouse
    from local import sample_data
    from local.run import failed_tasks

    athena.smoke()  # the connection works before anything is written
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    create_pools()
    dagbag = DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags"), include_examples=False)
    if dagbag.import_errors:
        raise SmokeFailed(f"DAG import errors: {dagbag.import_errors}")
    wh, clients = warehouse(), aws_clients()
    interval = {"interval_start": hour.isoformat(), "interval_end": (hour + HOUR).isoformat()}

    def dag_run(dag_id: str, **kwargs) -> str:
        started = time.monotonic()
        run = dagbag.dags[dag_id].test(logical_date=None, **kwargs)
        if run.state != "success":
            raise SmokeFailed(f"{dag_id} ended {run.state} ({', '.join(failed_tasks(dag_id, run.run_id))})")
        say(f"  {dag_id}: success in {time.monotonic() - started:.1f}s")
        return run.run_id

    profiles_before = column_values(wh, templates.model_name("UnifiedProfile"), "profile_id")
    suppressed_before = column_values(wh, "suppression_list", "email_address")
    created = Created(hour)
    failures: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as sample_dir:
            sample_data.generate(
                Path(sample_dir), people=people, day=hour, hours=1, seed=SEED, streams=streams.RAW_STREAMS
            )
            created.landing_keys, generated = upload_hour(clients.s3, Path(sample_dir))
        say(f"uploaded {len(created.landing_keys)} files ({generated} lines) of {hour:%Y-%m-%d %H:00} UTC")
        dag_run("land_engagement_events", run_conf=interval)
        dag_run("build_warehouse", run_conf=interval)
        # What the syncs will push that was not there: the cleanup's, even if a sync fails.
        created.profile_ids = column_values(wh, templates.model_name("UnifiedProfile"), "profile_id") - profiles_before
        created.suppressed_emails = column_values(wh, "suppression_list", "email_address") - suppressed_before
        for dag_id in ("sync_ses_suppression", "sync_customer_profiles"):
            created.sync_run_ids.append(dag_run(dag_id))
        failures = checks(wh, hour, generated, created, OBJECT_TYPES + (SES_OBJECT_TYPE,), templates.model_name, say)
    except Exception as err:  # noqa: BLE001 — reported, and the cleanup still runs
        failures = [f"{type(err).__name__}: {err}"]
    finally:
        say("cleanup:")
        left = run_cleanup(
            cleanup_steps(created, clients, lambda: dag_run("build_warehouse", run_conf=interval), wh), say
        )
    for line in failures:
        say(f"FAILED {line}")
    if left:
        say("left in the account (remove by hand): " + "; ".join(left))
    say("OK" if not failures and not left else "athena-smoke failed")
    return 0 if not failures and not left else 1


def checks(wh, hour: datetime, generated: int, created: Created, object_types, model_name, say) -> list[str]:
    """The counts: the manifests read every generated line, landing_reconciliation holds what they
    landed and quarantined, every mart row was synced (sent, or unchanged where the account already
    had it); the failures. The gate passed: build_warehouse succeeded, and its validate tasks fail it."""
    from include.warehouse.seam import records

    def one(sql: str, params: list) -> list[dict]:
        return records(wh.query_df(sql, params))

    failures = []
    manifests = hour_manifests(hour)
    read = sum(m["lines_read"] for m in manifests.values())
    say(f"the manifests read {read} lines; {generated} generated")
    if read != generated:
        failures.append(f"the manifests read {read} lines, {generated} were generated")
    for row in one(
        "select stream, cast(sum(raw_records) as bigint) as raw, "
        "cast(sum(quarantined_records) as bigint) as quarantined "
        f"from {wh.relation('landing_reconciliation')} where ingest_hour = ? group by stream",
        [hour.replace(tzinfo=None)],
    ):
        manifest = manifests.get(row["stream"], {"landed": 0, "quarantined": 0})
        if (row["raw"], row["quarantined"]) != (manifest["landed"], manifest["quarantined"]):
            failures.append(
                f"landing_reconciliation {row['stream']}: landed {row['raw']}, quarantined {row['quarantined']}; "
                f"its manifest: {manifest['landed']}, {manifest['quarantined']}"
            )
    for object_type in object_types:
        model = "suppression_list" if object_type == SES_OBJECT_TYPE else model_name(object_type)
        (rows,) = one(f"select count(*) as n from {wh.relation(model)}", [])
        (runs,) = one(
            "select cast(sum(sent) as bigint) as sent, cast(sum(unchanged) as bigint) as unchanged, "
            f"cast(sum(failed + dead_lettered) as bigint) as failed from {wh.relation('customer_profiles_sync_runs')} "
            "where object_type = ? and (run_id like ? or run_id like ?)",
            [object_type] + [f"{run_id}#%" for run_id in created.sync_run_ids],
        )
        sent, unchanged, failed = (runs[k] or 0 for k in ("sent", "unchanged", "failed"))
        say(f"  {object_type}: {rows['n']} rows in {model}; sent {sent}, unchanged {unchanged}, failed {failed}")
        if sent + unchanged != rows["n"] or failed:
            failures.append(f"{object_type}: {rows['n']} rows in {model}, but sent {sent} + unchanged {unchanged}")
    return failures


def hour_manifests(hour: datetime) -> dict[str, dict]:
    """The hour's landing manifests by stream (each already checked: read = landed + quarantined + skipped)."""
    from include.landing.partitions import read_manifest

    s3 = aws_clients().s3
    manifests = {stream: read_manifest(s3, settings.RAW_BUCKET, stream, hour) for stream in streams.RAW_STREAMS}
    return {stream: manifest for stream, manifest in manifests.items() if manifest is not None}


def main(argv: list[str] | None = None) -> int:
    import os

    from local import progress

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--confirm", action="store_true", help="write to the account (and remove it after)")
    parser.add_argument(
        "--hour", type=datetime.fromisoformat, default=DEFAULT_HOUR, help="the hour, UTC (2000-01-01T00:00Z)"
    )
    parser.add_argument("--people", type=int, default=PEOPLE, help="how many sample people")
    parser.add_argument("--verbose", action="store_true", help="task logs on the console")
    args = parser.parse_args(argv)
    hour = args.hour.astimezone(UTC) if args.hour.tzinfo else args.hour.replace(tzinfo=UTC)

    missing = preflight(os.environ, args.confirm)
    if missing:
        print(
            "make athena-smoke refuses to run; missing:\n  - " + "\n  - ".join(missing) + "\n(docs/aws.md)",
            file=sys.stderr,
        )
        return 2
    log = settings.VAR_DIR / "logs" / "athena-smoke.log"
    with progress.console_to_log(log, args.verbose) as console:
        return smoke(hour, args.people, lambda line: console.write(line + "\n"))


if __name__ == "__main__":
    sys.exit(main())
