"""One record of a stream, checked: landed as it came, or quarantined with a named reason.

Each line of a landed file (each row of a customer CSV) is parsed and checked against its
stream: an engagement event (``ses``, ``sms_voice``, ``whatsapp``, ``conversations``: the
routing in docs/canonical-events.md) must have its message id and a time of its own; a
source-system record its ids and time (``sources.SOURCES``). An SNS envelope is unwrapped; a
WhatsApp entry's messages and statuses that cannot land are refused one by one, their siblings kept.

What lands is what both warehouse engines can read: staging casts some fields (times, counts,
prices, arrays, maps), so a record whose field has a type those casts would fail on is refused
here (``wrong_type``, ``not_a_list``), never left to fail the build. Times must be possible: a
record dated before 2000 or more than a day after the hour it lands in, or with a time no engine
reads the same, is ``implausible_timestamp``. Every reason: docs/input-formats.md.

A file is read whole (``read_file``): gzip or plain, its physical lines counted from its bytes,
independently of the parsers, and every line accounted for as a record (landed or refused),
a blank line, a CSV header or a CSV record's continuation. A file or the part of it that cannot
be read at all (corrupt gzip, another compression, too big) counts as one line, refused.

Longer than the package's ~400 lines on purpose, for now: the per-field, per-time and per-stream
checks read as one catalogue against docs/input-formats.md's reasons; the file reading at the end
(``read_file`` and what it accounts for) is the seam to split along when it grows.
"""

from __future__ import annotations

import csv
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from include.erasure.register import ErasedSubjects
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
# Each SES event type's own object, as staging reads it: its timestamp, else mail.timestamp, is the time.
_SES_OBJECTS = {
    "Send": "send",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Delivery": "delivery",
    "Open": "open",
    "Click": "click",
    "Reject": "reject",
    "Rendering Failure": "failure",
    "DeliveryDelay": "deliveryDelay",
    "Subscription": "subscription",
}
_SES_RECIPIENTS = {"bounce": "bouncedRecipients", "complaint": "complainedRecipients"}
# What both warehouse engines can type (staging's iso_to_timestamp): a date, or a date and time with
# seconds, optional fraction and optional Z / ±HH:MM offset (none means UTC).
_SOURCE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)?")
# An engagement event's ISO time (staging's iso_to_epoch_ms): date T time, with its offset (an
# engine reads a time without one in its session's zone, landing in UTC: they would disagree).
_EVENT_TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")
_DIGITS = re.compile(r"[0-9]{1,20}")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")
# The earliest possible event time; the latest is a day after the hour a record lands in.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AFTER_HOUR = timedelta(days=1)
_EARLIEST_MS = int(EARLIEST.timestamp() * 1000)
# A line longer than a Firehose record can be (1,000 KiB) is no record; its quarantine row keeps its start.
MAX_LINE_CHARS = 1_024_000
KEPT_OF_LONG_LINE = 4096
# Half a surrogate pair escaped in JSON text (a lone one is checked for where this matches).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A file's decompressed size above which it is refused whole (a gzip bomb, or a batch to split).
MAX_FILE_BYTES = 1 << 30
_INT32 = 2**31
# Magic numbers of compressions landing does not read (it reads gzip and plain text).
_OTHER_COMPRESSIONS = {
    b"PK\x03\x04": "zip",
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"\xff\x06\x00\x00sNaPpY": "snappy",
    b"\x04\x22\x4d\x18": "lz4",
}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


# Every reason a line, item or file is quarantined with (docs/input-formats.md, "What is quarantined";
# quarantined_records' accepted values in dbt, held equal by tests/unit/test_hostile_inputs.py).
QUARANTINE_REASONS = frozenset(
    {
        "invalid_key", "invalid_gzip", "unsupported_compression", "file_too_large", "invalid_utf8",
        "line_too_long", "invalid_json", "concatenated_records", "not_an_object", "too_deep", "invalid_unicode",
        "invalid_sns_message", "unknown_shape", "missing_message_id", "missing_timestamp", "implausible_timestamp",
        "invalid_timestamp", "missing_record_id", "wrong_type", "not_a_list", "invalid_whatsapp_entry",
        "invalid_csv", "invalid_csv_header", "unaccounted_line", "erased_subject",
    }
)  # fmt: skip


