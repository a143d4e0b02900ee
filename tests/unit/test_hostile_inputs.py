"""No input can fail a stream-hour: a catalogue of hostile files, keys and records, each landed
through ``land_hour`` on moto's S3. Every one ends landed or quarantined with a named reason, the
manifest of every hour reconciles (physical lines = landed + quarantined + lines with no record),
and no hour outside 2000 … upload + 1 day is ever landed (a far-future record does not stretch a
build). The reasons: docs/input-formats.md."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from include import settings
from include.landing import land, records, sources
from include.landing.land import land_hour, stream_hours
from include.landing.partitions import hour_floor

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
PREFIX = "2026/11/20/10"
MS = 1795168800000  # 2026-11-20T10:00:00Z


def line(record) -> str:
    return json.dumps(record, separators=(",", ":"))


# Hand-written events of the shapes AWS publishes (docs/canonical-events.md, "Event formats").
SES = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "ana@example.com", "action": "failed", "status": "5.1.1"}],
        "timestamp": "2026-11-20T10:05:00.120Z",
        "feedbackId": "f-1",
        "reportingMTA": "dsn; mta.example.com",
    },
    "mail": {
        "timestamp": "2026-11-20T10:04:58.000Z",
        "source": "Brand News <news@brand.example>",
        "sourceArn": "arn:aws:ses:us-east-1:111122223333:identity/brand.example",
        "sendingAccountId": "111122223333",
        "messageId": "0100018c-ses-1",
        "destination": ["ana@example.com"],
        "commonHeaders": {"subject": "Your stay"},
        "tags": {"ses:configuration-set": ["cs"], "campaign": ["winter"]},
    },
}
SES_NOTIFICATION = {
    "notificationType": "Delivery",
    "mail": {"timestamp": "2026-11-20T10:01:00.000Z", "messageId": "0100018c-ses-2", "source": "news@brand.example",
             "destination": ["ben@example.com"]},
    "delivery": {"timestamp": "2026-11-20T10:01:02.000Z", "recipients": ["ben@example.com"], "smtpResponse": "250 ok"},
}  # fmt: skip
SMS = {
    "eventType": "TEXT_DELIVERED", "eventVersion": "1.0", "eventTimestamp": MS + 60_000, "isFinal": True,
    "originationPhoneNumber": "+12065550100", "destinationPhoneNumber": "+447700900123", "isoCountryCode": "GB",
    "mcc": "234", "mnc": "05", "messageId": "sms-1", "messageType": "TRANSACTIONAL", "messageStatus": "DELIVERED",
    "messageStatusDescription": "Message has been accepted by phone", "context": {"campaign": "winter"},
    "totalMessageParts": 1, "totalMessagePrice": 0.0426, "totalCarrierFee": 0.001,
}  # fmt: skip
VOICE = {"eventType": "VOICE_INITIATED", "eventVersion": "1.0", "eventTimestamp": MS + 120_000, "isFinal": False,
         "originationPhoneNumber": "+12065550100", "isoCountryCode": "US", "messageId": "voice-1",
         "messageStatus": "INITIATED"}  # fmt: skip
ENTRY = {
    "id": "waba-entry-1",
    "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "12065550111", "phone_number_id": "pn-1"},
        "statuses": [{"id": "wamid.A", "status": "sent", "timestamp": "1795168900", "recipient_id": "447700900123",
                      "conversation": {"id": "c-1", "expiration_timestamp": "1795255300",
                                       "origin": {"type": "utility"}}}],
    }}],
}  # fmt: skip
WHATSAPP = {
    "context": {"MetaWabaIds": [{"wabaId": "waba-1"}], "MetaPhoneNumberIds": [{"metaPhoneNumberId": "pn-1"}]},
    "whatsAppWebhookEntry": line(ENTRY),
    "aws_account_id": "111122223333",
    "message_timestamp": "2026-11-20T10:01:40.123456789Z",
}
CONVERSATION = {"accountId": "1", "messageId": "conv-1", "sendingAddress": "+12065550123", "direction": "inbound",
                "channel": "whatsapp", "sessionId": "s-1", "timestamp": MS + 5_000, "tags": {"env": "dev"},
                "message": "Hi"}  # fmt: skip
HEADER = ",".join(sources.CUSTOMER_COLUMNS)
CRM_ROW = "crm,C1,Ana,Smith,ana@example.com,+447700900123,,,,,,,GB,,2026-11-20T10:15:00Z"


def ses(**changes) -> dict:
    return json.loads(json.dumps(SES)) | changes


def mail(**changes) -> dict:
    return ses(mail=SES["mail"] | changes)


def bounce(**changes) -> dict:
    return ses(bounce=SES["bounce"] | changes)


def sms(**changes) -> dict:
    return SMS | changes


def entry_with(**value) -> str:
    return line({"id": "e", "changes": [{"field": "messages", "value": value}]})


def whatsapp(**value) -> dict:
    return WHATSAPP | {"whatsAppWebhookEntry": entry_with(**value)}


def status(**changes) -> dict:
    return {"id": "wamid.B", "status": "delivered", "timestamp": "1795168950", "recipient_id": "447700900123"} | changes


def lines(*texts: str) -> bytes:
    return "\n".join(texts).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def truncated_gzip() -> bytes:
    noise = random.Random(7).randbytes(600).hex()  # incompressible: the cut falls inside the last line
    data = gz(lines(line(SES), line(SES_NOTIFICATION), line(mail(commonHeaders={"subject": noise}))))
    return data[:-40]


def far(hour: datetime, days: int) -> str:
    return (hour + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class Hostile:
    kind: str
    stream: str
    key: str
    data: bytes
    landed: int
    reasons: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def at(stream: str, name: str = "f.json") -> str:
    return f"{stream}/{PREFIX}/{name}"


GOOD2 = (line(SES), line(SES_NOTIFICATION))
CATALOGUE = [
    # -- files: compression, size, encoding, keys
    Hostile("corrupt_gzip", "ses", at("ses", "f.gz"), b"\x1f\x8b\x08\x00garbage-not-deflate", 0, {"invalid_gzip": 1}),
    Hostile("truncated_gzip", "ses", at("ses", "f.gz"), truncated_gzip(), 2, {"invalid_gzip": 1}),
    Hostile("gzip_with_trailing_bytes", "ses", at("ses", "f.gz"), gz(lines(*GOOD2)) + b"junk", 2, {"invalid_gzip": 1}),
    Hostile("gzip_with_zero_padding", "ses", at("ses", "f.gz"), gz(lines(*GOOD2)) + bytes(64), 2),
    Hostile(
        "concatenated_gzip_members", "ses", at("ses", "f.gz"), gz(GOOD2[0].encode() + b"\n") + gz(GOOD2[1].encode()), 2
    ),
    Hostile("zip_file", "ses", at("ses", "f.zip"), b"PK\x03\x04" + bytes(40), 0, {"unsupported_compression": 1}),
    Hostile("bzip2_file", "ses", at("ses", "f.bz2"), bz2.compress(lines(*GOOD2)), 0, {"unsupported_compression": 1}),
    Hostile("xz_file", "ses", at("ses", "f.xz"), lzma.compress(lines(*GOOD2)), 0, {"unsupported_compression": 1}),
    Hostile("zstd_file", "ses", at("ses", "f.zst"), b"\x28\xb5\x2f\xfd" + bytes(20), 0, {"unsupported_compression": 1}),
    Hostile("gzip_bomb", "ses", at("ses", "f.gz"), gz(b" " * 3_000_000), 0, {"file_too_large": 1}),
    Hostile("empty_file", "ses", at("ses"), b"", 0),
    Hostile("empty_gzip", "ses", at("ses", "f.gz"), gz(b""), 0),
    Hostile("utf16_file", "ses", at("ses"), "\n".join(GOOD2).encode("utf-16"), 0, {"invalid_utf8": 1}),
    Hostile("key_month_13", "ses", "ses/2026/13/45/99/f.json", lines(*GOOD2), 0, {"invalid_key": 2}),
    Hostile("hive_key_hour_25", "ses", "ses/year=2026/month=11/day=20/hour=25/f", lines(*GOOD2), 0, {"invalid_key": 2}),
    Hostile("key_hour_before_2000", "ses", "ses/1999/12/31/23/f.json", lines(*GOOD2), 0, {"invalid_key": 2}),
    Hostile("key_hour_far_future", "ses", "ses/2099/01/01/00/f.json", lines(*GOOD2), 0, {"invalid_key": 2}),
    # -- lines: bytes and text
    Hostile(
        "latin1_line",
        "ses",
        at("ses"),
        lines(GOOD2[0], '{"mail": "caf\xe9"}', GOOD2[1]).replace("caf\xe9".encode(), b"caf\xe9"),
        2,
        {"invalid_utf8": 1},
    ),
    Hostile("utf8_bom", "ses", at("ses"), b"\xef\xbb\xbf" + lines(*GOOD2), 2),
    Hostile("crlf_line_ends", "ses", at("ses"), "\r\n".join(GOOD2).encode() + b"\r\n", 2),
    Hostile("lone_cr_between_tokens", "ses", at("ses"), GOOD2[0].replace(',"mail"', ',\r"mail"').encode(), 1),
    Hostile("blank_lines", "ses", at("ses"), lines(GOOD2[0], "", "   \t", GOOD2[1], ""), 2, skipped={"blank": 2}),
    Hostile("nul_byte_in_line", "ses", at("ses"), lines(GOOD2[0], '{"mail":\x00{}}'), 1, {"invalid_json": 1}),
    Hostile(
        "line_too_long",
        "ses",
        at("ses"),
        lines(line(mail(commonHeaders={"subject": "x" * 1_100_000})), GOOD2[1]),
        1,
        {"line_too_long": 1},
    ),
    Hostile("nested_too_deep", "ses", at("ses"), lines("[" * 100_000 + "]" * 100_000, GOOD2[0]), 1, {"too_deep": 1}),
    Hostile(
        "nan_literal", "sms_voice", at("sms_voice"), lines(line(SMS).replace("0.0426", "NaN")), 0, {"invalid_json": 1}
    ),
    Hostile(
        "infinity_literal",
        "sms_voice",
        at("sms_voice"),
        lines(line(SMS).replace("0.001", "-Infinity")),
        0,
        {"invalid_json": 1},
    ),
    Hostile(
        "lone_surrogate",
        "ses",
        at("ses"),
        lines(line(mail(commonHeaders={"subject": "x"})).replace('"subject":"x"', '"subject":"\\ud800x"'), GOOD2[1]),
        1,
        {"invalid_unicode": 1},
    ),
    Hostile(
        "lone_surrogate_in_whatsapp_entry",
        "whatsapp",
        at("whatsapp"),
        lines(line(WHATSAPP).replace("waba-entry-1", "\\\\udc00")),
        0,
        {"invalid_unicode": 1},
    ),
    Hostile("valid_surrogate_pair", "ses", at("ses"), lines(line(mail(commonHeaders={"subject": "\U0001f600"}))), 1),
    Hostile("concatenated_records", "ses", at("ses"), lines(GOOD2[0] + GOOD2[1]), 0, {"concatenated_records": 1}),
    Hostile("json_array_of_records", "ses", at("ses"), lines(f"[{GOOD2[0]}]"), 0, {"not_an_object": 1}),
    Hostile("json_scalars", "ses", at("ses"), lines('"hello"', "null", "42"), 0, {"not_an_object": 3}),
    Hostile("truncated_json_line", "ses", at("ses"), lines(GOOD2[0][:100], GOOD2[1]), 1, {"invalid_json": 1}),
    Hostile("trailing_garbage", "ses", at("ses"), lines(GOOD2[0] + " xyz"), 0, {"invalid_json": 1}),
    # -- envelopes and routing
    Hostile(
        "sns_message_not_json",
        "ses",
        at("ses"),
        lines(line({"Type": "Notification", "Message": "{cut"})),
        0,
        {"invalid_sns_message": 1},
    ),
    Hostile(
        "sns_message_an_array",
        "ses",
        at("ses"),
        lines(line({"Type": "Notification", "Message": "[1]"})),
        0,
        {"not_an_object": 1},
    ),
    Hostile(
        "sns_subscription_confirmation",
        "ses",
        at("ses"),
        lines(line({"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe"})),
        0,
        {"unknown_shape": 1},
    ),
    Hostile("record_of_another_stream", "ses", at("ses"), lines(line(SMS)), 0, {"unknown_shape": 1}),
    # -- SES fields staging types
    Hostile("ses_event_type_a_list", "ses", at("ses"), lines(line(ses(eventType=["Bounce"]))), 0, {"wrong_type": 1}),
    Hostile("ses_message_id_a_number", "ses", at("ses"), lines(line(mail(messageId=12345))), 0, {"wrong_type": 1}),
    Hostile(
        "ses_without_message_id", "ses", at("ses"), lines(line(mail(messageId=None))), 0, {"missing_message_id": 1}
    ),
    Hostile(
        "ses_destination_a_string",
        "ses",
        at("ses"),
        lines(line(mail(destination="ana@example.com"))),
        0,
        {"not_a_list": 1},
    ),
    Hostile(
        "ses_tag_value_a_string", "ses", at("ses"), lines(line(mail(tags={"campaign": "winter"}))), 0, {"not_a_list": 1}
    ),
    Hostile("ses_tags_an_array", "ses", at("ses"), lines(line(mail(tags=["winter"]))), 0, {"wrong_type": 1}),
    Hostile("ses_event_object_a_string", "ses", at("ses"), lines(line(ses(bounce="Permanent"))), 0, {"wrong_type": 1}),
    Hostile(
        "ses_bounced_recipients_an_object",
        "ses",
        at("ses"),
        lines(line(bounce(bouncedRecipients={"emailAddress": "ana@example.com"}))),
        0,
        {"not_a_list": 1},
    ),
    Hostile(
        "ses_bounced_recipient_without_address",
        "ses",
        at("ses"),
        lines(line(bounce(bouncedRecipients=[{"status": "5.1.1"}]))),
        0,
        {"wrong_type": 1},
    ),
    Hostile(
        "ses_event_time_unparseable",
        "ses",
        at("ses"),
        lines(line(bounce(timestamp="yesterday"))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile("ses_event_time_empty", "ses", at("ses"), lines(line(bounce(timestamp=""))), 0, {"missing_timestamp": 1}),
    Hostile(
        "ses_time_without_offset",
        "ses",
        at("ses"),
        lines(line(bounce(timestamp="2026-11-20T10:05:00"))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "ses_time_overflows_utc",
        "ses",
        at("ses"),
        lines(line(bounce(timestamp="9999-12-31T23:59:59-01:00"))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "ses_time_before_2000",
        "ses",
        at("ses"),
        lines(line(bounce(timestamp="1999-12-31T23:59:59Z"))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "ses_time_over_a_day_after_its_hour",
        "ses",
        at("ses"),
        lines(line(bounce(timestamp=far(HOUR, 2)))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "ses_event_years_late_lands", "ses", at("ses"), lines(line(bounce(timestamp="2017-08-05T00:41:02.669Z"))), 1
    ),
    Hostile(
        "ses_send_without_source_arn_lands",
        "ses",
        at("ses"),
        lines(line({k: v for k, v in ses(eventType="Send", send={}).items() if k != "bounce"})),
        1,
    ),
    # -- SMS / voice
    Hostile(
        "sms_timestamp_a_fraction",
        "sms_voice",
        at("sms_voice"),
        lines(line(sms(eventTimestamp=MS + 0.5))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "sms_timestamp_in_seconds",
        "sms_voice",
        at("sms_voice"),
        lines(line(sms(eventTimestamp=MS // 1000))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "sms_timestamp_huge",
        "sms_voice",
        at("sms_voice"),
        lines(line(sms(eventTimestamp=10**30))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "sms_timestamp_a_boolean",
        "sms_voice",
        at("sms_voice"),
        lines(line(sms(eventTimestamp=True))),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "sms_timestamp_digits_text_lands", "sms_voice", at("sms_voice"), lines(line(sms(eventTimestamp=str(MS)))), 1
    ),
    Hostile(
        "sms_price_text", "sms_voice", at("sms_voice"), lines(line(sms(totalMessagePrice="free"))), 0, {"wrong_type": 1}
    ),
    Hostile(
        "sms_parts_a_fraction",
        "sms_voice",
        at("sms_voice"),
        lines(line(sms(totalMessageParts=1.5))),
        0,
        {"wrong_type": 1},
    ),
    Hostile(
        "sms_parts_beyond_32_bits",
        "sms_voice",
        at("sms_voice"),
        lines(line(sms(totalMessageParts=2**40))),
        0,
        {"wrong_type": 1},
    ),
    Hostile(
        "sms_context_a_list", "sms_voice", at("sms_voice"), lines(line(sms(context=["winter"]))), 0, {"wrong_type": 1}
    ),
    Hostile(
        "sms_sns_timestamp_garbage",
        "sms_voice",
        at("sms_voice"),
        lines(line({"Type": "Notification", "Timestamp": "soon", "Message": line(SMS)})),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile("voice_without_destination_or_type_lands", "sms_voice", at("sms_voice"), lines(line(VOICE)), 1),
    Hostile(
        "sms_sender_id_lands", "sms_voice", at("sms_voice"), lines(line(sms(originationPhoneNumber="BRANDSMS"))), 1
    ),
    # -- WhatsApp
    Hostile(
        "whatsapp_entry_not_json",
        "whatsapp",
        at("whatsapp"),
        lines(line(WHATSAPP | {"whatsAppWebhookEntry": "{"})),
        0,
        {"invalid_whatsapp_entry": 1},
    ),
    Hostile(
        "whatsapp_changes_an_object",
        "whatsapp",
        at("whatsapp"),
        lines(line(WHATSAPP | {"whatsAppWebhookEntry": line({"changes": {"value": {}}})})),
        0,
        {"not_a_list": 1},
    ),
    Hostile(
        "whatsapp_change_a_string",
        "whatsapp",
        at("whatsapp"),
        lines(line(WHATSAPP | {"whatsAppWebhookEntry": line({"changes": ["messages"]})})),
        0,
        {"invalid_whatsapp_entry": 1},
    ),
    Hostile(
        "whatsapp_value_a_string",
        "whatsapp",
        at("whatsapp"),
        lines(line(WHATSAPP | {"whatsAppWebhookEntry": line({"changes": [{"value": "x"}]})})),
        0,
        {"wrong_type": 1},
    ),
    Hostile(
        "whatsapp_messages_an_object",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(messages={"id": "m"}))),
        0,
        {"not_a_list": 1},
    ),
    Hostile(
        "whatsapp_statuses_a_string",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(statuses="sent"))),
        0,
        {"not_a_list": 1},
    ),
    Hostile(
        "whatsapp_statuses_a_number",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(statuses=3))),
        0,
        {"not_a_list": 1},
    ),
    Hostile(
        "whatsapp_status_time_text",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(statuses=[status(), status(id="wamid.C", timestamp="soon")]))),
        1,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "whatsapp_status_time_in_ms",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(statuses=[status(), status(id="wamid.C", timestamp="1795168950000")]))),
        1,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "whatsapp_status_not_an_object",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(statuses=[status(), "wamid.C"]))),
        1,
        {"not_an_object": 1},
    ),
    Hostile(
        "whatsapp_status_id_a_number",
        "whatsapp",
        at("whatsapp"),
        lines(line(whatsapp(statuses=[status(), status(id=7)]))),
        1,
        {"wrong_type": 1},
    ),
    Hostile(
        "whatsapp_without_message_timestamp",
        "whatsapp",
        at("whatsapp"),
        lines(line({k: v for k, v in WHATSAPP.items() if k != "message_timestamp"})),
        0,
        {"missing_timestamp": 1},
    ),
    # -- conversations
    Hostile(
        "conversation_timestamp_text",
        "conversations",
        at("conversations"),
        lines(line(CONVERSATION | {"timestamp": "2026-11-20"})),
        0,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "conversation_tags_a_list",
        "conversations",
        at("conversations"),
        lines(line(CONVERSATION | {"tags": ["dev"]})),
        0,
        {"wrong_type": 1},
    ),
    # -- flat drops
    Hostile(
        "flat_drop_record_dated_2099",
        "ses",
        "ses/export.jsonl",
        lines(GOOD2[0], line(bounce(timestamp="2099-01-01T00:00:00Z"))),
        1,
        {"implausible_timestamp": 1},
    ),
    Hostile(
        "flat_drop_source_record_dated_2099",
        "bookings",
        "bookings/export.jsonl",
        lines(
            line({"booking_id": "B1", "source_system": "air", "booked_at": "2026-11-20T10:00:00Z"}),
            line({"booking_id": "B2", "source_system": "air", "booked_at": "2099-01-01T00:00:00Z"}),
        ),
        1,
        {"implausible_timestamp": 1},
    ),
    # -- customer CSV
    Hostile(
        "csv_header_unclosed_quote",
        "customers",
        at("customers", "crm.csv"),
        lines('"' + HEADER, CRM_ROW, CRM_ROW.replace("C1", "C2")),
        0,
        {"invalid_csv_header": 1},
        {"csv_continuation": 2},
    ),
    Hostile(
        "csv_header_without_customer_id",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER.replace("customer_id", "id"), CRM_ROW, CRM_ROW.replace("C1", "C2")),
        0,
        {"invalid_csv_header": 3},
    ),
    Hostile(
        "csv_header_column_twice",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER + ",email", CRM_ROW + ",x"),
        0,
        {"invalid_csv_header": 2},
    ),
    Hostile(
        "csv_header_not_utf8",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER + ",caf\xe9", CRM_ROW + ",x").replace("caf\xe9".encode(), b"caf\xe9"),
        0,
        {"invalid_csv_header": 2},
    ),
    Hostile(
        "csv_row_not_utf8",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER, CRM_ROW.replace("Smith", "Sm\xefth"), CRM_ROW.replace("C1", "C2")).replace(
            "Sm\xefth".encode(), b"Sm\xefth"
        ),
        1,
        {"invalid_utf8": 1},
        {"csv_header": 1},
    ),
    Hostile(
        "csv_field_with_unicode_line_breaks",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER, CRM_ROW.replace("Smith", "Sm\u2028i\x85t\x0ch")),
        1,
        skipped={"csv_header": 1},
    ),
    Hostile(
        "csv_row_with_nul_lands",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER, CRM_ROW.replace("Ana", "A\x00a")),
        1,
        skipped={"csv_header": 1},
    ),
    Hostile(
        "csv_row_field_count_wrong",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER, "crm,C2,Ben"),
        0,
        {"invalid_csv": 1},
        {"csv_header": 1},
    ),
    Hostile(
        "csv_quoted_line_break_and_crlf",
        "customers",
        at("customers", "crm.csv"),
        "\r\n".join([HEADER, CRM_ROW.replace(",,,,,,,GB", ',"Flat 3\r\n12 High St",,,,,,GB'), CRM_ROW]).encode(),
        2,
        skipped={"csv_header": 1, "csv_continuation": 1},
    ),
    Hostile("csv_header_only", "customers", at("customers", "crm.csv"), lines(HEADER), 0, skipped={"csv_header": 1}),
    Hostile(
        "customer_dated_after_a_day",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER, CRM_ROW.replace("2026-11-20T10:15:00Z", "2026-11-25T10:15:00Z")),
        0,
        {"implausible_timestamp": 1},
        {"csv_header": 1},
    ),
    Hostile(
        "customer_dated_1999",
        "customers",
        at("customers", "crm.csv"),
        lines(HEADER, CRM_ROW.replace("2026-11-20T10:15:00Z", "1999-11-20")),
        0,
        {"implausible_timestamp": 1},
        {"csv_header": 1},
    ),
    Hostile(
        "customers_sniffed_header_with_nul",
        "customers",
        at("customers", "export.txt"),
        lines("id\x00,customer_id"),
        0,
        {"invalid_csv_header": 1},
    ),
    Hostile(
        "booking_time_overflows_utc",
        "bookings",
        at("bookings"),
        lines(line({"booking_id": "B1", "source_system": "air", "booked_at": "9999-12-31T23:59:59-01:00"})),
        0,
        {"implausible_timestamp": 1},
    ),
]


@pytest.fixture(autouse=True)
def small_file_limit(monkeypatch):
    monkeypatch.setattr(records, "MAX_FILE_BYTES", 2_000_000)  # the gzip bomb, without allocating a gigabyte


def land_everything(s3, stream: str) -> tuple[list, set[datetime], datetime]:
    """Land every hour the stream's files hold; the manifests, those hours and the upload hour."""
    uploaded = hour_floor(s3.list_objects_v2(Bucket="landing")["Contents"][0]["LastModified"])
    hours = stream_hours(s3, "landing", stream)
    return [land_hour(s3, stream, hour, "landing", "raw") for hour in sorted(hours)], hours, uploaded


