"""Landing: landing bucket → raw zone, one stream and one hour at a time.

Streams: the engagement events (``ses``, ``sms_voice``, ``whatsapp``, ``conversations``) and
the source-system batches (``customers`` as CSV or JSON lines; ``bookings``, ``loyalty``,
``clickstream``, ``service_interactions`` as JSON lines; formats in the README).

Each line of each landed file (each row of a CSV) is checked. Good records are written to the raw zone's
Hive partition ``<stream>/year=/month=/day=/hour=/`` as newline-delimited JSON (gzip);
bad ones go to ``_quarantine/stream=<stream>/…`` with a reason. A manifest per partition records
what was read and written so counts reconcile: lines read = records landed + quarantined.

Which hour a record belongs to: the hour in its file's path when the file sits under a
Firehose prefix (``YYYY/MM/DD/HH/``) or a Hive one; for flat drops, the hour of the
record's own time (a source record's: ``updated_at``, ``booked_at``, ``event_timestamp``,
``started_at``). A broken line in a flat drop has no time of its own and goes
with the earliest good record of its file (or the file's upload hour if it has none), so
every line is counted in exactly one hour.

Source records also get ``normalised``: their phone in E.164 with its type and country
(``phonenumbers``, offline), which SQL engines cannot compute.

Landing an hour again replaces that hour's partition: runs are idempotent.
"""

from __future__ import annotations

import csv
import gc
import gzip
import hashlib
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import phonenumbers

HOUR = timedelta(hours=1)
# json.dumps with separators builds a new encoder per call: landing encodes millions of rows.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
QUARANTINE_PREFIX = "_quarantine"
MANIFEST_PREFIX = "_manifests"
PART_NAME = "part-00000.json.gz"
_GZIP_CHUNK_ROWS = 20_000

_FIREHOSE_HOUR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")
_HIVE_HOUR = re.compile(r"(?:^|/)year=(\d{4})/month=(\d{1,2})/day=(\d{1,2})/hour=(\d{1,2})/")
_SMS_VOICE_PREFIXES = ("TEXT_", "MEDIA_", "VOICE_")
# SES event types whose own object carries the event's time; the rest use mail.timestamp.
_SES_TIMED_OBJECTS = {
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Delivery": "delivery",
    "Open": "open",
    "Click": "click",
    "DeliveryDelay": "deliveryDelay",
    "Subscription": "subscription",
}


