"""``make run``: the whole pipeline through Airflow on the embedded local stack.

Uploads the input directory (or freshly generated sample data) to the landing bucket, runs
``land_engagement_events`` once over the hours its files hold (first to last; the files of
earlier runs stay in the bucket, landed already), ``build_warehouse`` over those hours,
``sync_ses_suppression`` and ``sync_customer_profiles``, each as a real Airflow DAG run
(``dag.test``), then prints a summary. The console shows a line per finished step (``local/progress.py``);
task logs go to ``var/logs/make-run.log`` (``--verbose``: to the console). The local stack must
be up (the Makefile starts it).
"""

from __future__ import annotations

import argparse
import json
import os
import string
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from include import settings, streams
from local import progress, stack

HOUR = timedelta(hours=1)


def upload_input(s3, input_dir: Path) -> list[str]:
    """Mirror ``input_dir``'s stream folders into the landing bucket; returns the keys uploaded
    (``<stream>/…``). Anything else in it (the sample's ``_truth/``) is not landing input."""
    stack.create_buckets(s3, (settings.LANDING_BUCKET, settings.RAW_BUCKET))  # where missing
    files = sorted(
        p
        for stream in streams.RAW_STREAMS
        for p in (input_dir / stream).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    keys = [path.relative_to(input_dir).as_posix() for path in files]
    for path, key in zip(files, keys, strict=True):
        s3.upload_file(str(path), settings.LANDING_BUCKET, key)
    return keys


def log_path() -> Path:
    """Where the last make run's task logs, dbt output and library warnings go (the console gets progress)."""
    return settings.VAR_DIR / "logs" / "make-run.log"


def stages_path() -> Path:
    """The last make run's stage times in seconds, as JSON (bench/local_loop.py reads them)."""
    return settings.VAR_DIR / "logs" / "make-run-stages.json"


def run_dag(dagbag, dag_id: str, label: str = "", **kwargs) -> float:
    """One DAG run through ``dag.test``; returns its wall time. A run that did not succeed ends make run."""
    started = time.monotonic()
    run = dagbag.dags[dag_id].test(**kwargs)
    elapsed = time.monotonic() - started
    if run.state != "success":
        failed = ", ".join(failed_tasks(dag_id, run.run_id))
        raise SystemExit(f"{dag_id} ended {run.state} ({failed}): the task logs are in {log_path()}")
    print(f"  {dag_id} {label}: {run.state} in {elapsed:.1f}s", flush=True)
    return elapsed


def failed_tasks(dag_id: str, run_id: str) -> list[str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return sorted(
            session.scalars(
                select(TaskInstance.task_id).where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.run_id == run_id,
                    TaskInstance.state.in_(["failed", "upstream_failed"]),
                )
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, help="directory of <stream>/… files (default: sample data)")
    parser.add_argument("--people", type=int, default=2000, help="sample-data size when no --input")
    parser.add_argument("--verbose", action="store_true", help="every log line on the console, not in the log file")
    args = parser.parse_args(argv)

    os.environ.update(stack.local_environment())
    with progress.console_to_log(log_path(), args.verbose) as console:
        return run(args.input, args.people, console)


def start_execution_api() -> None:
    """Airflow's in-process execution API, which dag.test's tasks call: its first request costs ~5 s of
    imports and Cadwyn's versioned routes. Started on a thread while ``airflow db migrate`` runs in its
    subprocess (the GIL is free then), so the first landing task does not wait for it."""
    import httpx
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    api = in_process_api_server()  # the instance dag.test's tasks use (cached per process)
    httpx.Client(transport=api.transport, base_url="http://in-process.invalid./").get("/execution/")  # a 404


def import_the_gate() -> None:
    """The gate's modules (Great Expectations, pandas, the identity model: ~2.5 s of imports), imported
    on a thread while the build's dbt runs in its subprocess, not by the validate task after it."""
    import great_expectations.expectations  # noqa: F401

    import include.quality.tasks  # noqa: F401


def run(input_dir: Path | None, people: int, console: TextIO) -> int:
    started = time.monotonic()
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    api_started = threading.Thread(target=start_execution_api, name="start-execution-api", daemon=True)
    api_started.start()
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    from include.orchestration.pools import create_pools

    create_pools()

    from include.landing.land import discover_hours
    from local import sample_data

    if input_dir is None:
        input_dir = settings.VAR_DIR / "sample"
        counts = sample_data.generate(input_dir, people=people, streams=streams.RAW_STREAMS)
        console.write(
            f"generated sample data in {input_dir}: "
            + ", ".join(
                f"{s} {c['events']} events" if "events" in c else f"{s} {c['records']} records"
                for s, c in counts.items()
            )
            + "\n"
        )
    if not input_dir.is_dir():
        raise SystemExit(f"--input {input_dir} is not a directory")

    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if dagbag.import_errors:
        raise SystemExit(f"DAG import errors: {dagbag.import_errors}")
    api_started.join()  # before a task can call it: its first request is not safe to race
    stages = {"setup": time.monotonic() - started}  # metadata DB, execution API, sample data, parsing the DAGs

    pipeline_started = time.monotonic()
    s3 = stack.s3_client()
    uploaded = upload_input(s3, input_dir)
    console.write(f"uploaded {len(uploaded)} files from {input_dir}\n")
    # This input's hours: the bucket keeps earlier runs' files, whose hours are landed already.
    hours = discover_hours(s3, settings.LANDING_BUCKET, streams.RAW_STREAMS, uploaded)
    if not hours:
        raise SystemExit(f"no records found under {input_dir}/<stream>/ for streams {streams.RAW_STREAMS}")
    stages["upload"] = time.monotonic() - pipeline_started
    console.write(f"covering {len(hours)} hours: {hours[0]:%Y-%m-%d %H:00} … {hours[-1]:%Y-%m-%d %H:00} UTC\n")
    covered = {"interval_start": hours[0].isoformat(), "interval_end": (hours[-1] + HOUR).isoformat()}
    # One landing run over every hour (a catch-up run), one build over them, then the syncs.
    runs = [
        ("landing", "land_engagement_events", {"run_conf": covered}),
        ("build", "build_warehouse", {"run_conf": covered}),
        ("suppressions", "sync_ses_suppression", {}),
        ("sync", "sync_customer_profiles", {}),
    ]
    for stage, dag_id, kwargs in runs:
        if stage == "build":
            threading.Thread(target=import_the_gate, name="import-the-gate", daemon=True).start()
        with progress.DagRunProgress(console, dag_id) as dag_run_progress:
            stages[stage] = run_dag(dagbag, dag_id, logical_date=None, **kwargs)
        console.write(f"  {stage:<8} {dag_id} done in {stages[stage]:.1f}s\n")
        if stage == "build":
            stages["dbt build"] = dag_run_progress.durations.get(progress.PRODUCER_TASK, 0.0)
            stages["gate"] = dag_run_progress.durations.get("validate", 0.0)
    stages["pipeline"] = time.monotonic() - pipeline_started
    stages_path().write_text(json.dumps(stages, indent=1))
    print_summary(console, stages)
    return 0


def print_summary(console: TextIO, stages: dict[str, float]) -> None:
    from include.warehouse.connection import connect
    from include.warehouse.seam import records, warehouse

    wh = warehouse()  # the marts, on dbt's target; the sync's own tables stay in DuckDB

    def say(line: str) -> None:
        console.write(line + "\n")

    def rows(sql: str) -> list[tuple]:
        """A query over dbt models named {model}, through the warehouse seam."""
        models = {name: wh.relation(name) for _, name, _, _ in string.Formatter().parse(sql) if name}
        return [tuple(row.values()) for row in records(wh.query_df(sql.format(**models)))]

    say("\n== customer360 run summary ==")
    say(
        f"pipeline time: {stages['pipeline']:.1f}s: upload {stages['upload']:.1f}s, "
        f"landing {stages['landing']:.1f}s, build {stages['build']:.1f}s "
        f"(dbt build {stages['dbt build']:.1f}s, gate {stages['gate']:.1f}s), "
        f"suppressions {stages['suppressions']:.1f}s, sync {stages['sync']:.1f}s; "
        f"before it, setup {stages['setup']:.1f}s (Airflow's DB and execution API, sample data, DAGs)"
    )
    where = settings.WAREHOUSE_PATH if wh.engine == "duckdb" else f"Athena database {settings.ATHENA_SCHEMA}"
    say(f"warehouse: {where}   task logs: {log_path()}")
    reports = settings.VAR_DIR / "reports"
    say(f"dashboard: {reports / 'engagement-latest.html'}   data docs: {reports / 'data_docs' / 'index.html'}")
    for stream, raw, canonical, quarantined in rows(
        "select stream, cast(sum(raw_records) as bigint), cast(sum(canonical_events) as bigint), "
        "cast(sum(quarantined_records) as bigint) from {landing_reconciliation} group by stream order by stream"
    ):
        say(f"  {stream:<20} landed {raw:>8}  canonical events {canonical:>8}  quarantined {quarantined:>5}")
    for reason, n in rows("select reason, count(*) from {quarantined_records} group by reason order by reason"):
        say(f"    quarantined: {reason:<22} {n}")
    ((profiles,),) = rows("select count(*) from {unified_profiles}")
    links = rows("select matched_by, count(*) from {profile_links} group by 1 order by 2 desc, 1")
    matched = ", ".join(f"{how} {n}" for how, n in links)
    ((merges,),) = rows("select count(*) from {profile_merges}")
    say(f"  unified profiles {profiles}; source records linked by {matched}; id changes recorded {merges}")
    with connect(read_only=True) as con:
        for object_type, sent, unchanged, failed, dead in con.execute(
            # Each object type's latest run: the SES list and Customer Profiles sync in DAGs of their own.
            "select object_type, sent, unchanged, failed, dead_lettered from customer_profiles_sync_runs "
            "qualify row_number() over (partition by object_type order by started_at desc) = 1 order by started_at"
        ).fetchall():
            say(
                f"  Customer Profiles {object_type}: sent {sent}, unchanged {unchanged}, failed {failed}, "
                f"dead-lettered {dead}"
            )


if __name__ == "__main__":
    sys.exit(main())
