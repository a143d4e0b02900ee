"""Airflow's long-running services against a private var/ directory: scheduler, dag-processor
and api-server (LocalExecutor, SQLite metadata under ``<var>/airflow``).

``make run`` drives the DAGs with ``dag.test``; what only the real services do — schedules,
Asset triggers, ``airflow backfill create`` — needs these. Each service runs in its own
process group so stopping it also stops the task processes it forked.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from local import stack

SERVICES = ("scheduler", "dag-processor", "api-server")


def environment(
    var_dir: Path, s3_port: int, profiles_port: int, api_port: int, aws_port: int = stack.AWS_PORT
) -> dict[str, str]:
    """``local_environment`` plus what the services must agree on: where the execution API is
    (task processes report to it) and the key its tokens are signed with."""
    return stack.local_environment(s3_port, profiles_port, var_dir, aws_port) | {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        # Generated per start and never written down: only these processes need it.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        # The DAG files do not change while the services run: re-parsing them (Cosmos renders
        # the dbt project) every 30 s would only take CPU from the tasks.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
        # Locally a run's tasks go one at a time (DuckDB's single writer), each queued by a
        # scheduler loop; an idle loop sleeps 1 s by default, ~0.6 s a task. The catch-up test's
        # build took 142 s instead of 201 s. Not for `make airflow`: idle, the scheduler would
        # use 13 % of a core instead of 1.5 %.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def airflow(env: Mapping[str, str], *args: str, capture: bool = False) -> str:
    """Run one ``airflow`` CLI command in ``env``; raises with its output if it fails."""
    return _python(env, "airflow", *args, capture=capture)


def _python(env: Mapping[str, str], module: str, *args: str, capture: bool = False) -> str:
    """Run ``python -m <module> <args>`` in ``env``; raises with its output if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}")
    return done.stdout if capture else ""


def prepare(env: Mapping[str, str]) -> None:
    """Create or migrate the metadata database and the pools the DAGs' tasks run in."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate")
    _python(env, "include.orchestration.pools")


class AirflowServices:
    """The three services, started on ``start()`` and stopped (with every task process) on ``stop()``.

    Each service's output goes to ``<AIRFLOW_HOME>/logs/<service>.log``.
    """

    def __init__(self, env: Mapping[str, str]):
        self.env = {**os.environ, **env}
        self.log_dir = Path(env["AIRFLOW_HOME"]) / "logs"
        self.api_url = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, timeout: float = 120.0) -> AirflowServices:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name in SERVICES:
                with open(self.log_dir / f"{name}.log", "ab") as log:
                    self.processes[name] = subprocess.Popen(
                        [sys.executable, "-m", "airflow", name],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group: stop() reaches the task processes
                    )
            self._wait_for_api(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_api(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the api-server did not answer on {self.api_url} in {timeout:.0f}s") from None
                time.sleep(1)

    def check_alive(self) -> None:
        """Raise if a service has exited: nothing would happen any more."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited {process.returncode}; see {self.log_dir / f'{name}.log'}")

    def stop(self, grace: float = 30.0) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            # Task processes may outlive their service's exit: the whole group goes.
            _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def __enter__(self) -> AirflowServices:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