class Quarantined(Exception):
    """A record that cannot be landed, with the reason written beside it."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


@dataclass
class LandedRecord:
    event_time: datetime  # UTC
    body: str  # the record's JSON after unwrapping an SNS envelope (and removing rejected items)
    raw_event: str  # the line exactly as received
    # Items of a WhatsApp entry refused on their own (no id, …): (reason, detail, item JSON).
    rejected_items: list[tuple[str, str, str]] = field(default_factory=list)
    normalised: str | None = None  # source records with a person: their phone, normalised (JSON)


# -- JSON text ---------------------------------------------------------------------------
def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


_decode = json.JSONDecoder(parse_constant=_not_json).decode


def _lone_surrogate(value: Any) -> bool:
    """Whether a string of ``value`` holds half a surrogate pair (``"\\ud800"``): Python's parser takes
    it, DuckDB's refuses the whole document."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack += node.keys()
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return False


def parse_json(text: str, reason: str = "invalid_json") -> Any:
    """JSON text as both warehouse engines read it, or Quarantined: ``reason`` when it is not JSON
    (NaN and Infinity included), ``concatenated_records`` for several values on one line,
    ``too_deep`` (deeper than Python's parser goes: about 1,000 levels, where Athena's stops too),
    ``invalid_unicode`` (half a surrogate pair)."""
    try:
        value = _decode(text)
    except RecursionError:
        raise Quarantined("too_deep", "nested deeper than the JSON parser goes") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and reason == "invalid_json" and text[exc.pos :].lstrip()[:1] in ("{", "["):
            raise Quarantined("concatenated_records", f"a second JSON value at character {exc.pos}") from exc
        raise Quarantined(reason, str(exc)) from exc
    except ValueError as exc:  # NaN, Infinity
        raise Quarantined(reason, str(exc)) from exc
    if _SURROGATE_ESCAPE.search(text) and _lone_surrogate(value):
        raise Quarantined("invalid_unicode", "half a UTF-16 surrogate pair (\\ud800-\\udfff) in a string")
    return value


# -- times --------------------------------------------------------------------------------
def _out_of_range(what: str, value: Any, latest: datetime | None) -> str:
    bound = f" or after {latest:%Y-%m-%dT%H:%M}Z (a day after its hour)" if latest is not None else ""
    return f"{what}={value!r}: before {EARLIEST:%Y-%m-%d}{bound}"


def _plausible(moment: datetime, what: str, value: Any, latest: datetime | None) -> datetime:
    """``moment`` in UTC, or implausible_timestamp: before 2000, after ``latest``, or out of range."""
    if moment < EARLIEST or (latest is not None and moment > latest):
        raise Quarantined("implausible_timestamp", _out_of_range(what, value, latest))
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise Quarantined("implausible_timestamp", f"{what}={value!r}") from None


def _time_text(value: Any, what: str, form: re.Pattern, reason: str, hint: str = "") -> datetime:
    """value as a datetime when it is text of the form staging casts, else quarantined for reason."""
    if not isinstance(value, str) or not form.fullmatch(value):
        raise Quarantined(reason, f"{what}={value!r}{hint}")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise Quarantined(reason, f"{what}={value!r}") from exc


def _iso_time(value: Any, what: str, latest: datetime | None) -> datetime:
    """An engagement event's ISO-8601 time (with its offset), as staging's iso_to_epoch_ms reads it."""
    hint = ": not an ISO-8601 time with its offset"
    return _plausible(_time_text(value, what, _EVENT_TIME_TEXT, "implausible_timestamp", hint), what, value, latest)


