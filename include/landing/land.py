"""Landing: landing bucket → raw zone, one stream and one hour at a time.

Streams: the engagement events (``ses``, ``sms_voice``, ``whatsapp``, ``conversations``) and
the source-system batches (``customers`` as CSV or JSON lines; ``bookings``, ``loyalty``,
``clickstream``, ``service_interactions`` as JSON lines; formats in docs/input-formats.md).

Each line of each landed file (each row of a CSV) is checked (``records.py``). Good records are
written to the raw zone's Hive partition ``<stream>/year=/month=/day=/hour=/`` as
newline-delimited JSON (gzip); bad ones go to ``_quarantine/stream=<stream>/…`` with a reason. A
manifest per partition records what was read and written so counts reconcile: lines read =
records landed + quarantined (``partitions.py``).

Which hour a record belongs to: the hour in its file's path when the file sits under a
Firehose prefix (``YYYY/MM/DD/HH/``) or a Hive one; for flat drops, the hour of the
record's own time (a source record's: ``updated_at``, ``booked_at``, ``event_timestamp``,
``started_at``). A broken line in a flat drop has no time of its own and goes
with the earliest good record of its file (or the file's upload hour if it has none), so
every line is counted in exactly one hour.

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

from include.landing.partitions import (
    MANIFEST_PREFIX,
    PART_NAME,
    QUARANTINE_PREFIX,
    LandingManifest,
    gzip_lines,
    hour_floor,
    hour_from_key,
    list_objects,
    partition_prefix,
)
from include.landing.records import LandedRecord, check_file


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


def _file_rows(stream: str, key: str, data: bytes, upload_hour: datetime) -> list[tuple[datetime, dict]]:
    """Every record of one file as (hour, raw-zone row); quarantined rows carry their reason."""
    with _cyclic_gc_paused():
        return _rows_of(stream, key, data, upload_hour)


def _rows_of(stream: str, key: str, data: bytes, upload_hour: datetime) -> list[tuple[datetime, dict]]:
    path_hour = hour_from_key(key)
    checked = list(check_file(stream, key, data))
    good_hours = [hour_floor(c.event_time) for _, _, c in checked if isinstance(c, LandedRecord)]
    fallback_hour = path_hour or (min(good_hours) if good_hours else upload_hour)
    rows = []
    for line_no, line, result in checked:
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
            rows.append((hour, base | landed_row))
            rows += [
                (hour, base | {"reason": reason, "detail": detail, "raw_line": item, "item": True})
                for reason, detail, item in result.rejected_items
            ]
        else:
            rows.append((fallback_hour, base | {"reason": result.reason, "detail": result.detail, "raw_line": line}))
    return rows


def land_hour(s3, stream: str, hour: datetime, landing_bucket: str, raw_bucket: str) -> LandingManifest:
    """Land every record of ``stream`` that belongs to ``hour``; replaces that hour's partitions."""
    hour = hour_floor(hour)
    manifest = LandingManifest(stream=stream, hour=hour.isoformat())
    landed, quarantined = [], []
    for obj in list_objects(s3, landing_bucket, f"{stream}/"):
        key = obj["Key"]
        path_hour = hour_from_key(key)
        if path_hour is not None and path_hour != hour:
            continue
        data = s3.get_object(Bucket=landing_bucket, Key=key)["Body"].read()
        rows = [
            row for row_hour, row in _file_rows(stream, key, data, hour_floor(obj["LastModified"])) if row_hour == hour
        ]
        if not rows:
            continue
        lines = len({row["line_no"] for row in rows})
        manifest.source_files.append({"key": key, "bytes": len(data), "etag": obj["ETag"].strip('"'), "lines": lines})
        for row in rows:
            (quarantined if "reason" in row else landed).append(row)

    manifest.lines_read = sum(f["lines"] for f in manifest.source_files)
    manifest.landed, manifest.quarantined = len(landed), len(quarantined)
    manifest.quarantined_items = sum(1 for row in quarantined if row.pop("item", False))
    manifest.quarantine_reasons = dict(Counter(row["reason"] for row in quarantined))
    manifest.check()

    for prefix, rows in (
        (partition_prefix(stream, hour), landed),
        (f"{QUARANTINE_PREFIX}/stream={partition_prefix(stream, hour)}", quarantined),
    ):
        _replace_partition(s3, raw_bucket, prefix, rows, manifest)
    s3.put_object(
        Bucket=raw_bucket,
        Key=f"{MANIFEST_PREFIX}/{partition_prefix(stream, hour)}manifest.json",
        Body=json.dumps(asdict(manifest), indent=2).encode(),
    )
    return manifest


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
        path_hour = hour_from_key(obj["Key"])
        if path_hour is not None:
            hours.add(path_hour)
            continue
        data = s3.get_object(Bucket=landing_bucket, Key=obj["Key"])["Body"].read()
        hours.update(h for h, _ in _file_rows(stream, obj["Key"], data, hour_floor(obj["LastModified"])))
    return hours


def discover_hours(s3, landing_bucket: str, streams: Iterable[str]) -> list[datetime]:
    """Every hour the landing bucket holds records for (what a run of those files must cover)."""
    return sorted(set().union(*(stream_hours(s3, landing_bucket, stream) for stream in streams)))
