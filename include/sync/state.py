"""The sync's tables in the warehouse: their columns, SQL both engines accept to write them, and the state read back.

``customer_profiles_sync_state``: one row per object; ``customer_profiles_sync_log``: one row
per object sent or failed; ``customer_profiles_sync_runs``: one row per run of an object type.
dbt creates them and adds new columns (dbt/models/sync: incremental, never fully refreshed;
Iceberg tables on Athena); only the sync writes their rows, through the warehouse seam. When
the engine writes them: include/sync/engine.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from include.sync.config import PROFILE_TYPE
from include.warehouse.seam import Warehouse, records

STATE, LOG, RUNS = "customer_profiles_sync_state", "customer_profiles_sync_log", "customer_profiles_sync_runs"
# The models' columns and types (their contracts: tests hold the two equal), for the casts that
# type each written column: a NULL in VALUES has no type of its own.
COLUMNS = {
    STATE: {
        "object_type": "varchar",
        "object_key": "varchar",
        "content_hash": "varchar",
        "pushed_run_id": "varchar",
        "profile_id": "varchar",
        "unique_key": "varchar",
        "pushed_at": "timestamp(6)",
        "failed_hash": "varchar",
        "attempts": "integer",
        "dead_lettered": "boolean",
    },
    LOG: {
        "run_id": "varchar",
        "object_type": "varchar",
        "object_key": "varchar",
        "content_hash": "varchar",
        "status": "varchar",  # sent | failed | dead_lettered
        "error_code": "varchar",
        "error_message": "varchar",
        "logged_at": "timestamp(6)",
        "operation": "varchar",  # put | delete | merge | delete_profile
        "attempt": "integer",
    },
    RUNS: {
        "run_id": "varchar",
        "object_type": "varchar",
        "started_at": "timestamp(6)",
        "finished_at": "timestamp(6)",
        "considered": "bigint",
        "sent": "bigint",
        "unchanged": "bigint",
        "failed": "bigint",
        "dead_lettered": "bigint",
    },
}
# Rows (or keys) per statement: Athena takes at most 262,144 characters of query text; a state
# row is ~300, a log row at most ~1,400 (its error message cut to MAX_ERROR_MESSAGE).
ROWS_PER_STATEMENT = 100
MAX_ERROR_MESSAGE = 1000

Statement = tuple[str, Sequence]


@dataclass(frozen=True)
class StateRow:
    object_type: str
    object_key: str
    profile_id: str | None = None
    content_hash: str | None = None  # of the last successful push; None: never pushed
    unique_key: str | None = None  # the ProfileObjectUniqueKey Customer Profiles returned
    pushed_run_id: str | None = None
    pushed_at: datetime | None = None
    failed_hash: str | None = None  # the content that was rejected
    attempts: int = 0  # rejections of failed_hash
    dead_lettered: bool = False


def _batches(values: Sequence) -> Iterable[Sequence]:
    return (values[i : i + ROWS_PER_STATEMENT] for i in range(0, len(values), ROWS_PER_STATEMENT))


def _typed_rows(table: str, rows: Sequence[dict]) -> tuple[str, list]:
    """``select cast(c as type) as c, … from (values (?, …), …) as v (c, …)``: ``rows`` in the table's
    column order, typed once per column (a NULL in VALUES has no type of its own), and their values.
    A cast per value instead costs DuckDB's binder ~4x the statement's whole run."""
    columns = COLUMNS[table]
    typed = ", ".join(f"cast({column} as {kind}) as {column}" for column, kind in columns.items())
    row_sql = "(" + ", ".join("?" * len(columns)) + ")"
    values = ", ".join([row_sql] * len(rows))
    source = f"select {typed} from (values {values}) as v ({', '.join(columns)})"
    return source, [row.get(column) for row in rows for column in columns]


def upsert_state(wh: Warehouse, rows: Sequence[StateRow]) -> list[Statement]:
    """MERGE statements writing ``rows`` over the state rows of the same keys."""
    columns = list(COLUMNS[STATE])
    updates = ", ".join(f"{c} = s.{c}" for c in columns[2:])
    statements = []
    for batch in _batches([row.__dict__ for row in rows]):
        source, params = _typed_rows(STATE, batch)
        statements.append(
            (
                f"merge into {wh.relation(STATE)} as t using ({source}) as s "
                "on t.object_type = s.object_type and t.object_key = s.object_key "
                f"when matched then update set {updates} "
                f"when not matched then insert ({', '.join(columns)}) values ({', '.join(f's.{c}' for c in columns)})",
                params,
            )
        )
    return statements


def delete_state(wh: Warehouse, column: str, keys: Sequence[str], object_type: str | None = None) -> list[Statement]:
    """DELETE statements for the state rows whose ``column`` is one of ``keys`` (of ``object_type`` if given)."""
    of_type = "object_type = ? and " if object_type else ""
    return [
        (
            f"delete from {wh.relation(STATE)} where {of_type}{column} in ({', '.join('?' * len(batch))})",
            [*([object_type] if object_type else []), *batch],
        )
        for batch in _batches(sorted(keys))
    ]


def append_log(wh: Warehouse, rows: Sequence[dict]) -> list[Statement]:
    statements = []
    for batch in _batches(rows):
        source, params = _typed_rows(LOG, batch)
        statements.append((f"insert into {wh.relation(LOG)} ({', '.join(COLUMNS[LOG])}) {source}", params))
    return statements


def start_run(wh: Warehouse, run_id: str, object_type: str, started_at: datetime) -> Statement:
    row = {"run_id": run_id, "object_type": object_type, "started_at": started_at} | dict.fromkeys(
        ("considered", "sent", "unchanged", "failed", "dead_lettered"), 0
    )
    source, params = _typed_rows(RUNS, [row])
    return f"insert into {wh.relation(RUNS)} ({', '.join(COLUMNS[RUNS])}) {source}", params


def update_run(wh: Warehouse, summary: dict, finished_at: datetime | None) -> Statement:
    counts = ("considered", "sent", "unchanged", "failed", "dead_lettered")
    return (
        f"update {wh.relation(RUNS)} set {', '.join(f'{c} = cast(? as bigint)' for c in counts)}, "
        "finished_at = cast(? as timestamp(6)) where run_id = ? and object_type = ?",
        [*(summary[c] for c in counts), finished_at, summary["run_id"], summary["object_type"]],
    )


def load_state(wh: Warehouse, object_type: str) -> dict[str, StateRow]:
    names = [f.name for f in fields(StateRow)]
    frame = wh.query_df(f"select {', '.join(names)} from {wh.relation(STATE)} where object_type = ?", [object_type])
    rows = [StateRow(**_plain(row)) for row in records(frame)]
    return {row.object_key: row for row in rows}


def pushed_profiles(wh: Warehouse) -> set[str]:
    frame = wh.query_df(
        f"select object_key from {wh.relation(STATE)} where object_type = ? and content_hash is not null",
        [PROFILE_TYPE],
    )
    return set(frame["object_key"])


def _plain(row: dict) -> dict:
    """A state row's values as StateRow holds them: a pandas Timestamp as a datetime, no NULL counts."""
    pushed_at = row["pushed_at"]
    return row | {
        "pushed_at": pushed_at.to_pydatetime() if pushed_at is not None else None,
        "attempts": row["attempts"] or 0,
        "dead_lettered": bool(row["dead_lettered"]),
    }