def _epoch_time(value: Any, what: str, latest: datetime | None, unit_ms: int = 1) -> datetime:
    """Epoch milliseconds (``unit_ms`` 1000: seconds) as an integer or a string of digits, as staging casts it."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _DIGITS.fullmatch(value))):
        raise Quarantined("implausible_timestamp", f"{what}={value!r}: not an integer")
    ms = int(value) * unit_ms
    latest_ms = None if latest is None else int(latest.timestamp() * 1000)
    if ms < _EARLIEST_MS or (latest_ms is not None and ms > latest_ms) or ms > 253402300799999:
        raise Quarantined("implausible_timestamp", _out_of_range(what, value, latest))
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# -- field types (what staging casts) -----------------------------------------------------
def _string(value: Any, what: str) -> Any:
    if value is not None and not isinstance(value, str):
        raise Quarantined("wrong_type", f"{what} is a {type(value).__name__}, not a string")
    return value


def _list(value: Any, what: str) -> None:
    if value is not None and not isinstance(value, list):
        raise Quarantined("not_a_list", f"{what} is a {type(value).__name__}")


def _object(value: Any, what: str) -> None:
    if value is not None and not isinstance(value, dict):
        raise Quarantined("wrong_type", f"{what} is a {type(value).__name__}, not an object")


def _integer(value: Any, what: str) -> None:
    """Staging casts it to integer: a JSON integer, or a string of digits, in 32 bits."""
    if value is None:
        return
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -_INT32 <= value < _INT32:
        raise Quarantined("wrong_type", f"{what}={value!r}: not an integer")


def _number(value: Any, what: str) -> None:
    """Staging casts it to double: a finite JSON number, or a decimal string."""
    if value is None or (isinstance(value, str) and _DECIMAL.fullmatch(value)):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Quarantined("wrong_type", f"{what}={value!r}: not a number")
    if abs(value) >= 1e15:
        raise Quarantined("wrong_type", f"{what}={value!r}: out of range")


def _require(value: Any, reason: str, detail: str) -> Any:
    if value in (None, "", []):
        raise Quarantined(reason, detail)
    return value


def _require_id(value: Any, what: str) -> str:
    _require(value, "missing_message_id", what)
    return _string(value, what)


# -- source-system records and customer CSV rows ---------------------------------------
def _source_time(value: Any, what: str, latest: datetime | None) -> datetime:
    if value in (None, ""):
        raise Quarantined("missing_timestamp", what)
    moment = _time_text(value, what, _SOURCE_TIME, "invalid_timestamp")
    return _plausible(moment if moment.tzinfo else moment.replace(tzinfo=UTC), what, value, latest)


def _check_source(stream: str, record: dict, body: str, raw: str, latest: datetime | None) -> LandedRecord:
    source = SOURCES[stream]
    missing = [name for name in source.ids if record.get(name) in (None, "")]
    if missing:
        raise Quarantined("missing_record_id", ", ".join(missing))
    event_time = _source_time(record.get(source.time), source.time, latest)
    normalised = None
    if source.person is not None:
        person = record if source.person == "" else record.get(source.person)
        person = person if isinstance(person, dict) else {}
        phone = person.get("phone")
        normalised = normalise_phone(None if phone is None else str(phone), phone_region(person.get("country")))
    return LandedRecord(event_time, body, raw, normalised=normalised)


_CSV_REQUIRED = ("source_system", "customer_id", "updated_at")


def _csv_header(fields: list[str]) -> tuple[list[str], list[str]]:
    """The header's column names and those beyond the documented ones; invalid_csv_header when it
    cannot name every row's values (a name twice, or no source_system, customer_id or updated_at)."""
    header = [name.strip() for name in fields]
    if twice := sorted(name for name, n in Counter(header).items() if n > 1):
        raise Quarantined("invalid_csv_header", f"columns named twice: {twice}")
    if missing := [name for name in _CSV_REQUIRED if name not in header]:
        raise Quarantined("invalid_csv_header", f"no column {', '.join(missing)}")
    return header, [name for name in header if name not in CUSTOMER_KEYS]


def _check_csv_row(
    header: list[str], extra: list[str], fields: list[str], raw: str, latest: datetime | None
) -> LandedRecord:
    if len(fields) != len(header):
        raise Quarantined("invalid_csv", f"{len(fields)} fields, the header has {len(header)}")
    values = {name: value or None for name, value in zip(header, fields, strict=True)}
    # As customer_body, with the extra columns known once per file.
    body = {k: values.get(k) for k in CUSTOMER_COLUMNS}
    if extra:
        body["attributes"] = {k: values[k] for k in extra}
    return _check_source("customers", values, compact_json(body), raw, latest)


Read = tuple[int, int, str, "LandedRecord | Quarantined | str"]  # line_no, lines spanned, text, result or skip kind


