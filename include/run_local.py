"""``make run``: the whole pipeline through Airflow on the embedded local stack.

Uploads the input directory (or freshly generated sample data) to the landing bucket, runs
``land_engagement_events`` for every hour the files hold, ``build_warehouse`` over those
hours and ``sync_customer_profiles``, each as a real Airflow DAG run (``dag.test``), then
prints a summary. The local stack must be up (the Makefile starts it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from include import local_stack, settings

HOUR = timedelta(hours=1)


def upload_input(s3, input_dir: Path) -> int:
    """Mirror ``input_dir``'s stream folders into the landing bucket (``<stream>/…`` keys); returns
    files uploaded. Anything else in it (the sample's ``_truth/``) is not landing input."""
    local_stack.create_buckets(s3, (settings.LANDING_BUCKET, settings.RAW_BUCKET))  # where missing
    files = sorted(
        p
        for stream in settings.RAW_STREAMS
        for p in (input_dir / stream).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    for path in files:
        s3.upload_file(str(path), settings.LANDING_BUCKET, path.relative_to(input_dir).as_posix())
    return len(files)


def run_dag(dagbag, dag_id: str, label: str = "", **kwargs) -> None:
    started = time.monotonic()
    run = dagbag.dags[dag_id].test(**kwargs)
    print(f"  {dag_id} {label}: {run.state} in {time.monotonic() - started:.1f}s", flush=True)
    if run.state != "success":
        raise SystemExit(f"{dag_id} ended {run.state}: see the task logs above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, help="directory of <stream>/… files (default: sample data)")
    parser.add_argument("--people", type=int, default=2000, help="sample-data size when no --input")
    args = parser.parse_args(argv)

    os.environ.update(local_stack.local_environment())
    # Task logs at INFO drown the summary; warnings and errors (a failed expectation) still show.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    from airflow.models.pool import Pool

    from include.customer_profiles_sync import SYNC_POOL

    # One slot: the sync tasks' API rate ceiling holds for the account (include/customer_profiles_sync.py).
    Pool.create_or_update_pool(SYNC_POOL, 1, "Customer Profiles and SES API calls", include_deferred=False)

    from include import landing, sample_data

    input_dir = args.input
    if input_dir is None:
        input_dir = settings.VAR_DIR / "sample"
        counts = sample_data.generate(input_dir, people=args.people, streams=sample_data.ALL_STREAMS)
        print(
            f"generated sample data in {input_dir}: "
            + ", ".join(
                f"{s} {c['events']} events" if "events" in c else f"{s} {c['records']} records"
                for s, c in counts.items()
            )
        )
    if not input_dir.is_dir():
        raise SystemExit(f"--input {input_dir} is not a directory")

    started = time.monotonic()
    s3 = local_stack.s3_client()
    print(f"uploaded {upload_input(s3, input_dir)} files from {input_dir}")
    hours = landing.discover_hours(s3, settings.LANDING_BUCKET, settings.RAW_STREAMS)
    if not hours:
        raise SystemExit(f"no records found under {input_dir}/<stream>/ for streams {settings.RAW_STREAMS}")
    print(f"covering {len(hours)} hours: {hours[0]:%Y-%m-%d %H:00} … {hours[-1]:%Y-%m-%d %H:00} UTC")

    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if dagbag.import_errors:
        raise SystemExit(f"DAG import errors: {dagbag.import_errors}")
    for hour in hours:
        # A manual run's data interval is the hour *before* its logical date.
        run_dag(dagbag, "land_engagement_events", f"{hour:%Y-%m-%d %H}:00", logical_date=hour + HOUR)
    run_dag(
        dagbag,
        "build_warehouse",
        logical_date=None,
        run_conf={"interval_start": hours[0].isoformat(), "interval_end": (hours[-1] + HOUR).isoformat()},
    )
    run_dag(dagbag, "sync_customer_profiles", logical_date=None)
    print_summary(time.monotonic() - started)
    return 0


def print_summary(elapsed: float) -> None:
    from include import warehouse

    with warehouse.connect(read_only=True) as con:

        def rows(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        print("\n== customer360 run summary ==")
        print(f"pipeline time: {elapsed:.1f}s   warehouse: {settings.WAREHOUSE_PATH}")
        reports = settings.VAR_DIR / "reports"
        print(f"dashboard: {reports / 'engagement-latest.html'}   data docs: {reports / 'data_docs' / 'index.html'}")
        for stream, raw, canonical, quarantined in rows(
            "select stream, sum(raw_records), sum(canonical_events), sum(quarantined_records) "
            "from landing_reconciliation group by stream order by stream"
        ):
            print(f"  {stream:<20} landed {raw:>8}  canonical events {canonical:>8}  quarantined {quarantined:>5}")
        for reason, n in rows("select reason, count(*) from quarantined_records group by reason order by reason"):
            print(f"    quarantined: {reason:<22} {n}")
        ((profiles,),) = rows("select count(*) from unified_profiles")
        matched = ", ".join(
            f"{how} {n}"
            for how, n in rows("select matched_by, count(*) from profile_links group by 1 order by 2 desc, 1")
        )
        ((merges,),) = rows("select count(*) from profile_merges")
        print(f"  unified profiles {profiles}; source records linked by {matched}; id changes recorded {merges}")
        for object_type, sent, unchanged, failed, dead in rows(
            "select object_type, sent, unchanged, failed, dead_lettered from customer_profiles_sync_runs "
            "where split_part(run_id, '#', 1) = (select split_part(run_id, '#', 1) from customer_profiles_sync_runs "
            "order by started_at desc limit 1) order by started_at"
        ):
            print(
                f"  Customer Profiles {object_type}: sent {sent}, unchanged {unchanged}, failed {failed}, "
                f"dead-lettered {dead}"
            )


if __name__ == "__main__":
    sys.exit(main())
