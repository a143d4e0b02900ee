"""Landing: landing bucket → raw zone, one stream and one hour at a time.

Streams: the engagement events (``ses``, ``sms_voice``, ``whatsapp``, ``conversations``) and
the source-system batches (``customers`` as CSV or JSON lines; ``bookings``, ``loyalty``,
``clickstream``, ``service_interactions`` as JSON lines; formats in docs/input-formats.md).

Each line of each landed file (each row of a CSV) is checked (``records.py``). Good records are
written to the raw zone's Hive partition ``<stream>/year=/month=/day=/hour=/`` as
newline-delimited JSON (gzip); bad ones go to ``_quarantine/stream=<stream>/…`` with a reason. A
manifest per partition records what was read and written so counts reconcile: lines read (physical
lines, counted from the files' bytes) = records landed + lines quarantined + lines holding no record
(blank, a CSV header or a CSV record's continuation; ``partitions.py``). The manifest lists each file of
its hour by key and ETag, an empty one too, so a file it does not list is one not landed yet
(``unlanded_keys``: late files, ``tasks.py``). No input fails a stream-hour:
a file that cannot be read is one quarantined line, the rest of the hour lands.

Which hour a record belongs to: the hour in its file's path when the file sits under a
Firehose prefix (``YYYY/MM/DD/HH/``) or a Hive one; for flat drops, the hour of the
record's own time (a source record's: ``updated_at``, ``booked_at``, ``event_timestamp``,
``started_at``). A broken line in a flat drop has no time of its own and goes
with the earliest good record of its file (or the file's upload hour if it has none), so
every line is counted in exactly one hour. A record dated more than a day after the hour it would
land in (a flat drop's: its upload hour) is refused, so it never becomes an hour to land; so is a
file whose key names an hour that cannot be (``invalid_key``: refused in its upload hour).

Landing an hour again replaces that hour's partition: runs are idempotent.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime

from include.erasure import register
from include.landing.partitions import (
    PART_NAME,
    QUARANTINE_PREFIX,
    InvalidKey,
    LandingManifest,
    firehose_prefix,
    gzip_lines,
    hour_floor,
    hour_from_key,
    list_objects,
    manifest_key,
    partition_prefix,
    read_manifest,
)
from include.landing.records import EARLIEST, LATEST_AFTER_HOUR, LandedRecord, Quarantined, read_file


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A file's rows are millions of small acyclic objects: the cyclic collector would rescan
    them again and again (a fifth of the time of a big file) and find nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def file_hour(key: str, uploaded: datetime) -> tuple[datetime | None, Quarantined | None]:
    """The hour a file's key names (None for a flat drop), or why its key cannot be an hour
    (``invalid_key``): a prefix naming no real hour, one before 2000, or more than a day after the
    file was uploaded. Such a file's lines are refused in its upload hour."""
    try:
        hour = hour_from_key(key)
    except InvalidKey as exc:
        return None, Quarantined("invalid_key", str(exc))
    if hour is not None and not EARLIEST <= hour <= uploaded + LATEST_AFTER_HOUR:
        detail = (
            f"the key's hour {hour:%Y-%m-%dT%H} is before 2000 or after a day past its upload ({uploaded:%Y-%m-%dT%H})"
        )
        return None, Quarantined("invalid_key", detail)
    return hour, None


# One file's rows, each (hour, raw-zone row, physical lines it spans), and its lines with no record (hour, kind).
FileRows = tuple[list[tuple[datetime, dict, int]], list[tuple[datetime, str]]]


def _file_rows(
    stream: str, key: str, data: bytes, upload_hour: datetime, erased: register.ErasedSubjects | None = None
) -> FileRows:
    """Every record of one file with its hour; quarantined rows carry their reason."""
    with _cyclic_gc_paused():
        return _rows_of(stream, key, data, upload_hour, erased)


def _rows_of(
    stream: str, key: str, data: bytes, upload_hour: datetime, erased: register.ErasedSubjects | None
) -> FileRows:
    path_hour, bad_key = file_hour(key, upload_hour)
    # The latest possible time of a record: a day after the hour it lands in (a flat drop's: its upload).
    latest = (path_hour or upload_hour) + LATEST_AFTER_HOUR
    read = read_file(stream, key, data, latest, refuse=bad_key, erased=erased)
    good_hours = [hour_floor(r.event_time) for *_, r in read.records if isinstance(r, LandedRecord)]
    fallback_hour = path_hour or (min(good_hours) if good_hours else upload_hour)
    rows = []
    for line_no, span, line, result in read.records:
        base = {"source_key": key, "line_no": line_no}
        if isinstance(result, LandedRecord):
            hour = path_hour or hour_floor(result.event_time)
            # raw_event only where it differs from body (an SNS envelope, a refused item): staging
            # reads coalesce(raw_event, body), and the raw zone is half the size.
            landed_row = {"body": result.body} | (
                {} if result.raw_event == result.body else {"raw_event": result.raw_event}
            )
            if result.normalised is not None:
                landed_row["normalised"] = result.normalised
            rows.append((hour, base | landed_row, span))
            rows += [
                (hour, base | {"reason": reason, "detail": detail, "raw_line": item, "item": True}, 0)
                for reason, detail, item in result.rejected_items
            ]
        else:
            row = base | {"reason": result.reason, "detail": result.detail, "raw_line": line}
            rows.append((fallback_hour, row, span))
    return rows, [(fallback_hour, kind) for _, kind in read.skipped]