def _read_csv(lines: list[str], not_utf8: set[int], latest: datetime | None) -> Iterator[Read]:
    """Customer CSV records checked against the file's header (its first non-blank record). A quoted
    field may hold commas and line breaks; a record's line_no is its first line's. A broken header
    refuses every record of the file (invalid_csv_header): nothing can say what their values are."""
    reader = csv.reader((line + "\n" for line in lines), strict=True)
    header: list[str] | None = None
    extra: list[str] = []
    broken_header: Quarantined | None = None
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
        if read <= first:  # the reader consumed nothing: never loop on the same line
            return
        raw = "\n".join(lines[first:read]).rstrip("\r\n")
        span = read - first
        if not raw.strip():
            for line_no in range(first + 1, read + 1):
                yield line_no, 1, "", "blank"
            continue
        if any(line_no in not_utf8 for line_no in range(first + 1, read + 1)):
            result = Quarantined("invalid_utf8", "bytes that are not UTF-8 (shown as \\xNN)")
        if header is None and broken_header is None:
            try:
                if result is not None:
                    raise Quarantined("invalid_csv_header", result.detail)
                header, extra = _csv_header(fields)
            except Quarantined as bad:
                broken_header = bad
                yield first + 1, span, raw, bad
                continue
            yield first + 1, span, raw, "csv_header"
            continue
        if broken_header is not None:
            result = Quarantined("invalid_csv_header", f"the file's header is broken ({broken_header.detail})")
        if result is None:
            try:
                result = _check_csv_row(header, extra, fields, raw, latest)
            except Quarantined as bad:
                result = bad
        yield first + 1, span, raw, result


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


def _ses_event_time(record: dict, notified_at: Any, latest: datetime | None) -> datetime:
    mail = record["mail"]
    _require_id(mail.get("messageId"), "mail.messageId")
    # Staging's event_type: the first of eventType and notificationType that is not null.
    event_type = record.get("eventType")
    if event_type is None:
        event_type = record.get("notificationType")
    _require(event_type, "unknown_shape", "SES record without eventType or notificationType")
    _string(event_type, "eventType")
    _list(mail.get("destination"), "mail.destination")
    tags = mail.get("tags")
    _object(tags, "mail.tags")
    for tag, values in (tags or {}).items():
        _list(values, f"mail.tags.{tag}")
    name = _SES_OBJECTS.get(event_type)
    event_object = record.get(name) if name else None
    _object(event_object, name)
    stamp, what = None, "mail.timestamp"
    if event_object:
        stamp, what = event_object.get("timestamp"), f"{name}.timestamp"
        if recipients := _SES_RECIPIENTS.get(name):
            found = event_object.get(recipients)
            _list(found, f"{name}.{recipients}")
            for item in found or []:
                if not isinstance(item, dict) or not isinstance(item.get("emailAddress"), str):
                    raise Quarantined("wrong_type", f"{name}.{recipients}: an item without an emailAddress string")
    if stamp is None:
        stamp, what = mail.get("timestamp"), "mail.timestamp"
    return _iso_time(_require(stamp, "missing_timestamp", what), what, latest)


def _sms_voice_event_time(record: dict, notified_at: Any, latest: datetime | None) -> datetime:
    inbound = "inboundMessageId" in record
    if inbound:
        _require_id(record.get("inboundMessageId"), "inboundMessageId")
    else:
        _require_id(record.get("messageId"), "messageId")
    _string(record.get("messageId"), "messageId")
    for name in ("totalMessageParts", "callDurationInSeconds"):
        _integer(record.get(name), name)
    for name in ("totalMessagePrice", "totalCarrierFee", "totalDurationInMinutes"):
        _number(record.get(name), name)
    _object(record.get("context"), "context")
    if notified_at is not None:  # staging falls back to the SNS notification's time: it must be one
        _iso_time(notified_at, "Timestamp", None)
    stamp = record.get("eventTimestamp")
    if stamp is not None:
        return _epoch_time(stamp, "eventTimestamp", latest)
    if inbound:
        # Two-way SMS replies carry no time of their own; SNS's notification time is theirs.
        return _iso_time(
            _require(notified_at, "missing_timestamp", "inbound SMS outside an SNS envelope"), "Timestamp", latest
        )
    raise Quarantined("missing_timestamp", "eventTimestamp")


