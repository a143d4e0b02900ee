"""The person out of the landing bucket and the raw zone.

The landing bucket: each line, or CSV row, that names the person is removed. The raw zone:
each source line that names the person loses every raw row it produced, landed or
quarantined; the partition's manifest is decremented and counts ``erased``, so landed = raw
records and the quality gate still reconciles when the hour is rebuilt.

What names the person is ``Matcher.holds``: a JSON line and a raw row value by value, a CSV row
column by column under its header's names; a line that is neither (broken JSON, a quarantined
CSV row) is text, searched for the long identifiers only. Objects the cheap
``Matcher.could_hold`` rules out are not read line by line, nor rewritten.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime

from include.erasure.matching import Matcher
from include.erasure.register import REGISTER_KEY
from include.landing.partitions import (
    MANIFEST_PREFIX,
    QUARANTINE_PREFIX,
    LandingManifest,
    gzip_lines,
    list_objects,
)
from include.landing.sources import is_customer_csv

_PARTITION = re.compile(r"^(?:_quarantine/stream=)?([^/]+/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/)")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # the lines landing's reader sees, with their ends


def _read(s3, bucket: str, key: str) -> tuple[str, bool]:
    """The object's text (bytes kept exactly through surrogateescape) and whether it was gzip."""
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    zipped = data[:2] == b"\x1f\x8b"
    return (gzip.decompress(data) if zipped else data).decode("utf-8", errors="surrogateescape"), zipped


def _encode(text: str, zipped: bool) -> bytes:
    data = text.encode("utf-8", errors="surrogateescape")
    return gzip.compress(data, compresslevel=6, mtime=0) if zipped else data