def test_the_catalogue_is_broad():
    assert len(CATALOGUE) >= 40 and len({case.kind for case in CATALOGUE}) == len(CATALOGUE)
    reasons = {reason for case in CATALOGUE for reason in case.reasons}
    assert len(reasons) >= 20, sorted(reasons)
    assert reasons <= records.QUARANTINE_REASONS


def test_every_reason_is_named_alike_in_the_code_the_warehouse_and_the_docs():
    code = "".join(Path(module.__file__).read_text() for module in (records, land))
    assert set(re.findall(r'Quarantined\(\s*"([a-z_0-9]+)"', code)) <= records.QUARANTINE_REASONS
    model = yaml.safe_load((settings.DBT_PROJECT_DIR / "models/marts/engagement/quarantined_records.yml").read_text())
    (reason,) = [c for c in model["models"][0]["columns"] if c["name"] == "reason"]
    (accepted,) = [t["accepted_values"] for t in reason["data_tests"] if "accepted_values" in t]
    assert set(accepted["arguments"]["values"]) == records.QUARANTINE_REASONS
    docs = (settings.PROJECT_ROOT / "docs/input-formats.md").read_text()
    section = docs.split("## What is quarantined", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"^\| `([a-z_0-9]+)` \|", section, flags=re.M)) == records.QUARANTINE_REASONS


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.kind for case in CATALOGUE])
def test_a_hostile_input_lands_or_is_quarantined_by_name_and_the_hour_reconciles(s3, case):
    s3.put_object(Bucket="landing", Key=case.key, Body=case.data)

    manifests, hours, uploaded = land_everything(s3, case.stream)  # never raises

    assert all(records.EARLIEST <= hour <= uploaded + records.LATEST_AFTER_HOUR for hour in hours)
    assert sum(m.landed for m in manifests) == case.landed
    assert sum((Counter(m.quarantine_reasons) for m in manifests), Counter()) == Counter(case.reasons)
    skipped = sum((Counter(m.skipped_lines) for m in manifests), Counter())
    assert skipped == Counter(case.skipped)
    for manifest in manifests:
        manifest.check()  # lines read = landed + quarantined whole lines + lines with no record
        assert all(set(f) == {"key", "bytes", "etag", "lines"} for f in manifest.source_files)