class Quarantined(Exception):
    """A record that cannot be landed, with the reason written beside it."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


@dataclass
class LandedRecord:
    event_time: datetime
    body: str  # the record's JSON after unwrapping an SNS envelope (and removing rejected items)
    raw_event: str  # the line exactly as received
    # Items of a WhatsApp entry refused on their own (no id): (reason, detail, item JSON).
    rejected_items: list[tuple[str, str, str]] = field(default_factory=list)
    normalised: str | None = None  # source records with a person: their phone, normalised (JSON)


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
    written: list[dict] = field(default_factory=list)

    def check(self) -> None:
        if self.lines_read != self.landed + self.quarantined - self.quarantined_items:
            raise AssertionError(
                f"{self.stream} {self.hour}: read {self.lines_read} lines but landed {self.landed} "
                f"and quarantined {self.quarantined - self.quarantined_items} whole lines"
            )


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_from_key(key: str) -> datetime | None:
    """The hour a Firehose or Hive prefix in the key names, if it has one."""
    match = _HIVE_HOUR.search(key) or _FIREHOSE_HOUR.search(key)
    if not match:
        return None
    year, month, day, hour = (int(g) for g in match.groups())
    return datetime(year, month, day, hour, tzinfo=UTC)


def partition_prefix(stream: str, hour: datetime) -> str:
    return f"{stream}/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"


# -- source-system records ---------------------------------------------------------------
CUSTOMER_COLUMNS = (
    "source_system", "customer_id", "first_name", "last_name", "email", "phone", "birth_date",
    "address_line1", "address_line2", "city", "postal_code", "state", "country", "loyalty_id", "updated_at",
)  # fmt: skip
_CUSTOMER_KEYS = frozenset(CUSTOMER_COLUMNS)


class SourceShape(NamedTuple):
    ids: tuple[str, ...]  # fields that together name the record: all required
    time: str  # the record's own time: required, ISO-8601
    person: str | None  # the object holding the person's phone and country ("" = the record itself)
    markers: frozenset[str]  # keys only this type has (route() tells types apart by them)


# In route() order: a customer record has no key of the types before it.
SOURCES = {
    "bookings": SourceShape(
        ("source_system", "booking_id"), "booked_at", "traveller",
        frozenset({"booking_id", "booked_at", "traveller", "itinerary"}),
    ),
    "service_interactions": SourceShape(
        ("interaction_id",), "started_at", "customer", frozenset({"interaction_id", "started_at", "conversation"})
    ),
    "loyalty": SourceShape(
        ("loyalty_id",), "updated_at", "member", frozenset({"member", "program", "tier", "points_balance"})
    ),
    "clickstream": SourceShape(
        ("event_id",), "event_timestamp", None,
        frozenset({"event_id", "event_type", "event_timestamp", "session_id", "page_url"}),
    ),
    "customers": SourceShape(
        ("source_system", "customer_id"), "updated_at", "",
        frozenset({"source_system", "customer_id", "first_name", "last_name", "email", "phone", "updated_at"}),
    ),
}  # fmt: skip

# What both warehouse engines can type (staging's iso_to_timestamp): a date, or a date and
# time with seconds, optional fraction and optional Z / ±HH:MM offset (none means UTC).
_SOURCE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)?")
DEFAULT_PHONE_REGION = os.environ.get("C360_DEFAULT_PHONE_REGION", "US")
_PHONE_TYPE_NAMES = {value: name for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()}


def _source_time(value: Any, what: str) -> datetime:
    if value in (None, ""):
        raise Quarantined("missing_timestamp", what)
    if not isinstance(value, str) or not _SOURCE_TIME.fullmatch(value):
        raise Quarantined("invalid_timestamp", f"{what}={value!r}")
    return _parse_iso(value, what)


@lru_cache(maxsize=1 << 20)
def normalise_phone(phone: str | None, region: str) -> str:
    """``normalised`` for a phone as received: compact JSON of phone_e164, phone_type (a
    PhoneNumberType name), phone_country (ISO region) and phone_status valid|invalid|missing.
    ``region`` is assumed for numbers without a country code. Cached: landing a batch meets
    the same numbers again and again, and parsing is most of a source record's cost."""
    e164 = kind = country = None
    if phone is None or not phone.strip():
        status = "missing"
    else:
        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            number = None
        # number_type is UNKNOWN exactly when is_valid_number is false: one metadata match, not two.
        number_type = phonenumbers.number_type(number) if number else phonenumbers.PhoneNumberType.UNKNOWN
        if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
            status = "invalid"
        else:
            status = "valid"
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            kind = _PHONE_TYPE_NAMES[number_type]
            country = phonenumbers.region_code_for_number(number)
    return _compact_json({"phone_e164": e164, "phone_type": kind, "phone_country": country, "phone_status": status})


def _phone_region(country: Any) -> str:
    """The record's country when it is an ISO-3166 alpha-2 code phonenumbers knows, else the default."""
    if isinstance(country, str) and len(country) == 2 and country.upper() in phonenumbers.SUPPORTED_REGIONS:
        return country.upper()
    return DEFAULT_PHONE_REGION


def _undocumented(key: str, value: Any) -> bool:
    return key not in _CUSTOMER_KEYS and not (key == "attributes" and isinstance(value, dict))


def _customer_body(values: dict) -> str:
    """A customer as the raw zone keeps it: the documented keys, any other key under ``attributes``."""
    given = values.get("attributes")
    attributes = (dict(given) if isinstance(given, dict) else {}) | {
        k: v for k, v in values.items() if _undocumented(k, v)
    }
    body = {k: values.get(k) for k in CUSTOMER_COLUMNS} | ({"attributes": attributes} if attributes else {})
    return _compact_json(body)


def _check_source(stream: str, record: dict, body: str, raw: str) -> LandedRecord:
    source = SOURCES[stream]
    missing = [name for name in source.ids if record.get(name) in (None, "")]
    if missing:
        raise Quarantined("missing_record_id", ", ".join(missing))
    event_time = _source_time(record.get(source.time), source.time)
    normalised = None
    if source.person is not None:
        person = record if source.person == "" else record.get(source.person)
        person = person if isinstance(person, dict) else {}
        phone = person.get("phone")
        normalised = normalise_phone(None if phone is None else str(phone), _phone_region(person.get("country")))
    return LandedRecord(event_time, body, raw, normalised=normalised)


def _check_csv_row(header: list[str], extra: list[str], fields: list[str], raw: str) -> LandedRecord:
    if len(fields) != len(header):
        raise Quarantined("invalid_csv", f"{len(fields)} fields, the header has {len(header)}")
    values = {name: value or None for name, value in zip(header, fields, strict=True)}
    # As _customer_body, with the extra columns known once per file.
    body = {k: values.get(k) for k in CUSTOMER_COLUMNS}
    if extra:
        body["attributes"] = {k: values[k] for k in extra}
    return _check_source("customers", values, _compact_json(body), raw)


