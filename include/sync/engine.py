"""Diff-based push of the warehouse to Amazon Connect Customer Profiles.

What is sent
- An object type is two files in ``include/sync/object_types/``: ``<Name>.json``, the
  PutProfileObjectType request (its version is in the Description and in git; it is applied
  every run, PutProfileObjectType being an upsert), and ``<Name>.sql``, the query over the
  marts whose columns are exactly the template's fields. The UNIQUE key's fields name an
  object, the PROFILE key's field its profile. Null and empty values are left out.
- An object is sent when its content hash (object JSON + template) differs from its last
  successful push, or when that push is within a week of its ExpirationDays. Objects that
  left the query are deleted (DeleteProfileObject). UnifiedProfile goes first and alone
  creates profiles; the other types attach to them (AllowProfileCreation false), and an
  object whose profile was never pushed waits, logged, for a later run.

Merges: MergeProfiles, not re-keying
A profile_id that leaves unified_profiles was either merged into another (profile_merges,
change_kind 'merge') or is gone (erased, or split with no part keeping the id). For a merge
we call MergeProfiles(main = the surviving profile, merged = the old one) and then delete
the old id's own objects, which the merge moved over. Re-keying (DeleteProfile on the old
profile, push under the new id) would be simpler, but a Customer Profiles profile holds
more than we push: contact records, cases and other integrations' objects attached to the
old profile would be lost; MergeProfiles moves them. Customer Profiles has its own
ProfileIds, so ours are mapped to theirs with SearchProfiles on the ``profile_id`` key
(after a merge the old key points to the surviving profile, so a retried merge finds both
ids equal and goes on). A profile gone without a merge is deleted with DeleteProfile.

Rate
Requests (retries included) are spaced by ``AdaptiveRateLimiter``: at most the configured
ceiling, 5 % slower after each ThrottlingException, 1 % of the ceiling faster after each
accepted request. botocore retries the throttled request itself (standard mode,
exponential backoff with jitter). botocore's own adaptive mode cuts the rate by 30 % on
every throttle: measured with 10 % of requests throttled at random it sank to ~3 % of the
ceiling (bench/results/customer_profiles_sync.md). Concurrency is bounded by a thread pool, and every task that
calls these APIs runs in the Airflow pool ``SYNC_POOL`` (one slot), so the ceiling holds
for the account, not per task.

State, resumability, retries
``customer_profiles_sync_state`` holds one row per object: the hash and unique key of its
last successful push, and the failed content with its attempts. Results are checkpointed
into it, into ``customer_profiles_sync_log`` (one row per object sent or failed, with
error code and message) and into the run's ``customer_profiles_sync_runs`` row at least
every ``checkpoint_seconds`` and on any exception, each checkpoint one transaction: a
killed sync re-run sends only what was not recorded (at most the last checkpoint interval
again, and that is an idempotent upsert). A rejected object is retried on later runs;
after ``max_attempts`` rejections of the same content it is dead-lettered (not sent again
until its content changes) and alerted. Throttling and server errors do not count as
attempts. A run whose rejected share exceeds ``max_rejected_share`` raises after writing
everything; one whose deletions exceed ``max_delete_share`` of what was pushed (a broken
build looks like mass erasure) refuses before sending anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries import standard

from include.orchestration import alerts

log = logging.getLogger(__name__)

OBJECT_TYPES_DIR = Path(__file__).parent / "object_types"
# In dependency order: UnifiedProfile creates the profiles the others attach to.
OBJECT_TYPES = ("UnifiedProfile", "EngagementSummary", "MarketingAssignedOffers", "InteractionHistory")
PROFILE_TYPE = "UnifiedProfile"
PROFILE_KEY = "profile_id"  # the key every object type names its profile by
SYNC_POOL = "customer_profiles_api"  # one slot: one task at a time calls the APIs (and writes the state)
DELETE_GUARD_FLOOR = 100  # this many deletions per run are always allowed
EXPIRY_MARGIN = timedelta(days=7)
# Errors that say nothing about the object: they are retried but do not count as attempts.
TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "InternalServerException", "ServiceUnavailableException"}
)
PROFILE_OPERATIONS = frozenset({"merge", "delete_profile"})


# -- settings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncSettings:
    requests_per_second: float = 100.0  # Customer Profiles; no published quota, so a setting
    ses_requests_per_second: float = 10.0
    concurrency: int = 16
    max_attempts: int = 3
    max_rejected_share: float = 0.05
    max_delete_share: float = 0.2
    checkpoint_seconds: float = 1.0

    @classmethod
    def from_env(cls) -> SyncSettings:
        """``C360_SYNC_<FIELD>`` overrides each field, e.g. C360_SYNC_REQUESTS_PER_SECOND=50."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"C360_SYNC_{f.name.upper()}")
            if raw is not None:
                values[f.name] = type(f.default)(raw)
        return cls(**values)


