"""Where landing reads and writes: hours, the raw zone's partitions, their manifests and bytes.

The raw zone is Hive-partitioned ``<stream>/year=/month=/day=/hour=/``, each partition one
``part-00000.json.gz`` of compact JSON lines; quarantined rows sit under ``_quarantine/stream=…``
and each stream-hour's manifest under ``_manifests/…``. A landing file's hour is the one its
path names when it sits under a Firehose prefix (``YYYY/MM/DD/HH/``) or a Hive one.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
QUARANTINE_PREFIX = "_quarantine"
MANIFEST_PREFIX = "_manifests"
PART_NAME = "part-00000.json.gz"
# json.dumps with separators builds a new encoder per call: landing encodes millions of rows.
compact_json = json.JSONEncoder(separators=(",", ":")).encode
_GZIP_CHUNK_ROWS = 20_000

_FIREHOSE_HOUR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")
_HIVE_HOUR = re.compile(r"(?:^|/)year=(\d{4})/month=(\d{1,2})/day=(\d{1,2})/hour=(\d{1,2})/")


@dataclass
class LandingManifest:
    stream: str
    hour: str
    source_files: list[dict] = field(default_factory=list)
    lines_read: int = 0
    landed: int = 0
    quarantined: int = 0  # quarantine rows: whole lines plus items refused inside landed lines
    quarantined_items: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # Lines that hold no record: blank, csv_header, csv_continuation (a CSV record's lines after its first).
    skipped_lines: dict[str, int] = field(default_factory=dict)
    written: list[dict] = field(default_factory=list)

    def check(self) -> None:
        """lines_read (physical lines, counted from the files' bytes) = records landed + lines quarantined
        whole + lines that hold no record."""
        whole = self.quarantined - self.quarantined_items
        if self.lines_read != self.landed + whole + sum(self.skipped_lines.values()):
            raise AssertionError(
                f"{self.stream} {self.hour}: read {self.lines_read} lines but landed {self.landed}, "
                f"quarantined {whole} whole lines and skipped {self.skipped_lines}"
            )


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class InvalidKey(ValueError):
    """A key whose Firehose or Hive prefix names no hour (month 13, hour 25)."""


def hour_from_key(key: str) -> datetime | None:
    """The hour a Firehose or Hive prefix in the key names, if it has one; InvalidKey if it names
    one that does not exist."""
    match = _HIVE_HOUR.search(key) or _FIREHOSE_HOUR.search(key)
    if not match:
        return None
    year, month, day, hour = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError as exc:
        raise InvalidKey(f"{match.group(0).strip('/')!r} is no hour: {exc}") from None


def partition_prefix(stream: str, hour: datetime) -> str:
    return f"{stream}/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"


def manifest_key(stream: str, hour: datetime) -> str:
    return f"{MANIFEST_PREFIX}/{partition_prefix(stream, hour)}manifest.json"


def read_manifest(s3, raw_bucket: str, stream: str, hour: datetime) -> dict | None:
    """The stream-hour's landing manifest, as landing wrote it; None when that hour was never landed."""
    try:
        return json.loads(s3.get_object(Bucket=raw_bucket, Key=manifest_key(stream, hour))["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def firehose_prefix(stream: str, hour: datetime) -> str:
    """Where Firehose delivers ``stream``'s objects of ``hour`` in the landing bucket."""
    return f"{stream}/{hour:%Y/%m/%d/%H}/"


def gzip_lines(rows: list[dict]) -> bytes:
    """A raw-zone partition's bytes: compact JSON lines, gzipped reproducibly (also erasure's rewrite)."""
    # Level 1: compression was a fifth of landing's time. In chunks, so a million rows are never
    # one string. mtime=0 keeps the bytes identical across runs, so checksums are too.
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        for start in range(0, len(rows), _GZIP_CHUNK_ROWS):
            gz.write("".join(compact_json(row) + "\n" for row in rows[start : start + _GZIP_CHUNK_ROWS]).encode())
    return out.getvalue()


def list_objects(s3, bucket: str, prefix: str = "") -> list[dict]:
    """Every object under ``prefix`` (all pages)."""
    paginator = s3.get_paginator("list_objects_v2")
    return [obj for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for obj in page.get("Contents", [])]
