"""What ``make run`` shows while it runs: a line per finished step, and nothing else.

``dag.test`` runs a DAG's tasks one after another in the make-run process. While it does, a
thread beside it reads Airflow's metadata database every second — the run's task instances,
and during the dbt build the models the watcher's producer has reported — and prints what
finished. Everything else the process and its children write (task logs, dbt's output,
library warnings) goes to a log file under ``var/logs/`` unless ``make run VERBOSE=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

POLL_SECONDS = 1.0
PRODUCER_TASK = "dbt.dbt_producer_watcher"
FINISHED = {"success", "failed", "skipped", "upstream_failed"}


@contextlib.contextmanager
def console_to_log(log_path: Path, verbose: bool) -> Iterator[TextIO]:
    """Yield a stream to the terminal; meanwhile file descriptors 1 and 2 (this process, the
    libraries it loads, the dbt subprocess) write to ``log_path``, replaced — unless ``verbose``."""
    if verbose:
        yield sys.stdout
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    console = open(os.dup(saved[0]), "w", buffering=1)  # noqa: SIM115  (closed below, after the restore)
    try:
        with open(log_path, "wb") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield console
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        console.close()
        for fd in saved:
            os.close(fd)


class DagRunProgress:
    """Prints each finished task of the next run of ``dag_id`` (a context manager around ``dag.test``).

    Keeps each finished task's duration in ``durations`` for the summary's stage times.
    """

    def __init__(self, console: TextIO, dag_id: str):
        self.console, self.dag_id = console, dag_id
        self.durations: dict[str, float] = {}
        self._reported: set[str] = set()
        self._models_reported = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"progress-{dag_id}", daemon=True)

    def __enter__(self) -> DagRunProgress:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import func, select

        with create_session() as session:
            self._after = session.scalar(select(func.max(DagRun.id)).where(DagRun.dag_id == self.dag_id)) or 0
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # what finished after the last poll

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            # A poll can meet SQLite's write lock: the next one catches up.
            with contextlib.suppress(Exception):
                self._poll()

    def _poll(self) -> None:
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            run = session.scalars(
                select(DagRun).where(DagRun.dag_id == self.dag_id, DagRun.id > self._after).order_by(DagRun.id.desc())
            ).first()
            if run is None:
                return
            tis = session.execute(
                select(TaskInstance.task_id, TaskInstance.state, TaskInstance.start_date, TaskInstance.end_date).where(
                    TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == run.run_id
                )
            ).all()
            states = {task_id: state for task_id, state, _, _ in tis}
            if states.get(PRODUCER_TASK) is not None:
                models = [
                    task_id for task_id in states if task_id.startswith("dbt.") and task_id.endswith("_model_build")
                ]
                keys = session.scalars(
                    select(XComModel.key).where(
                        XComModel.dag_id == self.dag_id,
                        XComModel.run_id == run.run_id,
                        XComModel.task_id == PRODUCER_TASK,
                    )
                ).all()
                self._report_models(sum(1 for key in keys if _is_model_status(key)), len(models))
            for task_id, state, start, end in sorted(tis, key=lambda ti: (ti.end_date is None, ti.end_date)):
                if state not in FINISHED or task_id in self._reported:
                    continue
                self._reported.add(task_id)
                self.durations[task_id] = (end - start).total_seconds() if start and end else 0.0
                value = session.scalar(
                    select(XComModel.value).where(
                        XComModel.dag_id == self.dag_id,
                        XComModel.run_id == run.run_id,
                        XComModel.task_id == task_id,
                        XComModel.key == "return_value",
                    )
                )
                self._report_task(task_id, state, _xcom_value(value))

    def _report_models(self, built: int, total: int) -> None:
        # A terminal gets one line rewritten in place; a log or a pipe a line per quarter done.
        step = 1 if self.console.isatty() else max(1, total // 4)
        if built != total and built // step == self._models_reported // step:
            return
        if built == self._models_reported:
            return
        self._models_reported = built
        if self.console.isatty():
            self.console.write(f"\r  build    dbt models {built}/{total} built" + ("\n" if built == total else ""))
        else:
            self.console.write(f"  build    dbt models {built}/{total} built\n")

    def _report_task(self, task_id: str, state: str, value) -> None:
        seconds = self.durations[task_id]
        if task_id.startswith("land_"):
            stream = task_id.removeprefix("land_")
            if state == "skipped":
                self.console.write(f"  landing  {stream:<21} no files\n")
            elif isinstance(value, dict):
                self.console.write(
                    f"  landing  {stream:<21} {len(value['hours'])} hours, {value['lines_read']} lines: "
                    f"{value['landed']} landed, {value['quarantined']} quarantined ({seconds:.1f}s)\n"
                )
            else:
                self.console.write(f"  landing  {stream:<21} {state}\n")
        elif task_id == PRODUCER_TASK:
            self.console.write(f"  build    dbt build {state} ({seconds:.1f}s)\n")
        elif task_id == "validate":
            outcome = "passed" if state == "success" else state
            self.console.write(f"  gate     Great Expectations checkpoints {outcome} ({seconds:.1f}s)\n")
        elif task_id.startswith("sync_") or task_id == "prepare_domain":
            self.console.write(f"  sync     {task_id:<31} {state} ({seconds:.1f}s)\n")
        elif state not in ("success", "skipped"):
            self.console.write(f"  {self.dag_id}: {task_id} {state}\n")


def _is_model_status(key: str) -> bool:
    """The watcher's per-model status XCom (``model__<project>__<name>_status``), not a test's."""
    return key.startswith("model__") and key.endswith("_status") and not key.endswith("_tests_status")


def _xcom_value(value):
    with contextlib.suppress(TypeError, ValueError):
        return json.loads(value) if isinstance(value, str | bytes) else value
    return value
