"""The sync's tables in the warehouse, created or brought up to date, and its state read back.

``customer_profiles_sync_state``: one row per object; ``customer_profiles_sync_log``: one row
per object sent or failed; ``customer_profiles_sync_runs``: one row per run of an object type.
How they are written: include/sync/engine.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import duckdb

from include.sync.config import PROFILE_TYPE


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


TABLES = {
    "customer_profiles_sync_state": {
        "object_type": "varchar",
        "object_key": "varchar",
        "content_hash": "varchar",
        "pushed_run_id": "varchar",
        "profile_id": "varchar",
        "unique_key": "varchar",
        "pushed_at": "timestamp",
        "failed_hash": "varchar",
        "attempts": "integer",
        "dead_lettered": "boolean",
    },
    "customer_profiles_sync_runs": {
        "run_id": "varchar",
        "object_type": "varchar",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "considered": "bigint",
        "sent": "bigint",
        "unchanged": "bigint",
        "failed": "bigint",
        "dead_lettered": "bigint",
    },
    "customer_profiles_sync_log": {
        "run_id": "varchar",
        "object_type": "varchar",
        "object_key": "varchar",
        "content_hash": "varchar",
        "status": "varchar",  # sent | failed | dead_lettered
        "error_code": "varchar",
        "error_message": "varchar",
        "logged_at": "timestamp",
        "operation": "varchar",  # put | delete | merge | delete_profile
        "attempt": "integer",
    },
}
STATE_KEY = "primary key (object_type, object_key)"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables, or add the columns a table from an earlier version lacks."""
    for table, columns in TABLES.items():
        key = f", {STATE_KEY}" if table == "customer_profiles_sync_state" else ""
        con.execute(f"create table if not exists {table} ({', '.join(f'{c} {t}' for c, t in columns.items())}{key})")
        for column, column_type in columns.items():
            con.execute(f"alter table {table} add column if not exists {column} {column_type}")


def load_state(con: duckdb.DuckDBPyConnection, object_type: str) -> dict[str, StateRow]:
    names = [f.name for f in fields(StateRow)]
    rows = con.execute(
        f"select {', '.join(names)} from customer_profiles_sync_state where object_type = ?", [object_type]
    ).fetchall()
    return {row[1]: StateRow(*row) for row in rows}


def pushed_profiles(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select object_key from customer_profiles_sync_state where object_type = ? and content_hash is not null",
        [PROFILE_TYPE],
    ).fetchall()
    return {key for (key,) in rows}