def _whatsapp_event_time(record: dict, notified_at: Any, latest: datetime | None) -> datetime:
    stamp = _require(record.get("message_timestamp"), "missing_timestamp", "message_timestamp")
    return _iso_time(stamp, "message_timestamp", latest)


def _whatsapp_item_problem(item: Any, kind: str, latest: datetime | None) -> tuple[str, str] | None:
    """Why one message or status of a WhatsApp entry cannot land, if it cannot."""
    what = f"whatsapp {kind[:-1]}"
    if not isinstance(item, dict):
        return "not_an_object", f"{what} is a {type(item).__name__}"
    try:
        _require(item.get("id"), "missing_message_id", f"{what} without id")
        _string(item["id"], f"{what} id")
        if (stamp := item.get("timestamp")) is not None:
            _epoch_time(stamp, f"{what} timestamp (epoch seconds)", latest, unit_ms=1000)
    except Quarantined as bad:
        return bad.reason, bad.detail
    return None


def _split_whatsapp_items(record: dict, latest: datetime | None) -> tuple[dict, list[tuple[str, str, str]]]:
    """The record without the messages/statuses that cannot land, and those items.

    The public sample silently drops a status without an id; we keep its siblings and
    quarantine the item. A record left with nothing to land is quarantined whole.
    """
    entry = record["whatsAppWebhookEntry"]
    parsed = parse_json(entry, "invalid_whatsapp_entry") if isinstance(entry, str) else entry
    if not isinstance(parsed, dict) or "changes" not in parsed:
        raise Quarantined("invalid_whatsapp_entry", "whatsAppWebhookEntry has no changes[]")
    _list(parsed["changes"], "whatsAppWebhookEntry.changes")
    rejected, kept_items = [], 0
    for position, change in enumerate(parsed["changes"] or []):
        if not isinstance(change, dict):
            raise Quarantined("invalid_whatsapp_entry", f"changes[{position}] is not an object")
        value = change.get("value")
        _object(value, f"changes[{position}].value")
        for kind in ("messages", "statuses"):
            items = (value or {}).get(kind)
            _list(items, f"changes[{position}].value.{kind}")
            good = []
            for item in items or []:
                if problem := _whatsapp_item_problem(item, kind, latest):
                    rejected.append((*problem, compact_json(item)))
                else:
                    good.append(item)
            kept_items += len(good)
            if items and len(good) < len(items):
                value[kind] = good
    if rejected and not kept_items:
        raise Quarantined(*rejected[0][:2])
    if rejected:
        record = record | {"whatsAppWebhookEntry": compact_json(parsed)}
    return record, rejected


def _conversation_event_time(record: dict, notified_at: Any, latest: datetime | None) -> datetime:
    _require_id(record.get("messageId"), "messageId")
    _object(record.get("tags"), "tags")
    return _epoch_time(_require(record.get("timestamp"), "missing_timestamp", "timestamp"), "timestamp", latest)


_EVENT_TIME = {
    "ses": _ses_event_time,
    "sms_voice": _sms_voice_event_time,
    "whatsapp": _whatsapp_event_time,
    "conversations": _conversation_event_time,
}


def check_record(stream: str, line: str, latest: datetime | None = None) -> LandedRecord:
    """Parse and check one line of a stream; raises Quarantined with the reason. ``latest``: the
    latest possible time of a record (a day after the hour it lands in; None: no bound)."""
    try:
        return _check_record(stream, line, latest)
    except RecursionError:  # re-encoding a record that parsed a few levels short of the limit
        raise Quarantined("too_deep", "nested deeper than the JSON encoder goes") from None


def _check_record(stream: str, line: str, latest: datetime | None) -> LandedRecord:
    record = parse_json(line)
    if not isinstance(record, dict):
        raise Quarantined("not_an_object", type(record).__name__)
    notified_at, body = None, line
    if record.get("Type") == "Notification" and isinstance(record.get("Message"), str):
        notified_at, body = record.get("Timestamp"), record["Message"]
        record = parse_json(body, "invalid_sns_message")
        if not isinstance(record, dict):
            raise Quarantined("not_an_object", "SNS Message")
    shape = route(record)
    if shape != stream:
        raise Quarantined("unknown_shape", f"looks like {shape or 'nothing known'}, landed as {stream}")
    if stream in SOURCES:
        # A customer's keys outside the documented ones move under attributes, as a CSV's extra columns do.
        if stream == "customers" and any(undocumented(k, v) for k, v in record.items()):
            body = customer_body(record)
        return _check_source(stream, record, body, line, latest)
    rejected: list[tuple[str, str, str]] = []
    if stream == "whatsapp":
        record, rejected = _split_whatsapp_items(record, latest)
        if rejected:
            body = compact_json(record)
    event_time = _EVENT_TIME[stream](record, notified_at, latest)
    # The body is the text as received wherever it did not change: re-encoding costs more than parsing.
    return LandedRecord(event_time, body, line, rejected)