def land_hour(s3, stream: str, hour: datetime, landing_bucket: str, raw_bucket: str) -> LandingManifest:
    """Land every record of ``stream`` that belongs to ``hour``; replaces that hour's partitions."""
    hour = hour_floor(hour)
    manifest = LandingManifest(stream=stream, hour=hour.isoformat())
    landed, quarantined = [], []
    skipped: Counter[str] = Counter()
    # Read once per stream-hour: people erased on request are refused (records.py, erased_subject).
    erased = register.load(s3, raw_bucket)
    for obj in list_objects(s3, landing_bucket, f"{stream}/"):
        key, uploaded = obj["Key"], hour_floor(obj["LastModified"])
        path_hour, bad_key = file_hour(key, uploaded)
        if (path_hour is not None and path_hour != hour) or (bad_key is not None and uploaded != hour):
            continue
        data = s3.get_object(Bucket=landing_bucket, Key=key)["Body"].read()
        file_rows, file_skipped = _file_rows(stream, key, data, uploaded, erased)
        rows = [(row, span) for row_hour, row, span in file_rows if row_hour == hour]
        kinds = Counter(kind for kind_hour, kind in file_skipped if kind_hour == hour)
        if continuation := sum(span - 1 for _, span in rows if span > 1):
            kinds["csv_continuation"] += continuation
        lines = sum(span for _, span in rows) + sum(kinds.values()) - continuation
        if not lines and path_hour is None:
            continue  # a flat drop with no line in this hour
        manifest.source_files.append({"key": key, "bytes": len(data), "etag": obj["ETag"].strip('"'), "lines": lines})
        skipped.update(kinds)
        for row, _ in rows:
            (quarantined if "reason" in row else landed).append(row)

    manifest.lines_read = sum(f["lines"] for f in manifest.source_files)
    manifest.landed, manifest.quarantined = len(landed), len(quarantined)
    manifest.quarantined_items = sum(1 for row in quarantined if row.pop("item", False))
    manifest.quarantine_reasons = dict(Counter(row["reason"] for row in quarantined))
    manifest.skipped_lines = dict(sorted(skipped.items()))
    manifest.check()

    for prefix, rows in (
        (partition_prefix(stream, hour), landed),
        (f"{QUARANTINE_PREFIX}/stream={partition_prefix(stream, hour)}", quarantined),
    ):
        _replace_partition(s3, raw_bucket, prefix, rows, manifest)
    manifest_body = json.dumps(asdict(manifest), indent=2).encode()
    s3.put_object(Bucket=raw_bucket, Key=manifest_key(stream, hour), Body=manifest_body)
    return manifest


def unlanded_keys(s3, stream: str, hour: datetime, landing_bucket: str, raw_bucket: str) -> list[str]:
    """The objects under ``hour``'s Firehose prefix that its manifest does not list (by key and ETag):
    delivered after the hour was landed, or never landed. One listing of the prefix; the manifest
    is read only where the prefix holds objects."""
    objects = [
        obj
        for obj in list_objects(s3, landing_bucket, firehose_prefix(stream, hour))
        if file_hour(obj["Key"], hour_floor(obj["LastModified"]))[0] == hour
    ]
    if not objects:
        return []
    listed = read_manifest(s3, raw_bucket, stream, hour)
    if listed is None:
        return [obj["Key"] for obj in objects]
    landed = {(source["key"], source["etag"]) for source in listed["source_files"]}
    return [obj["Key"] for obj in objects if (obj["Key"], obj["ETag"].strip('"')) not in landed]


def _replace_partition(s3, bucket: str, prefix: str, rows: list[dict], manifest: LandingManifest) -> None:
    stale = [{"Key": obj["Key"]} for obj in list_objects(s3, bucket, prefix)]
    if stale:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale, "Quiet": True})
    # Written even when empty: readers glob the partitions and an hour with no file is an error.
    body = gzip_lines(rows)
    key = prefix + PART_NAME
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    manifest.written.append(
        {"key": key, "records": len(rows), "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    )


def stream_hours(s3, landing_bucket: str, stream: str, keys: Iterable[str] | None = None) -> set[datetime]:
    """The hours ``stream``'s landing files hold records for: every file's, or only ``keys``'."""
    objects = list_objects(s3, landing_bucket, f"{stream}/")
    if keys is not None:
        wanted = set(keys)
        if missing := wanted - {obj["Key"] for obj in objects}:
            raise ValueError(f"dropped files not in s3://{landing_bucket}/: {sorted(missing)}")
        objects = [obj for obj in objects if obj["Key"] in wanted]
    hours: set[datetime] = set()
    for obj in objects:
        uploaded = hour_floor(obj["LastModified"])
        path_hour, bad_key = file_hour(obj["Key"], uploaded)
        if path_hour is not None or bad_key is not None:
            hours.add(path_hour or uploaded)
            continue
        data = s3.get_object(Bucket=landing_bucket, Key=obj["Key"])["Body"].read()
        rows, skipped = _file_rows(stream, obj["Key"], data, uploaded)
        hours.update(h for h, *_ in rows + skipped)
    return hours


def discover_hours(
    s3, landing_bucket: str, streams: Iterable[str], keys: Iterable[str] | None = None
) -> list[datetime]:
    """Every hour the landing bucket's files hold records for, or only ``keys``' (what a run of
    those files must cover)."""
    wanted = None if keys is None else set(keys)

    def of_stream(stream: str) -> list[str] | None:
        return None if wanted is None else [key for key in wanted if key.startswith(f"{stream}/")]

    return sorted(set().union(*(stream_hours(s3, landing_bucket, stream, of_stream(stream)) for stream in streams)))
