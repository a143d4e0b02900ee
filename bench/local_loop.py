"""make run's stages on the sample, and what orchestration costs on top of the work it runs.

    python -m bench.local_loop                  # the make-run sample (2,000 people, a day)
    python -m bench.local_loop --people 150     # a smaller one

In one run, on a private local stack (free ports, a temp var dir; nothing under var/):

1. **make run**: ``python -m local.run --input <sample>`` — the process ``make run``
   starts — against that stack. Its stage times come from ``var/logs/make-run-stages.json``,
   and from its log the time dbt reported for every node it built (``… [OK in 0.12s]``).
2. **The work alone**, on the same data, right after: every stream landed over the same
   hours by calling ``include.landing.tasks.land`` directly (re-landing replaces the same partitions),
   and one ``dbt build`` over the same interval from the command line.

Ratios (orchestration overhead; target <= 2x each, judged from 1,000 people up):
- build: the build DAG run's wall time / the summed dbt node times;
- landing: the landing DAG run's wall time / the landing work's wall time.
Also reported: the build's dbt stage / dbt alone from the command line.

Correctness checks (exit 1): make run succeeds; the direct landing lands what the DAG run
landed (stream by stream); dbt alone succeeds; dbt reported a time for at least one node.
Figures: bench/results/local_loop.{json,md} (--out for another directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import EXIT_TARGET_MISSED
from include import intervals, streams

RESULTS_DIR = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0
TARGET_JUDGED_FROM_PEOPLE = 1000
# dbt's line for a finished node, as the producer task logs it: "… [OK in 0.19s]".
NODE_TIME = re.compile(r"\[(?:OK|PASS|SUCCESS|INSERT \d+|CREATE \d+|WARN \d+)\S* in ([0-9.]+)s\]")


def private_environment(var_dir: Path) -> dict[str, str]:
    """The local stack's environment for var_dir on free ports (settings are read at import)."""
    from local.stack import free_ports, local_environment

    s3_port, profiles_port, aws_port, athena_port = free_ports(4)
    return os.environ | local_environment(s3_port, profiles_port, var_dir, aws_port, athena_port)


def run_in(env: dict[str, str], *args: str, log: Path, cwd: Path = ROOT) -> float:
    """Run a command in env with its output in log; returns its wall time, raises if it failed."""
    started = time.monotonic()
    with open(log, "wb") as out:
        done = subprocess.run(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:4])} … exited {done.returncode}: see {log}")
    return time.monotonic() - started