def _read_csv(text: str) -> Iterator[tuple[int, str, LandedRecord | Quarantined]]:
    """Customer CSV rows checked against the file's header (its first line). A quoted field
    may hold commas and line breaks; a row's line_no is its first line's, the header's is 1."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    read = 0  # lines the reader has consumed
    while True:
        result: LandedRecord | Quarantined | None = None
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            fields, result = None, Quarantined("invalid_csv", str(exc))
        first, read = read, reader.line_num
        raw = (lines[first] if read == first + 1 else "".join(lines[first:read])).rstrip("\r\n")
        if not raw.strip():
            continue
        if header is None and fields is not None:
            header = [name.strip() for name in fields]
            extra = [name for name in header if name not in _CUSTOMER_KEYS]
            continue
        if result is None:
            try:
                result = _check_csv_row(header, extra, fields, raw)
            except Quarantined as bad:
                result = bad
        yield first + 1, raw, result


def is_customer_csv(key: str, text: str) -> bool:
    """By extension, else by a first line that is a CSV header naming customer_id."""
    if key.lower().endswith((".csv", ".csv.gz")):
        return True
    first = next((line for line in io.StringIO(text) if line.strip()), "")
    return not first.lstrip().startswith(("{", "[")) and "customer_id" in next(csv.reader([first]), [])


# -- record checks -----------------------------------------------------------------------
def route(record: dict) -> str | None:
    """Which engagement stream a record's shape belongs to (docs/canonical-events.md routing)."""
    if "whatsAppWebhookEntry" in record:
        return "whatsapp"
    if str(record.get("eventType", "")).startswith(_SMS_VOICE_PREFIXES) or "inboundMessageId" in record:
        return "sms_voice"
    if isinstance(record.get("mail"), dict):
        return "ses"
    if record.get("direction") in ("inbound", "outbound") and "message" in record:
        return "conversations"
    # Source records are told apart by keys only their type has, so one missing its id or
    # time is still recognised (and quarantined for that) rather than called unknown.
    for stream, source in SOURCES.items():
        if not source.markers.isdisjoint(record):
            return stream
    return None