# -- rate ----------------------------------------------------------------------------------
class AdaptiveRateLimiter:
    """Spaces requests at most 1/rate apart across threads; AIMD on throttling.

    Each throttled response multiplies the rate by ``DECREASE``; each accepted one adds
    ``INCREASE`` of the ceiling. With one request in ten throttled it averages ~97 % of the
    ceiling; one in five, ~78 %; one in three, ~45 %; one in two, ~20 %: sparse throttles
    cost little, sustained throttling slows it to what the service accepts.
    """

    DECREASE = 0.95
    INCREASE = 0.01

    def __init__(self, ceiling: float):
        self.ceiling = ceiling
        self.rate = ceiling
        self.requests = self.throttled = 0
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self._throttling = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate
            self.requests += 1
        if start > now:
            time.sleep(start - now)

    def record(self, throttled: bool) -> None:
        with self._lock:
            if throttled:
                self.throttled += 1
                self.rate = max(self.ceiling * self.INCREASE, self.rate * self.DECREASE)
            else:
                self.rate = min(self.ceiling, self.rate + self.ceiling * self.INCREASE)

    def attach(self, client) -> AdaptiveRateLimiter:
        """Govern every request ``client`` sends, botocore's retries included."""
        client.meta.events.register("before-send", self._before_send)
        client.meta.events.register("needs-retry", self._after_response)
        return self

    def _before_send(self, **kwargs) -> None:
        self.acquire()

    def _after_response(self, response=None, **kwargs) -> None:
        if response is None:  # a connection error: says nothing about the service's rate
            return
        throttled = self._throttling.is_throttling_error(response=response, **kwargs)
        if throttled or response[0].status_code < 400:
            self.record(throttled)


# -- object types --------------------------------------------------------------------------
def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Item:
    """One object the warehouse wants in the target."""

    key: str
    profile_id: str | None
    body: str  # the JSON sent, byte for byte
    content_hash: str
    rejection: tuple[str, str] | None = None  # (code, message): refused here, never sent