def test_lines_read_counts_physical_lines_from_the_bytes(s3):
    data = b"\n".join([line(SES).encode(), b"", b"{broken", b"caf\xe9", line(SES_NOTIFICATION).encode()]) + b"\n"
    s3.put_object(Bucket="landing", Key=at("ses"), Body=gz(data))
    (manifest,) = land_everything(s3, "ses")[0]
    assert manifest.lines_read == data.count(b"\n") == 5
    assert (manifest.landed, manifest.quarantine_reasons, manifest.skipped_lines) == (
        2, {"invalid_json": 1, "invalid_utf8": 1}, {"blank": 1},
    )  # fmt: skip


def test_a_line_no_reader_accounts_for_is_quarantined_not_lost(s3, monkeypatch):
    reader = records._read_json_lines

    def losing_one(*args):
        yield from (item for item in reader(*args) if item[0] != 2)  # a reader's bug drops line 2

    monkeypatch.setattr(records, "_read_json_lines", losing_one)
    s3.put_object(Bucket="landing", Key=at("ses"), Body=lines(line(SES), line(SES_NOTIFICATION), line(SES)))
    (manifest,) = land_everything(s3, "ses")[0]
    assert (manifest.lines_read, manifest.landed, manifest.quarantine_reasons) == (3, 2, {"unaccounted_line": 1})