def _csv_records(text: str) -> list[str]:
    """A CSV file's records as their raw text, header first: a quoted field may span lines."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    records, read = [], 0
    while read < len(lines):
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            pass  # landing quarantines it; its text is still a record here
        if reader.line_num <= read:
            break
        records.append("".join(lines[read : reader.line_num]))
        read = reader.line_num
    return records + (["".join(lines[read:])] if read < len(lines) else [])


def _csv_fields(record: str) -> list[str] | None:
    try:
        return next(csv.reader(record.splitlines(keepends=True), strict=True), [])
    except csv.Error:
        return None


def _csv_row(names: list[str], record: str) -> dict[str, str] | str:
    """A CSV record as {column: value} under the header's names, or its text when it does not fit them
    (a broken header names nothing: every row is text)."""
    fields = _csv_fields(record)
    return dict(zip(names, fields, strict=True)) if names and fields and len(fields) == len(names) else record


def erase_landing(s3, bucket: str, matcher: Matcher) -> dict[str, int]:
    """Rewrite every landing object that names the person without those lines (CSV: rows)."""
    counts = Counter(objects=0, lines=0)
    for key in (obj["Key"] for obj in list_objects(s3, bucket)):
        text, zipped = _read(s3, bucket, key)
        if not matcher.could_hold(text):
            continue
        if key.startswith("customers/") and is_customer_csv(key, text):
            header, *body = _csv_records(text)
            names = [name.strip() for name in _csv_fields(header) or []]
            kept = [r for r in body if not matcher.holds(_csv_row(names, r))]
            header = [header]
        else:
            header, body = [], _LINE.findall(text)
            kept = [r for r in body if not matcher.holds(r)]
        if len(kept) == len(body):
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=_encode("".join(header + kept), zipped))
        counts["objects"] += 1
        counts["lines"] += len(body) - len(kept)
    return dict(counts)


def erase_raw_zone(s3, raw_bucket: str, landing_bucket: str, matcher: Matcher) -> dict:
    """Every raw row of a source line that names the person goes (a WhatsApp line's refused items
    with it); manifests are decremented and count ``erased`` lines. Other objects: line by line
    (the manifests and the erased-subject register hold no identifier)."""
    counts = Counter(objects=0, rows=0, manifests=0, lines=0)
    partitions: set[str] = set()  # stream-hour prefixes that may name the person
    for key in (obj["Key"] for obj in list_objects(s3, raw_bucket)):
        if key.startswith(MANIFEST_PREFIX + "/") or key == REGISTER_KEY:
            continue
        text, zipped = _read(s3, raw_bucket, key)
        if not matcher.could_hold(text):
            continue
        match = _PARTITION.match(key)
        if match is None:  # not landing's: erase line by line
            lines = _LINE.findall(text)
            kept = [line for line in lines if not matcher.holds(line)]
            if len(kept) == len(lines):
                continue
            s3.put_object(Bucket=raw_bucket, Key=key, Body=_encode("".join(kept), zipped))
            counts["objects"] += 1
            counts["rows"] += len(lines) - len(kept)
            continue
        partitions.add(match.group(1))
    for prefix in sorted(partitions):
        counts.update(_erase_partition(s3, raw_bucket, landing_bucket, prefix, matcher))
    return dict(counts) | {"hours": sorted({prefix.split("/", 1)[1] for prefix in partitions})}


def _partition_keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(
        obj["Key"]
        for part in (prefix, f"{QUARANTINE_PREFIX}/stream={prefix}")
        for obj in list_objects(s3, bucket, part)
    )


def _erase_partition(s3, raw_bucket: str, landing_bucket: str, prefix: str, matcher: Matcher) -> dict[str, int]:
    rows: dict[str, list[dict]] = {}
    for key in _partition_keys(s3, raw_bucket, prefix):
        text, _ = _read(s3, raw_bucket, key)
        rows[key] = [json.loads(line) for line in text.splitlines() if line.strip()]
    # A source line is the unit: every row it produced goes if any of them names the person.
    erased_lines = {
        (row["source_key"], row["line_no"]) for key_rows in rows.values() for row in key_rows if matcher.holds(row)
    }
    landed_lines = {
        (row["source_key"], row["line_no"]) for key_rows in rows.values() for row in key_rows if "reason" not in row
    }
    removed = Counter()
    reasons = Counter()
    # A CSV record spanning lines: its lines after the first are the manifest's csv_continuation lines.
    continuation = Counter(
        (row["source_key"], row["line_no"])
        for key_rows in rows.values()
        for row in key_rows
        if (row["source_key"], row["line_no"]) in erased_lines
        and ("reason" not in row or (row["source_key"], row["line_no"]) not in landed_lines)
        for _ in range((row.get("raw_event") or row.get("raw_line") or "").count("\n"))
    )
    written = {}
    for key, key_rows in rows.items():
        kept = [row for row in key_rows if (row["source_key"], row["line_no"]) not in erased_lines]
        if len(kept) == len(key_rows):
            continue
        for row in key_rows:
            line = (row["source_key"], row["line_no"])
            if line not in erased_lines:
                continue
            if "reason" not in row:
                removed["landed"] += 1
            else:
                removed["quarantined"] += 1
                removed["items"] += line in landed_lines
                reasons[row["reason"]] += 1
        body = gzip_lines(kept)
        s3.put_object(Bucket=raw_bucket, Key=key, Body=body)
        written[key] = {"records": len(kept), "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    manifests = 0
    manifest_key = f"{MANIFEST_PREFIX}/{prefix}manifest.json"
    try:
        manifest = json.loads(s3.get_object(Bucket=raw_bucket, Key=manifest_key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        manifest = None
    if manifest is not None and erased_lines:
        sizes = {}
        for source in manifest["source_files"]:
            try:
                head = s3.head_object(Bucket=landing_bucket, Key=source["key"])
            except s3.exceptions.ClientError:
                continue  # gone from the landing bucket: keep what was recorded
            sizes[source["key"]] = (head["ContentLength"], head["ETag"].strip('"'))
        s3.put_object(
            Bucket=raw_bucket,
            Key=manifest_key,
            Body=json.dumps(
                erase_from_manifest(manifest, erased_lines, removed, reasons, sizes, written, continuation), indent=2
            )
            .encode(),
        )  # fmt: skip
        manifests = 1
    return {
        "objects": len(written),
        "rows": removed["landed"] + removed["quarantined"],
        "manifests": manifests,
        "lines": len(erased_lines),
    }


def erase_from_manifest(
    manifest: dict,
    erased_lines: set[tuple[str, int]],
    removed: Counter,
    reasons: Counter,
    sizes: dict[str, tuple[int, str]],
    written: dict[str, dict],
    continuation: Counter | None = None,
) -> dict:
    """The manifest after erasing ``erased_lines`` (``continuation``: the further physical lines of each
    erased CSV record): still lines_read = landed + quarantined - items + skipped lines."""
    continuation = continuation or Counter()
    per_file = Counter(source_key for source_key, _ in erased_lines)
    for (source_key, _), lines in continuation.items():
        per_file[source_key] += lines
    result = dict(manifest)
    result["source_files"] = [
        source
        | {"lines": source["lines"] - per_file[source["key"]]}
        | (dict(zip(("bytes", "etag"), sizes[source["key"]], strict=True)) if source["key"] in sizes else {})
        for source in manifest["source_files"]
    ]
    result["lines_read"] = manifest["lines_read"] - len(erased_lines) - sum(continuation.values())
    if continuation:
        skipped = dict(manifest.get("skipped_lines", {}))
        skipped["csv_continuation"] = skipped.get("csv_continuation", 0) - sum(continuation.values())
        result["skipped_lines"] = {kind: n for kind, n in skipped.items() if n > 0}
    result["landed"] = manifest["landed"] - removed["landed"]
    result["quarantined"] = manifest["quarantined"] - removed["quarantined"]
    result["quarantined_items"] = manifest["quarantined_items"] - removed["items"]
    left = Counter(manifest["quarantine_reasons"])
    left.subtract(reasons)
    result["quarantine_reasons"] = {reason: n for reason, n in left.items() if n > 0}
    result["written"] = [entry | written.get(entry["key"], {}) for entry in manifest["written"]]
    result["erased"] = manifest.get("erased", 0) + len(erased_lines)
    LandingManifest(**{k: v for k, v in result.items() if k != "erased"}).check()
    return result


def changed_hours(hours: list[str]) -> list[datetime]:
    """The raw-zone hours an erasure changed (``erase_raw_zone``'s ``hours``) as UTC datetimes."""
    return sorted(datetime.strptime(h, "year=%Y/month=%m/day=%d/hour=%H/").replace(tzinfo=UTC) for h in hours)