@dataclass(frozen=True)
class ObjectType:
    name: str
    template: dict
    sql: str

    @cached_property
    def digest(self) -> str:
        return content_hash(json.dumps(self.template, sort_keys=True))

    @cached_property
    def field_names(self) -> list[str]:
        return [spec["Source"].removeprefix("_source.") for spec in self.template["Fields"].values()]

    def _key_fields(self, identifier: str) -> list[str]:
        sources = {name: spec["Source"].removeprefix("_source.") for name, spec in self.template["Fields"].items()}
        return next(
            [sources[f] for f in key["FieldNames"]]
            for keys in self.template["Keys"].values()
            for key in keys
            if identifier in key["StandardIdentifiers"]
        )

    @cached_property
    def unique_fields(self) -> list[str]:
        return self._key_fields("UNIQUE")

    @cached_property
    def profile_field(self) -> str:
        (name,) = self._key_fields("PROFILE")
        return name

    @cached_property
    def attribute_fields(self) -> set[str]:
        return {
            spec["Source"].removeprefix("_source.")
            for spec in self.template["Fields"].values()
            if spec.get("Target", "").startswith("_profile.Attributes.")
        }

    @cached_property
    def expires_after(self) -> timedelta:
        return timedelta(days=self.template["ExpirationDays"])

    def items(self, con: duckdb.DuckDBPyConnection) -> list[Item]:
        cursor = con.execute(self.sql)
        columns = [d[0] for d in cursor.description]
        return [self.item(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]

    def item(self, row: dict) -> Item:
        values = {k: v for k, v in row.items() if v is not None and v != ""}
        missing = [f for f in self.unique_fields if f not in values]
        if missing:
            raise ContractError(f"{self.name}: a row has no value for its key field(s) {missing}: {row}")
        body = json.dumps(values, sort_keys=True, separators=(",", ":"))
        rejection = None
        too_long = sorted(f for f in self.attribute_fields if len(str(values.get(f, ""))) > 255)
        if too_long:
            rejection = ("AttributeTooLong", f"profile attributes are at most 255 characters: {too_long}")
        elif len(body) > 256_000:
            rejection = ("ObjectTooLarge", f"the object is {len(body)} characters, at most 256,000")
        return Item(
            key="|".join(str(values[f]) for f in self.unique_fields),
            profile_id=str(values[self.profile_field]),
            body=body,
            content_hash=content_hash(self.digest, body),
            rejection=rejection,
        )


def load_object_type(name: str) -> ObjectType:
    return ObjectType(
        name,
        json.loads((OBJECT_TYPES_DIR / f"{name}.json").read_text()),
        (OBJECT_TYPES_DIR / f"{name}.sql").read_text(),
    )


class ContractError(Exception):
    """The marts do not have what the object types' queries read, or break a key's uniqueness."""


def check_sources(con: duckdb.DuckDBPyConnection, extra_queries: dict[str, str]) -> None:
    """Bind every object type's query and ``extra_queries`` without running them; one error naming every gap."""
    problems = []
    queries = {name: load_object_type(name).sql for name in OBJECT_TYPES} | extra_queries
    for name, sql in queries.items():
        try:
            columns = [d[0] for d in con.execute(f"select * from ({sql}) limit 0").description]
        except duckdb.Error as err:
            problems.append(f"{name}: {str(err).splitlines()[0]}")
            continue
        if name in OBJECT_TYPES and sorted(columns) != sorted(load_object_type(name).field_names):
            problems.append(f"{name}: query columns {sorted(columns)} differ from the template's fields")
    if problems:
        raise ContractError("the sync cannot read the marts it pushes:\n  " + "\n  ".join(problems))


def ensure_domain(client, domain: str) -> None:
    try:
        client.get_domain(DomainName=domain)
    except client.exceptions.ResourceNotFoundException:
        client.create_domain(DomainName=domain, DefaultExpirationDays=1098)


def ensure_object_types(client, domain: str) -> None:
    """PutProfileObjectType is an upsert: calling it every run keeps AWS equal to the templates."""
    for name in OBJECT_TYPES:
        client.put_profile_object_type(DomainName=domain, ObjectTypeName=name, **load_object_type(name).template)


# -- state -------------------------------------------------------------------------------------
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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- the engine ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    key: str
    operation: str
    ok: bool
    unique_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    transient: bool = False  # throttling, server or connection trouble: not the object's fault


def failure(key: str, operation: str, err: ClientError | BotoCoreError) -> Outcome:
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code")
        message = err.response.get("Error", {}).get("Message")
        return Outcome(key, operation, False, None, code, message, transient=code in TRANSIENT_CODES)
    return Outcome(key, operation, False, None, type(err).__name__, str(err), transient=True)


class Target(Protocol):
    """Where a sync writes: Customer Profiles objects, or the SES suppression list."""

    object_type: str
    batch_size: int
    expires_after: timedelta | None

    def put(self, items: list[Item]) -> list[Outcome]: ...

    def removal(self, row: StateRow) -> str:
        """What removing this object means (its "content" for retries), e.g. "delete"."""

    def remove(self, row: StateRow, action: str) -> Outcome: ...


class SyncRejected(Exception):
    """The share of rejected objects crossed the threshold (everything is logged first)."""


class SyncRefused(Exception):
    """The run would delete too much; nothing was sent."""


@dataclass
class _Run:
    """A run's counters and the results not yet checkpointed."""

    run_id: str
    object_type: str
    started_at: datetime
    considered: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("sent", "unchanged", "failed", "dead"), 0))
    upserts: dict[str, StateRow] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    profile_deletes: set[str] = field(default_factory=set)
    log: list[dict] = field(default_factory=list)
    newly_dead: list[str] = field(default_factory=list)
    attempted: int = 0

    def summary(self) -> dict:
        return {
            "run_id": self.run_id,
            "object_type": self.object_type,
            "considered": self.considered,
            "sent": self.counts["sent"],
            "unchanged": self.counts["unchanged"],
            "failed": self.counts["failed"],
            "dead_lettered": self.counts["dead"],
        }