def test_a_poison_file_beside_a_good_one_leaves_the_good_one_landed(s3):
    s3.put_object(Bucket="landing", Key=at("ses", "good.json"), Body=lines(*GOOD2))
    for name, data in (("bad.gz", truncated_gzip()[:30]), ("worse.json", b"[" * 50_000)):
        s3.put_object(Bucket="landing", Key=at("ses", name), Body=data)
    (manifest,) = land_everything(s3, "ses")[0]
    assert (manifest.landed, manifest.quarantine_reasons) == (2, {"invalid_gzip": 1, "too_deep": 1})
    assert [f["key"] for f in manifest.source_files] == [at("ses", n) for n in ("bad.gz", "good.json", "worse.json")]


def test_quarantine_rows_stay_small_and_readable(s3):
    s3.put_object(Bucket="landing", Key=at("ses"), Body=b"x" * 1_500_000 + b"\n" + b'{"subject":"caf\xe9"}')
    land_everything(s3, "ses")
    body = s3.get_object(
        Bucket="raw", Key="_quarantine/stream=ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz"
    )
    rows = [json.loads(row) for row in gzip.decompress(body["Body"].read()).splitlines()]
    assert [(row["reason"], len(row["raw_line"])) for row in rows] == [("line_too_long", 4096), ("invalid_utf8", 21)]
    assert rows[1]["raw_line"] == '{"subject":"caf\\xe9"}'  # the byte shown, the row valid UTF-8