# -- files -------------------------------------------------------------------------------
@dataclass
class ReadFile:
    """A file's physical lines, each accounted for: ``records`` (line_no, lines spanned, text, landed
    or refused) and ``skipped`` (line_no, kind: blank, csv_header) for lines that hold no record."""

    lines: int
    records: list[tuple[int, int, str, LandedRecord | Quarantined]]
    skipped: list[tuple[int, str]]


@dataclass
class _Unreadable:
    """Why (part of) a file cannot be read, what of it to show, and whether it cut a line short."""

    problem: Quarantined
    shown: bytes = b""
    cuts_a_line: bool = False


def _decompress(data: bytes) -> tuple[bytes, _Unreadable | None]:
    """The file's bytes (gzip members decompressed), and why the rest cannot be read, if it cannot."""
    if len(data) > MAX_FILE_BYTES:
        return b"", _Unreadable(Quarantined("file_too_large", f"{len(data)} bytes; at most {MAX_FILE_BYTES}"))
    if data[:2] != b"\x1f\x8b":
        for magic, name in _OTHER_COMPRESSIONS.items():
            if data.startswith(magic):
                return b"", _Unreadable(
                    Quarantined("unsupported_compression", f"{name}: landing reads gzip or plain text")
                )
        if data.startswith(_UTF16_BOMS):
            return b"", _Unreadable(Quarantined("invalid_utf8", "UTF-16 text: files must be UTF-8"))
        return data, None
    chunks: list[bytes] = []
    size, rest = 0, data
    while rest:
        if rest[:2] != b"\x1f\x8b":
            if rest.strip(b"\x00"):
                problem = Quarantined("invalid_gzip", f"{len(rest)} bytes after the gzip data")
                return b"".join(chunks), _Unreadable(problem, rest)
            break  # zero padding after the last member
        member = zlib.decompressobj(wbits=31)
        try:
            chunk = member.decompress(rest, MAX_FILE_BYTES + 1 - size)
        except zlib.error as exc:
            return b"".join(chunks), _Unreadable(Quarantined("invalid_gzip", str(exc)), cuts_a_line=True)
        size += len(chunk)
        chunks.append(chunk)
        if size > MAX_FILE_BYTES:
            return b"", _Unreadable(Quarantined("file_too_large", f"more than {MAX_FILE_BYTES} bytes decompressed"))
        if not member.eof:
            problem = Quarantined("invalid_gzip", "truncated: the gzip data ends mid-stream")
            return b"".join(chunks), _Unreadable(problem, cuts_a_line=True)
        rest = member.unused_data
    return b"".join(chunks), None