class Sync:
    """One run of one target: diff, send, record."""

    def __init__(self, con: duckdb.DuckDBPyConnection, target: Target, run_id: str, settings: SyncSettings):
        self.con, self.target, self.settings = con, target, settings
        ensure_tables(con)
        self.state = load_state(con, target.object_type)
        self.run_id = run_id

    # ---- diff
    def _unchanged(self, row: StateRow | None, item: Item, now: datetime) -> bool:
        if row is None or row.content_hash != item.content_hash:
            return False
        expires = self.target.expires_after
        return expires is None or row.pushed_at is None or row.pushed_at + expires - EXPIRY_MARGIN > now

    def run(self, items: list[Item], waiting: Callable[[Item], bool] = lambda item: False) -> dict:
        """Push ``items``, remove what left them; ``waiting(item)``: not sendable yet (its profile is not pushed)."""
        by_key = {item.key: item for item in items}
        if len(by_key) < len(items):
            seen: set[str] = set()
            dupes = sorted({i.key for i in items if i.key in seen or seen.add(i.key)})
            raise ContractError(f"{self.target.object_type}: duplicate object keys {dupes[:5]}")
        now = _now()
        run = _Run(self.run_id, self.target.object_type, now, len(items))
        to_put, held_back = [], []
        for item in items:
            row = self.state.get(item.key)
            if self._unchanged(row, item, now):
                run.counts["unchanged"] += 1
            elif row and row.dead_lettered and row.failed_hash == item.content_hash:
                run.counts["dead"] += 1
            elif item.rejection or waiting(item):
                held_back.append(item)
            else:
                to_put.append(item)
        to_remove = []
        for key, row in self.state.items():
            if key in by_key:
                continue
            if row.content_hash is None:  # never reached the target: nothing to remove there
                run.deletes.add(key)
                continue
            action = self.target.removal(row)
            run.considered += 1
            if row.dead_lettered and row.failed_hash == content_hash(action):
                run.counts["dead"] += 1
            else:
                to_remove.append((row, action))
        self._guard_deletions(len(to_remove))

        self.con.execute(
            "insert into customer_profiles_sync_runs by name select ? as run_id, ? as object_type, ? as started_at, "
            "0 as considered, 0 as sent, 0 as unchanged, 0 as failed, 0 as dead_lettered",
            [run.run_id, run.object_type, run.started_at],
        )
        for item in held_back:
            if item.rejection:
                outcome = Outcome(item.key, "put", False, None, *item.rejection)
            else:
                outcome = Outcome(
                    item.key, "put", False, None, "ProfileNotPushed", "its profile is not pushed yet", True
                )
            self._apply_put(run, item, outcome)
        size = self.target.batch_size
        batches = [to_put[i : i + size] for i in range(0, len(to_put), size)]
        removals = {row.object_key: (row, action) for row, action in to_remove}
        try:
            self._execute(
                run,
                (lambda batch=batch: self.target.put(batch) for batch in batches),
                lambda outcome: self._apply_put(run, by_key[outcome.key], outcome),
            )
            # Removals after every put: a merge needs the surviving profile to exist.
            self._execute(
                run,
                (lambda row=row, action=action: [self.target.remove(row, action)] for row, action in removals.values()),
                lambda outcome: self._apply_removal(run, *removals[outcome.key], outcome),
            )
        except BaseException:
            self._checkpoint(run, finished=False)
            raise
        self._checkpoint(run, finished=True)
        return self._conclude(run)

    def _guard_deletions(self, deletions: int) -> None:
        pushed = sum(1 for row in self.state.values() if row.content_hash is not None)
        if deletions > DELETE_GUARD_FLOOR and deletions > self.settings.max_delete_share * pushed:
            raise SyncRefused(
                f"{self.target.object_type}: {deletions} of {pushed} pushed objects left the warehouse, more than "
                f"max_delete_share={self.settings.max_delete_share}; check the build, or trigger "
                "sync_customer_profiles with the max_delete_share param (1 allows all) if the deletions are meant"
            )

    # ---- send
    def _execute(
        self, run: _Run, tasks: Iterable[Callable[[], list[Outcome]]], apply: Callable[[Outcome], None]
    ) -> None:
        """Run ``tasks`` on the pool, applying outcomes as they arrive; on any exception, keep what finished."""
        in_flight: set[Future] = set()
        last_checkpoint = time.monotonic()

        def collect(done: Iterable[Future]) -> None:
            nonlocal last_checkpoint
            for future in done:
                in_flight.discard(future)
                for outcome in future.result():
                    apply(outcome)
            if time.monotonic() - last_checkpoint >= self.settings.checkpoint_seconds:
                self._checkpoint(run, finished=False)
                last_checkpoint = time.monotonic()

        pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="c360-sync")
        try:
            for task in tasks:
                if len(in_flight) >= 2 * self.settings.concurrency:
                    collect(wait(in_flight, return_when=FIRST_COMPLETED).done)
                in_flight.add(pool.submit(task))
            while in_flight:
                collect(wait(in_flight, return_when=FIRST_COMPLETED).done)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for future in list(in_flight):  # finished while we were failing: record them, they were sent
                if not future.cancelled() and future.exception() is None:
                    for outcome in future.result():
                        apply(outcome)

    # ---- record
    def _log(self, run: _Run, outcome: Outcome, digest: str, status: str, attempt: int) -> None:
        run.log.append(
            {
                "run_id": run.run_id,
                "object_type": run.object_type,
                "object_key": outcome.key,
                "operation": outcome.operation,
                "content_hash": digest,
                "status": status,
                "attempt": attempt,
                "error_code": outcome.error_code,
                "error_message": outcome.error_message,
                "logged_at": _now(),
            }
        )

    def _failed(self, run: _Run, row: StateRow, digest: str, outcome: Outcome) -> StateRow:
        previous = row.attempts if row.failed_hash == digest else 0
        attempts = previous + (0 if outcome.transient else 1)
        dead = attempts >= self.settings.max_attempts
        run.attempted += 1
        run.counts["dead" if dead else "failed"] += 1
        if dead:
            run.newly_dead.append(outcome.key)
        self._log(run, outcome, digest, "dead_lettered" if dead else "failed", attempts)
        return replace(row, failed_hash=digest, attempts=attempts, dead_lettered=dead)

    def _apply_put(self, run: _Run, item: Item, outcome: Outcome) -> None:
        row = self.state.get(item.key) or StateRow(run.object_type, item.key)
        if outcome.ok:
            run.attempted += 1
            run.counts["sent"] += 1
            self._log(
                run,
                outcome,
                item.content_hash,
                "sent",
                1 + (row.attempts if row.failed_hash == item.content_hash else 0),
            )
            row = StateRow(
                run.object_type, item.key, item.profile_id, item.content_hash, outcome.unique_key, run.run_id, _now()
            )
        else:
            row = self._failed(run, replace(row, profile_id=item.profile_id), item.content_hash, outcome)
        self.state[item.key] = run.upserts[item.key] = row

    def _apply_removal(self, run: _Run, row: StateRow, action: str, outcome: Outcome) -> None:
        digest = content_hash(action)
        if outcome.ok:
            run.attempted += 1
            run.counts["sent"] += 1
            self._log(run, outcome, digest, "sent", 1 + (row.attempts if row.failed_hash == digest else 0))
            del self.state[row.object_key]
            run.upserts.pop(row.object_key, None)
            run.deletes.add(row.object_key)
            if outcome.operation in PROFILE_OPERATIONS:
                run.profile_deletes.add(row.object_key)
        else:
            self.state[row.object_key] = run.upserts[row.object_key] = self._failed(run, row, digest, outcome)

    def _checkpoint(self, run: _Run, finished: bool) -> None:
        """Write what arrived since the last checkpoint, in one transaction."""
        con = self.con
        con.execute("begin")
        try:
            if run.deletes:
                con.execute(
                    "delete from customer_profiles_sync_state where object_type = ? "
                    "and object_key in (select unnest(?::varchar[]))",
                    [run.object_type, sorted(run.deletes)],
                )
            if run.profile_deletes:  # a merged or deleted profile takes every object of it along
                con.execute(
                    "delete from customer_profiles_sync_state where profile_id in (select unnest(?::varchar[]))",
                    [sorted(run.profile_deletes)],
                )
            if run.upserts:
                con.register("sync_upserts", pd.DataFrame([row.__dict__ for row in run.upserts.values()]))
                con.execute("insert or replace into customer_profiles_sync_state by name select * from sync_upserts")
                con.unregister("sync_upserts")
            if run.log:
                con.register("sync_log_rows", pd.DataFrame(run.log))
                con.execute("insert into customer_profiles_sync_log by name select * from sync_log_rows")
                con.unregister("sync_log_rows")
            con.execute(
                "update customer_profiles_sync_runs set considered = ?, sent = ?, unchanged = ?, failed = ?, "
                "dead_lettered = ?, finished_at = ? where run_id = ? and object_type = ?",
                [
                    run.considered,
                    run.counts["sent"],
                    run.counts["unchanged"],
                    run.counts["failed"],
                    run.counts["dead"],
                    _now() if finished else None,
                    run.run_id,
                    run.object_type,
                ],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        run.upserts, run.deletes, run.profile_deletes, run.log = {}, set(), set(), []

    def _conclude(self, run: _Run) -> dict:
        summary = run.summary()
        log.info("sync %s: %s", run.object_type, summary)
        if run.newly_dead:
            alerts.log.error(
                "customer360 sync %s run %s: %d objects dead-lettered after %d rejections, e.g. %s; "
                "see customer_profiles_sync_log",
                run.object_type,
                run.run_id,
                len(run.newly_dead),
                self.settings.max_attempts,
                run.newly_dead[:5],
            )
        rejected = run.counts["failed"] + len(run.newly_dead)
        if run.attempted and rejected / run.attempted > self.settings.max_rejected_share:
            raise SyncRejected(
                f"{run.object_type}: {rejected} of {run.attempted} objects rejected in run {run.run_id} "
                f"(more than {self.settings.max_rejected_share:.0%}); see customer_profiles_sync_log"
            )
        return summary


# -- Customer Profiles targets -----------------------------------------------------------------
class ProfileObjects:
    """Objects of one type: BatchPutProfileObject (10 per request, a result per item), DeleteProfileObject."""

    batch_size = 10

    def __init__(self, client, domain: str, object_type: ObjectType):
        self.client, self.domain, self.type = client, domain, object_type
        self.object_type = object_type.name
        self.expires_after = object_type.expires_after

    def put(self, items: list[Item]) -> list[Outcome]:
        request = [{"Id": str(i), "Object": item.body} for i, item in enumerate(items)]
        try:
            response = self.client.batch_put_profile_object(
                DomainName=self.domain, ObjectTypeName=self.object_type, Items=request
            )
        except (ClientError, BotoCoreError) as err:
            return [failure(item.key, "put", err) for item in items]
        outcomes = {
            int(ok["Id"]): Outcome(items[int(ok["Id"])].key, "put", True, unique_key=ok["ProfileObjectUniqueKey"])
            for ok in response.get("Successful", [])
        }
        for bad in response.get("Failed", []):
            i, code = int(bad["Id"]), bad["Code"]
            outcomes[i] = Outcome(items[i].key, "put", False, None, str(code), bad["Message"], transient=code >= 500)
        return [
            outcomes.get(i, Outcome(item.key, "put", False, "NoResult", "the response did not mention this item"))
            for i, item in enumerate(items)
        ]

    def profile_of(self, profile_id: str) -> str | None:
        """Customer Profiles' ProfileId for our profile_id (its PROFILE key), or None."""
        found = self.client.search_profiles(DomainName=self.domain, KeyName=PROFILE_KEY, Values=[profile_id])
        ids = sorted(item["ProfileId"] for item in found["Items"])
        return ids[0] if ids else None

    def _delete_object(self, cp_profile_id: str, object_type: str, unique_key: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):  # already gone: fine
            self.client.delete_profile_object(
                DomainName=self.domain,
                ProfileId=cp_profile_id,
                ObjectTypeName=object_type,
                ProfileObjectUniqueKey=unique_key,
            )

    def removal(self, row: StateRow) -> str:
        return "delete"

    def remove(self, row: StateRow, action: str) -> Outcome:
        try:
            cp_profile_id = self.profile_of(row.profile_id)
            if cp_profile_id is not None:  # else the profile, and the object with it, is gone
                self._delete_object(cp_profile_id, self.object_type, row.unique_key)
        except (ClientError, BotoCoreError) as err:
            return failure(row.object_key, "delete", err)
        return Outcome(row.object_key, "delete", True)


class UnifiedProfiles(ProfileObjects):
    """The profile objects; a profile that left the warehouse is merged (profile_merges) or deleted."""

    def __init__(
        self,
        client,
        domain: str,
        object_type: ObjectType,
        merged_into: dict[str, str],
        objects_of: dict[str, list[tuple[str, str]]],
    ):
        super().__init__(client, domain, object_type)
        self.merged_into = merged_into  # old profile_id -> the live profile_id it ended up in
        self.objects_of = objects_of  # profile_id -> [(object type, unique key)] we pushed for it

    def removal(self, row: StateRow) -> str:
        into = self.merged_into.get(row.object_key)
        return f"merge:{into}" if into else "delete_profile"

    def remove(self, row: StateRow, action: str) -> Outcome:
        operation = action.split(":")[0]
        try:
            old = self.profile_of(row.object_key)
            if old is None:  # never created, or already removed by someone else
                return Outcome(row.object_key, operation, True)
            if operation == "delete_profile":
                self.client.delete_profile(DomainName=self.domain, ProfileId=old)
                return Outcome(row.object_key, operation, True)
            into = action.removeprefix("merge:")
            main = self.profile_of(into)
            if main is None:  # its push failed: wait for it
                return Outcome(
                    row.object_key, operation, False, None, "MergeTargetNotPushed", f"{into} is not pushed", True
                )
            if main != old:  # equal when an earlier try merged and then failed on the deletes
                self.client.merge_profiles(DomainName=self.domain, MainProfileId=main, ProfileIdsToBeMerged=[old])
            for object_type, unique_key in self.objects_of.get(row.object_key, []):
                self._delete_object(main, object_type, unique_key)  # the old id's objects, moved by the merge
        except (ClientError, BotoCoreError) as err:
            return failure(row.object_key, operation, err)
        return Outcome(row.object_key, operation, True)


# Merge records, oldest first; at the same time, the move of most records last (it wins).
MERGES_SQL = """
select old_profile_id, new_profile_id from profile_merges where change_kind = 'merge'
order by recorded_for, moved_records, new_profile_id desc
"""


def merge_targets(con: duckdb.DuckDBPyConnection, live: set[str]) -> dict[str, str]:
    """old profile_id -> the live profile it was merged into, following chains (a→b, then b→c)."""
    rows = con.execute(MERGES_SQL).fetchall()
    latest = {old: new for old, new in rows}  # the latest record wins; at a tie, the biggest move
    resolved = {}
    for old in latest:
        seen, current = {old}, latest[old]
        while current not in live and current in latest and current not in seen:
            seen.add(current)
            current = latest[current]
        if current in live:
            resolved[old] = current
    return resolved


def sync_object_type(
    con: duckdb.DuckDBPyConnection, client, domain: str, name: str, run_id: str, settings: SyncSettings
) -> dict:
    """One object type: push what changed, remove what left (for UnifiedProfile: merge or delete profiles)."""
    ensure_tables(con)
    object_type = load_object_type(name)
    items = object_type.items(con)
    if name == PROFILE_TYPE:
        live = {item.key for item in items}
        objects_of: dict[str, list[tuple[str, str]]] = {}
        for profile_id, type_name, unique_key in con.execute(
            "select profile_id, object_type, unique_key from customer_profiles_sync_state "
            "where unique_key is not null and profile_id is not null order by all"
        ).fetchall():
            if profile_id not in live:
                objects_of.setdefault(profile_id, []).append((type_name, unique_key))
        target = UnifiedProfiles(client, domain, object_type, merge_targets(con, live), objects_of)
        return Sync(con, target, run_id, settings).run(items)
    profiles = pushed_profiles(con)
    return Sync(con, ProfileObjects(client, domain, object_type), run_id, settings).run(
        items, waiting=lambda item: item.profile_id not in profiles
    )
