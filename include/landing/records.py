"""One record of a stream, checked: landed as it came, or quarantined with a named reason.

Each line of a landed file (each row of a customer CSV) is parsed and checked against its
stream: an engagement event (``ses``, ``sms_voice``, ``whatsapp``, ``conversations``: the
routing in docs/canonical-events.md) must have its message id and a time of its own; a
source-system record its ids and time (``sources.SOURCES``). An SNS envelope is unwrapped; a
WhatsApp entry's messages and statuses without an id are refused one by one, their siblings kept.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from include.landing.partitions import compact_json
from include.landing.sources import (
    CUSTOMER_COLUMNS,
    CUSTOMER_KEYS,
    SOURCES,
    customer_body,
    is_customer_csv,
    normalise_phone,
    phone_region,
    undocumented,
)

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
# What both warehouse engines can type (staging's iso_to_timestamp): a date, or a date and
# time with seconds, optional fraction and optional Z / ±HH:MM offset (none means UTC).
_SOURCE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)?")


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


# -- source-system records and customer CSV rows ---------------------------------------
def _source_time(value: Any, what: str) -> datetime:
    if value in (None, ""):
        raise Quarantined("missing_timestamp", what)
    if not isinstance(value, str) or not _SOURCE_TIME.fullmatch(value):
        raise Quarantined("invalid_timestamp", f"{what}={value!r}")
    return _parse_iso(value, what)


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
        normalised = normalise_phone(None if phone is None else str(phone), phone_region(person.get("country")))
    return LandedRecord(event_time, body, raw, normalised=normalised)


def _check_csv_row(header: list[str], extra: list[str], fields: list[str], raw: str) -> LandedRecord:
    if len(fields) != len(header):
        raise Quarantined("invalid_csv", f"{len(fields)} fields, the header has {len(header)}")
    values = {name: value or None for name, value in zip(header, fields, strict=True)}
    # As customer_body, with the extra columns known once per file.
    body = {k: values.get(k) for k in CUSTOMER_COLUMNS}
    if extra:
        body["attributes"] = {k: values[k] for k in extra}
    return _check_source("customers", values, compact_json(body), raw)


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
            extra = [name for name in header if name not in CUSTOMER_KEYS]
            continue
        if result is None:
            try:
                result = _check_csv_row(header, extra, fields, raw)
            except Quarantined as bad:
                result = bad
        yield first + 1, raw, result


# -- engagement events, and every stream's line -------------------------------------------
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
        if stream == "customers" and any(undocumented(k, v) for k, v in record.items()):
            body = customer_body(record)
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


def check_file(stream: str, key: str, data: bytes) -> Iterator[tuple[int, str, LandedRecord | Quarantined]]:
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