def _text_lines(data: bytes) -> tuple[list[str], set[int]]:
    """Physical lines (split at LF; a CR before it stays, stripped later) and the line numbers whose
    bytes are not UTF-8 (their text shows those bytes as \\xNN). A leading byte-order mark goes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        lines = data.decode("utf-8").split("\n")
        not_utf8: set[int] = set()
    except UnicodeDecodeError:
        lines, not_utf8 = [], set()
        for line_no, raw in enumerate(data.split(b"\n"), start=1):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(raw.decode("utf-8", errors="backslashreplace"))
                not_utf8.add(line_no)
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line
    return lines, not_utf8


def _read_json_lines(
    stream: str, lines: list[str], not_utf8: set[int], latest: datetime | None, refuse: Quarantined | None
) -> Iterator[Read]:
    for line_no, text in enumerate(lines, start=1):
        line = text.strip()
        if not line:
            yield line_no, 1, "", "blank"
            continue
        if len(line) > MAX_LINE_CHARS:
            detail = f"{len(line)} characters, at most {MAX_LINE_CHARS}; its first {KEPT_OF_LONG_LINE} kept here"
            yield line_no, 1, line[:KEPT_OF_LONG_LINE], Quarantined("line_too_long", detail)
        elif refuse is not None:
            yield line_no, 1, line, refuse
        elif line_no in not_utf8:
            yield line_no, 1, line, Quarantined("invalid_utf8", "bytes that are not UTF-8 (shown as \\xNN)")
        else:
            try:
                yield line_no, 1, line, check_record(stream, line, latest)
            except Quarantined as bad:
                yield line_no, 1, line, bad


def read_file(
    stream: str,
    key: str,
    data: bytes,
    latest: datetime | None = None,
    refuse: Quarantined | None = None,
    erased: ErasedSubjects | None = None,
) -> ReadFile:
    """Every physical line of one file, accounted for. ``latest``: the latest possible record time;
    ``refuse``: the reason every record of the file is refused with (its key, say); ``erased``: the
    erased-subject register, whose people's records are refused (``erased_subject``)."""
    text, unreadable = _decompress(data)
    if unreadable is not None and unreadable.cuts_a_line:  # the lines before the damage are read; the rest is one
        cut = text.rfind(b"\n") + 1
        text, unreadable.shown = text[:cut], text[cut:]
    lines, not_utf8 = _text_lines(text)
    if stream == "customers" and is_customer_csv(key, next((line for line in lines if line.strip()), "")):
        items = list(_read_csv(lines, not_utf8, latest))
        if refuse is not None:
            items = [(n, span, raw, r if isinstance(r, str) else refuse) for n, span, raw, r in items]
    else:
        items = list(_read_json_lines(stream, lines, not_utf8, latest, refuse))
    if unreadable is not None:
        shown = unreadable.shown[:KEPT_OF_LONG_LINE].decode("utf-8", errors="backslashreplace")
        items.append((len(lines) + 1, 1, shown, unreadable.problem))
    if erased:
        items = [_unless_erased(item, erased) for item in items]
    return _accounted(items, len(lines) + (unreadable is not None))


_ERASED = "names a person erased on request (the erased-subject register); the line is not kept"


def _unless_erased(item: Read, erased: ErasedSubjects) -> Read:
    """A record (landed or refused) holding an erased person's identifier, refused as ``erased_subject``
    with its text dropped: the person must not come back through landing, nor through its quarantine.
    A landed WhatsApp line's refused items go with it (the line is the unit, as erasure's)."""
    line_no, span, raw, result = item
    if isinstance(result, str):
        return item
    texts = [raw]
    if isinstance(result, LandedRecord):
        texts += [text for text in (result.body, result.normalised) if text is not None and text != raw]
    if any(erased.holds(text) for text in texts):
        return line_no, span, "", Quarantined("erased_subject", _ERASED)
    return item


def _accounted(items: list[Read], physical: int) -> ReadFile:
    """Split into records and skipped lines; a physical line no reader accounted for is refused as
    unaccounted_line (a reader's bug would otherwise lose it silently)."""
    records, skipped, expected = [], [], 1
    for line_no, span, raw, result in items:  # in line order
        records += [
            (missing, 1, "", Quarantined("unaccounted_line", "no reader accounted for this line"))
            for missing in range(expected, min(line_no, physical + 1))
        ]
        expected = max(expected, line_no + span)
        if isinstance(result, str):
            skipped += [(n, result) for n in range(line_no, line_no + span)]
        else:
            records.append((line_no, span, raw, result))
    records += [
        (missing, 1, "", Quarantined("unaccounted_line", "no reader accounted for this line"))
        for missing in range(expected, physical + 1)
    ]
    return ReadFile(physical, records, skipped)


def check_file(stream: str, key: str, data: bytes) -> Iterator[tuple[int, str, LandedRecord | Quarantined]]:
    """Each record of one file, checked: (line_no, the text as received, landed or refused)."""
    for line_no, _, raw, result in read_file(stream, key, data).records:
        yield line_no, raw, result


def read_lines(data: bytes) -> Iterator[str]:
    """Non-empty lines of a plain or gzip NDJSON file (what can be read of it)."""
    text, _ = _decompress(data)
    for line in _text_lines(text)[0]:
        if line := line.strip():
            yield line
