"""The hour-by-hour path of tests/e2e/test_catch_up.py, run in its own process against a private stack.

    python tests/e2e/hourly_driver.py --input DIR --start 2026-11-20T00:00:00+00:00 --hours 48

Lands each hour in order with ``dag.test`` (as ``make run`` does) and, exactly as the Asset
trigger would, builds the warehouse over the hours the landing run's raw-zone Asset events
report, whenever it emitted any. Prints one JSON line: the landing runs and the builds' intervals.
The environment (``stack.local_environment`` for the private ports and var dir) must be
set before start: settings are read at import time.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from pathlib import Path

from include import intervals, settings
from include.orchestration import build
from include.orchestration.assets import RAW_ZONE_LANDED
from local import airflow_services, stack
from local.run import run_dag, upload_input

LANDING_DAG = "land_engagement_events"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--start", type=datetime.fromisoformat, required=True, help="first hour (UTC, ISO)")
    parser.add_argument("--hours", type=int, required=True)
    args = parser.parse_args(argv)

    airflow_services.prepare(os.environ)
    upload_input(stack.s3_client(), args.input)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dagbag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if dagbag.import_errors:
        raise SystemExit(f"DAG import errors: {dagbag.import_errors}")
    seen = 0  # the last Asset event already acted on
    builds = []
    for n in range(args.hours):
        hour = args.start + n * intervals.HOUR
        # A manual run's data interval is the hour *before* its logical date.
        run_dag(dagbag, LANDING_DAG, f"{hour:%Y-%m-%d %H}:00", logical_date=hour + intervals.HOUR)
        with create_session() as session:
            events = session.scalars(
                select(AssetEvent)
                .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                .where(AssetEvent.id > seen, AssetModel.name == RAW_ZONE_LANDED.name)
                .order_by(AssetEvent.id)
            ).all()
            if not events:
                continue
            seen = events[-1].id
            # The interval build_warehouse's resolve_interval gives a run these events trigger.
            start, end = intervals.from_dbt_vars(build.interval_for_run({}, events, (None, None)))
        label = f"{start.isoformat()} … {end.isoformat()}"
        run_conf = {"interval_start": start.isoformat(), "interval_end": end.isoformat()}
        run_dag(dagbag, "build_warehouse", label, logical_date=None, run_conf=run_conf)
        builds.append(label)
    print(json.dumps({"builds": builds, "warehouse": str(settings.WAREHOUSE_PATH)}))


if __name__ == "__main__":
    main()
