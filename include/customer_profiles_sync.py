"""Diff-based push of warehouse rows to Amazon Connect Customer Profiles.

Each object's content hash is kept in ``customer_profiles_sync_state`` after a successful
push; a run sends only objects whose hash changed, so re-running an interval sends nothing.
Every send is logged per row in ``customer_profiles_sync_log`` and each run is summarised
in ``customer_profiles_sync_runs``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
from botocore.exceptions import ClientError

OBJECT_TYPES_DIR = Path(__file__).parent / "object_types"

SYNC_TABLES_DDL = """
create table if not exists customer_profiles_sync_state (
    object_type varchar, object_key varchar, content_hash varchar, pushed_run_id varchar,
    primary key (object_type, object_key));
create table if not exists customer_profiles_sync_runs (
    run_id varchar, object_type varchar, started_at timestamp, finished_at timestamp,
    considered bigint, sent bigint, unchanged bigint, failed bigint, dead_lettered bigint);
create table if not exists customer_profiles_sync_log (
    run_id varchar, object_type varchar, object_key varchar, content_hash varchar,
    status varchar, error_code varchar, error_message varchar, logged_at timestamp);
"""


@dataclass(frozen=True)
class SyncResult:
    object_key: str
    content_hash: str
    ok: bool
    error_code: str | None = None
    error_message: str | None = None


def object_type_template(name: str) -> dict:
    return json.loads((OBJECT_TYPES_DIR / f"{name}.json").read_text())


def content_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def ensure_domain(client, domain: str) -> None:
    try:
        client.get_domain(DomainName=domain)
    except client.exceptions.ResourceNotFoundException:
        client.create_domain(DomainName=domain, DefaultExpirationDays=1098)


def ensure_object_type(client, domain: str, name: str) -> None:
    """PutProfileObjectType is an upsert: calling it every run keeps AWS equal to the template."""
    client.put_profile_object_type(DomainName=domain, ObjectTypeName=name, **object_type_template(name))


class RateLimiter:
    """At most ``rate`` acquisitions per second across threads (evenly spaced)."""

    def __init__(self, rate: float):
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            time.sleep(wait)


def push_objects(
    client,
    domain: str,
    object_type: str,
    objects: list[tuple[str, dict]],
    max_workers: int = 8,
    rate_per_second: float = 0.0,
) -> list[SyncResult]:
    """PutProfileObject for each (key, body); never raises for a rejected row."""
    limiter = RateLimiter(rate_per_second)

    def put(item: tuple[str, dict]) -> SyncResult:
        key, body = item
        digest = content_hash(body)
        limiter.acquire()
        try:
            client.put_profile_object(
                DomainName=domain, ObjectTypeName=object_type, Object=json.dumps(body, sort_keys=True)
            )
        except ClientError as err:
            error = err.response.get("Error", {})
            return SyncResult(key, digest, False, error.get("Code"), error.get("Message"))
        return SyncResult(key, digest, True)

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(put, objects))


def _insert_many(con: duckdb.DuckDBPyConnection, sql: str, rows: list[tuple]) -> None:
    if rows:  # DuckDB's executemany refuses an empty list
        con.executemany(sql, rows)


def sync_frame(
    con: duckdb.DuckDBPyConnection,
    client,
    domain: str,
    object_type: str,
    frame: pd.DataFrame,
    key_column: str,
    run_id: str,
    max_workers: int = 8,
    rate_per_second: float = 0.0,
) -> dict:
    """Push the rows of ``frame`` whose content changed since their last successful push."""
    started = datetime.now(UTC).replace(tzinfo=None)
    con.execute(SYNC_TABLES_DDL)
    known = dict(
        con.execute(
            "select object_key, content_hash from customer_profiles_sync_state where object_type = ?", [object_type]
        ).fetchall()
    )
    records = json.loads(frame.to_json(orient="records"))
    objects = [(str(r[key_column]), r) for r in records]
    changed = [(k, body) for k, body in objects if known.get(k) != content_hash(body)]
    results = push_objects(client, domain, object_type, changed, max_workers, rate_per_second)

    finished = datetime.now(UTC).replace(tzinfo=None)
    ok = [r for r in results if r.ok]
    _insert_many(
        con,
        "insert or replace into customer_profiles_sync_state values (?, ?, ?, ?)",
        [(object_type, r.object_key, r.content_hash, run_id) for r in ok],
    )
    _insert_many(
        con,
        "insert into customer_profiles_sync_log values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                object_type,
                r.object_key,
                r.content_hash,
                "sent" if r.ok else "failed",
                r.error_code,
                r.error_message,
                finished,
            )
            for r in results
        ],
    )
    summary = {
        "run_id": run_id,
        "object_type": object_type,
        "considered": len(objects),
        "sent": len(ok),
        "unchanged": len(objects) - len(changed),
        "failed": len(results) - len(ok),
        "dead_lettered": 0,
    }
    con.execute(
        "insert into customer_profiles_sync_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            object_type,
            started,
            finished,
            summary["considered"],
            summary["sent"],
            summary["unchanged"],
            summary["failed"],
            summary["dead_lettered"],
        ],
    )
    return summary
