"""The sync engine: what the warehouse wants, diffed against what was pushed, sent to a target, every result recorded.

A ``Target`` is where a sync writes: the Customer Profiles objects of one type
(include/sync/customer_profiles.py) or the SES suppression list (include/sync/ses_suppression.py).
An ``Item`` is sent when its content hash differs from its last successful push, or when that
push is within ``EXPIRY_MARGIN`` of the target's expiry. Objects that left the items are
removed, after every put; what removing one means (a deletion, a merge) is the target's.

State, resumability, retries
``customer_profiles_sync_state`` holds one row per object: the hash and unique key of its
last successful push, and the failed content with its attempts. Results are checkpointed
into it, into ``customer_profiles_sync_log`` (one row per object sent or failed, with
error code and message) and into the run's ``customer_profiles_sync_runs`` row every
``checkpoint_seconds`` (on Athena ``athena_checkpoint_seconds``: each statement there is a
query of seconds), or once the last write is done if it took longer, and on any exception. A
writer thread writes them while the sends go on. A killed sync re-run sends only what was not
recorded (what arrived after the last written checkpoint was taken: an interval and a write at most; an
idempotent upsert). A
checkpoint writes the state first, then the log, then the run's row (include/sync/state.py
has the SQL, the same on both engines): one transaction on DuckDB; on Athena, which has no
transactions, a stop between them leaves the state right (what a resume relies on) and at
worst the log or the run's counts short by that checkpoint. A rejected object is retried on later runs;
after ``max_attempts`` rejections of the same content it is dead-lettered (not sent again
until its content changes) and alerted. Throttling and server errors do not count as
attempts, nor toward the rejected share. A run whose rejected share exceeds
``max_rejected_share`` raises after writing everything; one whose deletions exceed
``max_delete_share`` of what was pushed (a broken build looks like mass erasure) refuses
before sending anything.

Outages
An error that is the account's, not the object's (credentials refused or expired, a
permission missing, the endpoint unreachable: ``ACCOUNT_CODES``, ``UNAVAILABLE_ERRORS``)
would fail every other request too, so the first one stops the run: nothing more is sent
(at most the requests already in flight finish), what was sent before it is checkpointed,
no object's attempts are counted, and ``TargetUnavailable`` is raised, which the DAG lets
Airflow retry. Once the outage ends, the next run sends everything that changed meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachable  # not the builtin

from include.orchestration import alerts
from include.quality.masking import mask_identifiers
from include.sync import state
from include.sync.config import DELETE_GUARD_FLOOR, EXPIRY_MARGIN, SyncSettings
from include.sync.state import StateRow, load_state
from include.warehouse.seam import Warehouse

log = logging.getLogger(__name__)

# Errors that say nothing about the object: they are retried but do not count as attempts.
TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "InternalServerException", "ServiceUnavailableException"}
)
# Errors that are the account's: credentials or permissions refused. The run stops (TargetUnavailable).
ACCOUNT_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "ExpiredTokenException",
        "ExpiredToken",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "MissingAuthenticationTokenException",
    }
)
# botocore's own: no usable credentials, or the endpoint not reachable (after botocore's retries).
UNAVAILABLE_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
    EndpointUnreachable,
)
PROFILE_OPERATIONS = frozenset({"merge", "delete_profile"})


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
class Outcome:
    key: str
    operation: str
    ok: bool
    unique_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    transient: bool = False  # throttling, server or connection trouble: not the object's fault
    unavailable: bool = False  # the account's error (credentials, permissions, endpoint): stops the run


def unavailable_code(err: ClientError | BotoCoreError) -> str | None:
    """The error's code when it is the account's rather than a request's (``ACCOUNT_CODES``,
    ``UNAVAILABLE_ERRORS``), else None."""
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code")
        return code if code in ACCOUNT_CODES else None
    return type(err).__name__ if isinstance(err, UNAVAILABLE_ERRORS) else None


def failure(key: str, operation: str, err: ClientError | BotoCoreError) -> Outcome:
    if code := unavailable_code(err):
        return Outcome(key, operation, False, None, code, None, unavailable=True)
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


class ContractError(Exception):
    """The marts do not have what the object types' queries read, or break a key's uniqueness."""


class SyncRejected(Exception):
    """The share of rejected objects crossed the threshold (everything is logged first)."""


class SyncRefused(Exception):
    """The run would delete too much; nothing was sent."""


class TargetUnavailable(Exception):
    """The target refused the account or could not be reached: the run stopped, nothing counted
    against any object. Not a data problem: a later try succeeds once the outage ends."""


@dataclass
class _Results:
    """Results of a run not yet checkpointed: what one checkpoint writes."""

    upserts: dict[str, StateRow] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    profile_deletes: set[str] = field(default_factory=set)
    log: list[dict] = field(default_factory=list)

    def then(self, later: _Results) -> _Results:
        """These results followed by ``later`` ones, as one checkpoint writes them."""
        return _Results(
            self.upserts | later.upserts,  # an object is put or removed in a run, never both
            self.deletes | later.deletes,
            self.profile_deletes | later.profile_deletes,
            self.log + later.log,
        )


@dataclass
class _Run:
    """A run's counters and the results not yet checkpointed."""

    run_id: str
    object_type: str
    started_at: datetime
    considered: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("sent", "unchanged", "failed", "dead"), 0))
    unwritten: _Results = field(default_factory=_Results)
    newly_dead: list[str] = field(default_factory=list)
    attempted: int = 0  # objects sent or rejected: the rejected share's denominator
    rejected: int = 0  # rejections counted as attempts (not throttling, server or waiting)

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

    def __init__(self, wh: Warehouse, target: Target, run_id: str, settings: SyncSettings):
        self.wh, self.target, self.settings = wh, target, settings
        self.state = load_state(wh, target.object_type)
        self.run_id = run_id
        self._writing: tuple[_Results, Future] | None = None  # the checkpoint being written
        self.checkpoint_seconds = (
            settings.athena_checkpoint_seconds if wh.engine == "athena" else settings.checkpoint_seconds
        )

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
            raise ContractError(f"{self.target.object_type}: duplicate object keys {mask_identifiers(str(dupes[:5]))}")
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
                run.unwritten.deletes.add(key)
                continue
            action = self.target.removal(row)
            run.considered += 1
            if row.dead_lettered and row.failed_hash == content_hash(action):
                run.counts["dead"] += 1
            else:
                to_remove.append((row, action))
        self._guard_deletions(len(to_remove))

        self.wh.execute(*state.start_run(self.wh, run.run_id, run.object_type, run.started_at))
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
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="c360-sync-checkpoint")
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
            self._checkpoint(run, finished=True)
        except BaseException:
            self._checkpoint(run, finished=False, after_failure=True)
            raise
        finally:
            self._writer.shutdown()
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
                if refused := _apply_available(future.result(), apply):
                    raise self._unavailable(run, refused)
            if time.monotonic() - last_checkpoint >= self.checkpoint_seconds:
                self._checkpoint(run, finished=False, waiting=False)
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
            # Tasks not started are cancelled: after an outage's first error, only those in flight still go out.
            pool.shutdown(wait=True, cancel_futures=True)
            for future in list(in_flight):  # finished while we were failing: record them, they were sent
                if not future.cancelled() and future.exception() is None:
                    _apply_available(future.result(), apply)

    def _unavailable(self, run: _Run, refused: Outcome) -> TargetUnavailable:
        # The code only: an error's message or URL can name the object (SES puts the address in the path).
        return TargetUnavailable(
            f"{run.object_type}: {refused.error_code} on {refused.operation}: the target refused this account or "
            f"could not be reached, so run {run.run_id} stopped: what was sent before it is recorded, no object's "
            "attempts were counted. Not a data problem: the task is retried; once the credentials, permissions or "
            "endpoint are back, the next run sends the rest"
        )

    # ---- record
    def _log(self, run: _Run, outcome: Outcome, digest: str, status: str, attempt: int) -> None:
        run.unwritten.log.append(
            {
                "run_id": run.run_id,
                "object_type": run.object_type,
                "object_key": outcome.key,
                "operation": outcome.operation,
                "content_hash": digest,
                "status": status,
                "attempt": attempt,
                "error_code": outcome.error_code,
                "error_message": outcome.error_message and outcome.error_message[: state.MAX_ERROR_MESSAGE],
                "logged_at": _now(),
            }
        )

    def _failed(self, run: _Run, row: StateRow, digest: str, outcome: Outcome) -> StateRow:
        previous = row.attempts if row.failed_hash == digest else 0
        attempts = previous + (0 if outcome.transient else 1)
        dead = not outcome.transient and attempts >= self.settings.max_attempts
        if not outcome.transient:
            run.attempted += 1
            run.rejected += 1
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
        self.state[item.key] = run.unwritten.upserts[item.key] = row

    def _apply_removal(self, run: _Run, row: StateRow, action: str, outcome: Outcome) -> None:
        digest = content_hash(action)
        if outcome.ok:
            run.attempted += 1
            run.counts["sent"] += 1
            self._log(run, outcome, digest, "sent", 1 + (row.attempts if row.failed_hash == digest else 0))
            del self.state[row.object_key]
            run.unwritten.upserts.pop(row.object_key, None)
            run.unwritten.deletes.add(row.object_key)
            if outcome.operation in PROFILE_OPERATIONS:
                run.unwritten.profile_deletes.add(row.object_key)
        else:
            self.state[row.object_key] = run.unwritten.upserts[row.object_key] = self._failed(run, row, digest, outcome)

    def _checkpoint(self, run: _Run, finished: bool, waiting: bool = True, after_failure: bool = False) -> None:
        """Write what arrived since the last checkpoint: the state first (what a resume relies on),
        then the log, then the run's row.

        One checkpoint at a time, in order, on the writer thread: sending goes on while one is written
        (~0.2 s per 1,000 objects on DuckDB, seconds per statement on Athena). Not ``waiting``: none
        while the last is still being written (the next takes these results too). A checkpoint that
        failed raises at the next one, whose write then includes its results; ``after_failure`` (the run
        is failing already): write them without raising that error.
        """
        if not waiting and self._writing is not None and not self._writing[1].done():
            return
        self._await_checkpoint(run, raising=not after_failure)
        results, run.unwritten = run.unwritten, _Results()
        summary = run.summary()
        ended = _now() if finished else None
        self._writing = (results, self._writer.submit(self._write_checkpoint, results, summary, ended))
        if waiting:
            self._await_checkpoint(run)

    def _await_checkpoint(self, run: _Run, raising: bool = True) -> None:
        writing, self._writing = self._writing, None
        if writing is None:
            return
        results, written = writing
        try:
            written.result()
        except BaseException:
            run.unwritten = results.then(run.unwritten)  # held again, before what arrived since
            if raising:
                raise

    def _write_checkpoint(self, results: _Results, summary: dict, ended: datetime | None) -> None:
        wh = self.wh
        wh.execute_many(
            [
                *state.delete_state(wh, "object_key", sorted(results.deletes), summary["object_type"]),
                # a merged or deleted profile takes every object of it along
                *state.delete_state(wh, "profile_id", sorted(results.profile_deletes)),
                *state.upsert_state(wh, list(results.upserts.values())),
                *state.append_log(wh, results.log),
                state.update_run(wh, summary, ended),
            ]
        )

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
                mask_identifiers(str(run.newly_dead[:5])),  # SES object keys are email addresses
            )
        if run.attempted and run.rejected / run.attempted > self.settings.max_rejected_share:
            raise SyncRejected(
                f"{run.object_type}: {run.rejected} of {run.attempted} objects rejected in run {run.run_id} "
                f"(more than {self.settings.max_rejected_share:.0%}); see customer_profiles_sync_log"
            )
        return summary


def _apply_available(outcomes: list[Outcome], apply: Callable[[Outcome], None]) -> Outcome | None:
    """Applies each outcome but those the account's error gave (they say nothing about their
    object); returns the first of those, if any."""
    for outcome in outcomes:
        if not outcome.unavailable:
            apply(outcome)
    return next((outcome for outcome in outcomes if outcome.unavailable), None)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