def measure(people: int, work: Path) -> dict:
    var_dir = work / "var"
    env = private_environment(var_dir)
    python = sys.executable
    stack = subprocess.Popen(
        [python, "-m", "local.stack", "serve"],
        cwd=ROOT, env=env, stdout=open(work / "stack.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    try:
        run_in(env, python, "-m", "local.stack", "ready", log=work / "ready.log")
        sample = work / "sample"
        run_in(
            env, python, "-m", "local.sample_data", str(sample), "--people", str(people),
            "--streams", ",".join(streams.RAW_STREAMS), log=work / "gen.log",
        )  # fmt: skip
        run_in(env, python, "-m", "local.run", "--input", str(sample), log=work / "make-run.out")
        stages = json.loads((var_dir / "logs" / "make-run-stages.json").read_text())
        node_seconds = [float(s) for s in NODE_TIME.findall((var_dir / "logs" / "make-run.log").read_text())]
        if not node_seconds:
            raise SystemExit("dbt reported no node times in make run's log")
        # The same work without Airflow: in a child with the private environment (settings are read at import).
        landing_json = work / "landing.json"
        run_in(env, python, "-m", "bench.local_loop", "--land-directly", str(landing_json), log=work / "land.log")
        landing = json.loads(landing_json.read_text())
        interval = landing.pop("interval")
        dbt_vars = json.dumps({intervals.START_VAR: interval[0], intervals.END_VAR: interval[1]})
        dbt_alone = run_in(
            env, str(Path(python).parent / "dbt"), "build", "--profiles-dir", ".",
            "--target-path", str(work / "dbt-target"), "--vars", dbt_vars, log=work / "dbt-build.log", cwd=ROOT / "dbt",
        )  # fmt: skip
    finally:
        stack.terminate()
        stack.wait(60)
    landed_by_dag = dag_landing_counts(var_dir)
    if landed_by_dag != landing["landed"]:
        raise SystemExit(f"direct landing landed {landing['landed']}, the DAG run {landed_by_dag}")
    return {
        "people": people,
        "stages_s": stages,
        "dbt_nodes": len(node_seconds),
        "dbt_node_seconds_sum": round(sum(node_seconds), 2),
        "dbt_alone_s": round(dbt_alone, 2),
        "landing_work_s": round(landing["seconds"], 2),
        "landed": landing["landed"],
        "ratios": {
            "build_wall_over_dbt_node_times": round(stages["build"] / sum(node_seconds), 2),
            "landing_wall_over_landing_work": round(stages["landing"] / landing["seconds"], 2),
            "dbt_stage_over_dbt_alone": round(stages["dbt build"] / dbt_alone, 2),
        },
    }


def dag_landing_counts(var_dir: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(var_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select stream, sum(raw_records)::bigint from landing_reconciliation group by 1").fetchall()
    return {stream: int(n) for stream, n in rows}


def land_directly(out: Path) -> None:
    """Every stream over every hour of the landing bucket, with include.landing.tasks.land (no Airflow)."""
    from include import settings
    from include.landing import tasks
    from include.landing.land import discover_hours
    from include.landing.partitions import HOUR
    from local.stack import s3_client

    s3 = s3_client()
    hours = discover_hours(s3, settings.LANDING_BUCKET, streams.RAW_STREAMS)
    started = time.monotonic()
    landed = {stream: tasks.land(s3, stream, hours)["landed"] for stream in streams.RAW_STREAMS}
    seconds = time.monotonic() - started
    interval = [hours[0].isoformat(), (hours[-1] + HOUR).isoformat()]
    out.write_text(json.dumps({"seconds": seconds, "landed": landed, "interval": interval}))


def write_results(result: dict, out_dir: Path) -> bool:
    """Writes local_loop.{json,md}; returns whether every judged target was met."""
    judged = result["people"] >= TARGET_JUDGED_FROM_PEOPLE
    targets = {
        name: {"value": result["ratios"][name], "target": TARGET_RATIO, "judged": judged,
               "met": result["ratios"][name] <= TARGET_RATIO}
        for name in ("build_wall_over_dbt_node_times", "landing_wall_over_landing_work")
    }  # fmt: skip
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **result,
        "targets": targets,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "local_loop.json").write_text(json.dumps(report, indent=1) + "\n")
    stages, ratios = result["stages_s"], result["ratios"]
    lines = [
        "# make run's stages and orchestration overhead",
        "",
        f"Measured {report['measured_at']} on {os.cpu_count()} CPUs; sample of {result['people']} people "
        f"(`python -m bench.local_loop --people {result['people']}`).",
        "",
        "| stage | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in stages.items()),
        "",
        f"- dbt reported {result['dbt_nodes']} nodes, {result['dbt_node_seconds_sum']:.1f} s in all; "
        f"`dbt build` alone from the command line: {result['dbt_alone_s']:.1f} s.",
        "- The landing work alone (`tasks.land`, every stream and hour, no Airflow): "
        f"{result['landing_work_s']:.1f} s.",
        "",
        "| ratio | value | target |",
        "|---|---:|---|",
        f"| build DAG run wall / summed dbt node times | {ratios['build_wall_over_dbt_node_times']:.2f} | "
        f"<= {TARGET_RATIO} {_verdict(targets['build_wall_over_dbt_node_times'])} |",
        f"| landing DAG run wall / landing work | {ratios['landing_wall_over_landing_work']:.2f} | "
        f"<= {TARGET_RATIO} {_verdict(targets['landing_wall_over_landing_work'])} |",
        f"| the build's dbt stage / `dbt build` alone | {ratios['dbt_stage_over_dbt_alone']:.2f} | reported |",
        "",
    ]
    (out_dir / "local_loop.md").write_text("\n".join(lines))
    return all(t["met"] for t in targets.values() if t["judged"])


def _verdict(target: dict) -> str:
    if not target["judged"]:
        return f"(not judged below {TARGET_JUDGED_FROM_PEOPLE} people)"
    return "PASS" if target["met"] else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000, help="sample size (make run's is 2,000)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    parser.add_argument("--land-directly", type=Path, help=argparse.SUPPRESS)  # the child of step 2
    args = parser.parse_args(argv)
    if args.land_directly:
        land_directly(args.land_directly)
        return 0
    with tempfile.TemporaryDirectory(prefix="c360-bench-loop-") as work:
        result = measure(args.people, Path(work))
    met = write_results(result, args.out)
    print((args.out / "local_loop.md").read_text())
    return 0 if met else EXIT_TARGET_MISSED


if __name__ == "__main__":
    sys.exit(main())