def _parse_iso(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Quarantined("invalid_timestamp", f"{what}={value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_epoch_ms(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Quarantined("invalid_timestamp", f"{what}={value!r}") from exc


def _require(value: Any, reason: str, detail: str) -> Any:
    if value in (None, "", []):
        raise Quarantined(reason, detail)
    return value


def _ses_event_time(record: dict, notified_at: str | None) -> datetime:
    mail = record["mail"]
    _require(mail.get("messageId"), "missing_message_id", "mail.messageId")
    event_type = _require(
        record.get("eventType") or record.get("notificationType"),
        "unknown_shape",
        "SES record without eventType or notificationType",
    )
    timed = record.get(_SES_TIMED_OBJECTS.get(event_type, ""), {})
    stamp = timed.get("timestamp") if isinstance(timed, dict) else None
    return _parse_iso(_require(stamp or mail.get("timestamp"), "missing_timestamp", "mail.timestamp"), "timestamp")


def _sms_voice_event_time(record: dict, notified_at: str | None) -> datetime:
    if "inboundMessageId" in record:
        # Two-way SMS replies carry no time of their own; SNS's notification time is theirs.
        _require(record.get("inboundMessageId"), "missing_message_id", "inboundMessageId")
        return _parse_iso(
            _require(notified_at, "missing_timestamp", "inbound SMS outside an SNS envelope"), "Timestamp"
        )
    _require(record.get("messageId"), "missing_message_id", "messageId")
    return _from_epoch_ms(
        _require(record.get("eventTimestamp"), "missing_timestamp", "eventTimestamp"), "eventTimestamp"
    )


def _whatsapp_event_time(record: dict, notified_at: str | None) -> datetime:
    return _parse_iso(
        _require(record.get("message_timestamp"), "missing_timestamp", "message_timestamp"), "message_timestamp"
    )


def _split_whatsapp_items(record: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """The record without the messages/statuses that have no id, and those items.

    The public sample silently drops a status without an id; we keep its siblings and
    quarantine the item. A record left with nothing to land is quarantined whole.
    """
    entry = record["whatsAppWebhookEntry"]
    try:
        parsed = json.loads(entry) if isinstance(entry, str) else entry
    except json.JSONDecodeError as exc:
        raise Quarantined("invalid_whatsapp_entry", str(exc)) from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("changes"), list):
        raise Quarantined("invalid_whatsapp_entry", "whatsAppWebhookEntry has no changes[]")
    rejected, kept_items = [], 0
    for change in parsed["changes"]:
        value = change.get("value") if isinstance(change, dict) else None
        if not isinstance(value, dict):
            continue
        for kind in ("messages", "statuses"):
            items = value.get(kind) or []
            good = [item for item in items if isinstance(item, dict) and item.get("id")]
            rejected += [
                ("missing_message_id", f"whatsapp {kind[:-1]} without id", json.dumps(item, separators=(",", ":")))
                for item in items
                if item not in good
            ]
            kept_items += len(good)
            if kind in value:
                value[kind] = good
    if rejected and not kept_items:
        raise Quarantined(*rejected[0][:2])
    if rejected:
        record = record | {"whatsAppWebhookEntry": json.dumps(parsed, separators=(",", ":"))}
    return record, rejected


def _conversation_event_time(record: dict, notified_at: str | None) -> datetime:
    _require(record.get("messageId"), "missing_message_id", "messageId")
    return _from_epoch_ms(_require(record.get("timestamp"), "missing_timestamp", "timestamp"), "timestamp")


_EVENT_TIME = {
    "ses": _ses_event_time,
    "sms_voice": _sms_voice_event_time,
    "whatsapp": _whatsapp_event_time,
    "conversations": _conversation_event_time,
}


def check_record(stream: str, line: str) -> LandedRecord:
    """Parse and check one line of a stream; raises Quarantined with the reason."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise Quarantined("invalid_json", str(exc)) from exc
    if not isinstance(record, dict):
        raise Quarantined("not_an_object", type(record).__name__)
    notified_at, body = None, line
    if record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        notified_at, body = record.get("Timestamp"), record["Message"]
        try:
            record = json.loads(body)
        except json.JSONDecodeError as exc:
            raise Quarantined("invalid_sns_message", str(exc)) from exc
        if not isinstance(record, dict):
            raise Quarantined("not_an_object", "SNS Message")
    shape = route(record)
    if shape != stream:
        raise Quarantined("unknown_shape", f"looks like {shape or 'nothing known'}, landed as {stream}")
    if stream in SOURCES:
        # A customer's keys outside the documented ones move under attributes, as a CSV's extra columns do.
        if stream == "customers" and any(_undocumented(k, v) for k, v in record.items()):
            body = _customer_body(record)
        return _check_source(stream, record, body, line)
    rejected: list[tuple[str, str, str]] = []
    if stream == "whatsapp":
        record, rejected = _split_whatsapp_items(record)
        if rejected:
            body = json.dumps(record, separators=(",", ":"))
    event_time = _EVENT_TIME[stream](record, notified_at)
    # The body is the text as received wherever it did not change: re-encoding costs more than parsing.
    return LandedRecord(event_time, body, line, rejected)


# -- files -------------------------------------------------------------------------------
def read_lines(data: bytes) -> Iterator[str]:
    """Non-empty lines of a plain or gzip NDJSON file."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    for raw in io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline=None):
        line = raw.strip()
        if line:
            yield line


def gzip_lines(rows: list[dict]) -> bytes:
    """A raw-zone partition's bytes: compact JSON lines, gzipped reproducibly (also erasure's rewrite)."""
    # Level 1: compression was a fifth of landing's time. In chunks, so a million rows are never
    # one string. mtime=0 keeps the bytes identical across runs, so checksums are too.
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        for start in range(0, len(rows), _GZIP_CHUNK_ROWS):
            gz.write("".join(_compact_json(row) + "\n" for row in rows[start : start + _GZIP_CHUNK_ROWS]).encode())
    return out.getvalue()


def list_objects(s3, bucket: str, prefix: str = "") -> list[dict]:
    """Every object under ``prefix`` (all pages)."""
    paginator = s3.get_paginator("list_objects_v2")
    return [obj for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for obj in page.get("Contents", [])]


def _check_file(stream: str, key: str, data: bytes) -> Iterator[tuple[int, str, LandedRecord | Quarantined]]:
    """Each record of one file, checked: (line_no, the text as received, landed or refused)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if stream == "customers":
        text = data.decode("utf-8-sig", errors="replace")
        if is_customer_csv(key, text):
            yield from _read_csv(text)
            return
    for line_no, line in enumerate(read_lines(data), start=1):
        try:
            yield line_no, line, check_record(stream, line)
        except Quarantined as bad:
            yield line_no, line, bad


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
    checked = list(_check_file(stream, key, data))
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