def test_a_far_future_record_in_a_flat_drop_adds_no_hour(s3):
    s3.put_object(Bucket="landing", Key="ses/export.jsonl",
                  Body=lines(line(SES), line(bounce(timestamp="2099-12-31T23:00:00Z"))))  # fmt: skip
    assert stream_hours(s3, "landing", "ses") == {HOUR}


def test_an_invalid_key_is_refused_in_its_upload_hour_only(s3):
    s3.put_object(Bucket="landing", Key="ses/2026/13/01/00/f.json", Body=lines(*GOOD2))
    (uploaded,) = stream_hours(s3, "landing", "ses")
    assert land_hour(s3, "ses", HOUR, "landing", "raw").lines_read == 0  # another hour: not read at all
    manifest = land_hour(s3, "ses", uploaded, "landing", "raw")
    assert manifest.quarantine_reasons == {"invalid_key": 2}


@pytest.mark.parametrize(
    "value,reason",
    [
        ("2026-11-20T10:00:00Z", None),
        ("2026-11-20T10:00:00.123456789+01:00", None),
        ("2026-11-20T10:00:00", "implausible_timestamp"),  # no offset: the engines would disagree
        ("2026-11-20 10:00:00Z", "implausible_timestamp"),
        ("2026-02-30T10:00:00Z", "implausible_timestamp"),
        ("2026-11-20T10:00:00+25:00", "implausible_timestamp"),
        ("0001-01-01T00:00:00+01:00", "implausible_timestamp"),
        (1795168800, "implausible_timestamp"),
    ],
)
def test_engagement_times_are_what_both_engines_read_alike(value, reason):
    try:
        records.check_record("ses", line(bounce(timestamp=value)), HOUR + timedelta(days=1))
    except records.Quarantined as bad:
        assert bad.reason == reason
    else:
        assert reason is None
