import gzip
import json
from datetime import UTC, datetime

import pytest

from include import settings
from include.erasure import register
from include.landing import sources
from include.landing.land import discover_hours, land_hour, stream_hours
from include.landing.partitions import hour_floor, hour_from_key
from include.landing.records import Quarantined, check_file, check_record, route

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
SES_DELIVERY = {
    "eventType": "Delivery",
    "mail": {"timestamp": "2026-11-20T10:01:00.000Z", "messageId": "m-1", "destination": ["a@example.com"]},
    "delivery": {"timestamp": "2026-11-20T10:02:03.000Z", "smtpResponse": "250 OK"},
}
SMS_DELIVERED = {"eventType": "TEXT_DELIVERED", "messageId": "s-1", "eventTimestamp": 1795169700000}
WHATSAPP = {
    "aws_account_id": "1",
    "message_timestamp": "2026-11-20T10:05:00Z",
    "whatsAppWebhookEntry": json.dumps(
        {"id": "w", "changes": [{"value": {"statuses": [{"id": "x", "status": "sent"}]}}]}
    ),
}


def line(record) -> str:
    return json.dumps(record)


@pytest.mark.parametrize("stream,record", [("ses", SES_DELIVERY), ("sms_voice", SMS_DELIVERED), ("whatsapp", WHATSAPP)])
def test_good_records_land_with_their_own_event_time(stream, record):
    landed = check_record(stream, line(record))
    assert landed.raw_event == line(record)
    assert json.loads(landed.body) == record
    assert hour_floor(landed.event_time) == HOUR


def test_ses_event_time_is_the_event_objects_not_the_mails():
    assert check_record("ses", line(SES_DELIVERY)).event_time == datetime(2026, 11, 20, 10, 2, 3, tzinfo=UTC)


def test_sns_envelope_is_unwrapped_but_raw_event_kept():
    envelope = line({"Type": "Notification", "MessageId": "n", "Message": line(SES_DELIVERY)})
    landed = check_record("ses", envelope)
    assert json.loads(landed.body) == SES_DELIVERY
    assert landed.raw_event == envelope


@pytest.mark.parametrize(
    "stream,text,reason",
    [
        ("ses", '{"eventType": "Delivery", "mail": {', "invalid_json"),
        ("ses", "[1, 2]", "not_an_object"),
        ("ses", '{"hello": 1}', "unknown_shape"),
        ("sms_voice", line(SES_DELIVERY), "unknown_shape"),
        ("ses", line({"eventType": "Send", "mail": {"timestamp": "2026-11-20T10:00:00Z"}}), "missing_message_id"),
        (
            "sms_voice",
            line({"eventType": "TEXT_SUCCESSFUL", "messageId": "s", "eventTimestamp": "soon"}),
            "implausible_timestamp",  # an engagement event's unparseable time (docs/canonical-events.md)
        ),
        (
            "whatsapp",
            line(
                WHATSAPP
                | {"whatsAppWebhookEntry": json.dumps({"changes": [{"value": {"statuses": [{"status": "failed"}]}}]})}
            ),
            "missing_message_id",
        ),
        ("whatsapp", line(WHATSAPP | {"whatsAppWebhookEntry": "{broken"}), "invalid_whatsapp_entry"),
        ("ses", line({"Type": "Notification", "Message": "{not json"}), "invalid_sns_message"),
    ],
)
def test_bad_records_are_quarantined_with_a_reason(stream, text, reason):
    with pytest.raises(Quarantined) as caught:
        check_record(stream, text)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "key,hour",
    [
        ("ses/2026/11/20/10/firehose-1.gz", HOUR),
        ("ses/year=2026/month=11/day=20/hour=10/part.json", HOUR),
        ("ses/export.jsonl", None),
    ],
)
def test_hour_from_key(key, hour):
    assert hour_from_key(key) == hour


def read_gz_lines(s3, key):
    return [json.loads(x) for x in gzip.decompress(s3.get_object(Bucket="raw", Key=key)["Body"].read()).splitlines()]


def test_land_hour_partitions_quarantines_and_reconciles(s3):
    firehose = "\n".join([line(SES_DELIVERY), "not json", line(SES_DELIVERY)]).encode()
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f1.gz", Body=gzip.compress(firehose))
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/11/f2", Body=line(SES_DELIVERY).encode())

    manifest = land_hour(s3, "ses", HOUR, "landing", "raw")

    assert (manifest.lines_read, manifest.landed, manifest.quarantined) == (3, 2, 1)
    assert manifest.quarantine_reasons == {"invalid_json": 1}
    rows = read_gz_lines(s3, "ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert [(r["source_key"], r["line_no"]) for r in rows] == [
        ("ses/2026/11/20/10/f1.gz", 1),
        ("ses/2026/11/20/10/f1.gz", 3),
    ]
    bad = read_gz_lines(s3, "_quarantine/stream=ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert bad == [
        {
            "source_key": "ses/2026/11/20/10/f1.gz",
            "line_no": 2,
            "reason": "invalid_json",
            "detail": "Expecting value: line 1 column 1 (char 0)",
            "raw_line": "not json",
        }
    ]
    stored = json.loads(
        s3.get_object(Bucket="raw", Key="_manifests/ses/year=2026/month=11/day=20/hour=10/manifest.json")["Body"].read()
    )
    assert stored["landed"] == 2 and stored["written"][0]["records"] == 2


def test_landing_an_hour_twice_gives_identical_bytes(s3):
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f1", Body=line(SES_DELIVERY).encode())
    key = "ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz"
    land_hour(s3, "ses", HOUR, "landing", "raw")
    first = s3.get_object(Bucket="raw", Key=key)["Body"].read()
    land_hour(s3, "ses", HOUR, "landing", "raw")
    assert s3.get_object(Bucket="raw", Key=key)["Body"].read() == first
    assert len(s3.list_objects_v2(Bucket="raw", Prefix="ses/")["Contents"]) == 1


def test_discovering_the_hours_of_some_files_leaves_the_others_out(s3):
    later = SES_DELIVERY | {"delivery": {"timestamp": "2026-11-20T11:30:00.000Z"}}
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/earlier-run", Body=line(SES_DELIVERY).encode())
    s3.put_object(Bucket="landing", Key="ses/this-run.jsonl", Body=line(later).encode())

    assert discover_hours(s3, "landing", ["ses"]) == [HOUR, HOUR.replace(hour=11)]
    assert discover_hours(s3, "landing", ["ses", "sms_voice"], ["ses/this-run.jsonl"]) == [HOUR.replace(hour=11)]
    with pytest.raises(ValueError, match="not in s3://landing/"):
        discover_hours(s3, "landing", ["ses"], ["ses/never-uploaded"])


def test_flat_drop_is_split_by_event_hour_and_broken_lines_counted_once(s3):
    later = SES_DELIVERY | {"delivery": {"timestamp": "2026-11-20T11:30:00.000Z"}}
    body = "\n".join([line(SES_DELIVERY), "{oops", line(later)]).encode()
    s3.put_object(Bucket="landing", Key="ses/export.jsonl", Body=body)

    assert discover_hours(s3, "landing", ["ses"]) == [HOUR, HOUR.replace(hour=11)]
    ten = land_hour(s3, "ses", HOUR, "landing", "raw")
    eleven = land_hour(s3, "ses", HOUR.replace(hour=11), "landing", "raw")
    assert (ten.landed, ten.quarantined, eleven.landed, eleven.quarantined) == (1, 1, 1, 0)


def test_empty_hour_still_writes_a_readable_partition(s3):
    manifest = land_hour(s3, "ses", HOUR, "landing", "raw")
    assert manifest.lines_read == 0
    assert read_gz_lines(s3, "ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz") == []


def test_whatsapp_item_without_id_is_quarantined_beside_its_landed_sibling(s3):
    entry = {"changes": [{"value": {"statuses": [{"id": "x", "status": "sent"}, {"status": "read"}]}}]}
    record = WHATSAPP | {"whatsAppWebhookEntry": json.dumps(entry)}
    s3.put_object(Bucket="landing", Key="whatsapp/2026/11/20/10/f", Body=line(record).encode())

    manifest = land_hour(s3, "whatsapp", HOUR, "landing", "raw")

    assert (manifest.lines_read, manifest.landed, manifest.quarantined, manifest.quarantined_items) == (1, 1, 1, 1)
    (kept,) = read_gz_lines(s3, "whatsapp/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    statuses = json.loads(json.loads(kept["body"])["whatsAppWebhookEntry"])["changes"][0]["value"]["statuses"]
    assert statuses == [{"id": "x", "status": "sent"}]
    assert kept["raw_event"] == line(record)  # what arrived stays as it arrived
    (item,) = read_gz_lines(s3, "_quarantine/stream=whatsapp/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert (item["reason"], json.loads(item["raw_line"])) == ("missing_message_id", {"status": "read"})


# -- source-system batches -------------------------------------------------------------------
HEADER = ",".join(sources.CUSTOMER_COLUMNS)
CUSTOMER = {
    "source_system": "crm",
    "customer_id": "C1",
    "first_name": "Ana",
    "last_name": "Smith",
    "email": "ana@example.com",
    "phone": "07400 123456",
    "country": "GB",
    "updated_at": "2026-11-20T10:15:00Z",
}
BOOKING = {
    "booking_id": "AIR-1",
    "source_system": "air",
    "customer_id": None,
    "booked_at": "2026-11-20T12:30:00+02:00",  # 10:30 UTC
    "status": "confirmed",
    "traveller": {"first_name": "Ana", "phone": "+12065550100"},
    "itinerary": {"origin": "SEA", "destination": "LHR"},
}
LOYALTY = {
    "loyalty_id": "LY1",
    "program": "p",
    "updated_at": "2026-11-20 10:00:00",
    "member": {"phone": "0151 12345678", "country": "DE"},
}
CLICK = {"event_id": "e1", "event_type": "offer_view", "event_timestamp": "2026-11-20T10:59:59.999Z", "offer_name": "o"}
SERVICE = {"interaction_id": "SI-1", "started_at": "2026-11-20T10:00:00Z", "customer": {"phone": None}}


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


def csv_row(**values: str) -> str:
    return ",".join(values.get(name, "") for name in sources.CUSTOMER_COLUMNS)


def checked(stream: str, key: str, data: bytes) -> list:
    return list(check_file(stream, key, data))


@pytest.mark.parametrize(
    "stream,record,normalised_status",
    [
        ("customers", CUSTOMER, "valid"),
        ("bookings", BOOKING, "valid"),
        ("loyalty", LOYALTY, "valid"),
        ("clickstream", CLICK, None),
        ("service_interactions", SERVICE, "missing"),
    ],
)
def test_source_records_land_with_their_own_time_and_a_normalised_phone(stream, record, normalised_status):
    landed = check_record(stream, line(record))
    assert hour_floor(landed.event_time) == HOUR
    assert landed.body == line(record)  # kept as received
    status = landed.normalised and json.loads(landed.normalised)["phone_status"]
    assert status == normalised_status


def test_a_csv_row_becomes_a_json_object_with_extra_columns_as_attributes():
    header = HEADER + ",segment,opt_in"
    row = csv_row(**(CUSTOMER | {"address_line1": '"Flat 3, 12 High St"'})) + ",gold,"
    ((line_no, raw, landed),) = checked("customers", "customers/crm.csv", csv_file(row, header=header))
    assert (line_no, raw) == (2, row)  # the header is line 1; raw_event is the line as received
    body = json.loads(landed.body)
    assert list(body) == [*sources.CUSTOMER_COLUMNS, "attributes"]
    assert body["address_line1"] == "Flat 3, 12 High St" and body["email"] == "ana@example.com"
    assert body["birth_date"] is None  # empty → null
    assert body["attributes"] == {"segment": "gold", "opt_in": None}
    assert json.loads(landed.normalised)["phone_e164"] == "+447400123456"


def test_csv_is_told_by_extension_or_by_its_header_and_quoted_fields_may_span_lines():
    row = csv_row(**CUSTOMER)
    multi = csv_row(**(CUSTOMER | {"customer_id": "C2", "address_line1": '"Flat 3\n12 High St"'}))
    data = gzip.compress(("\ufeff" + HEADER + "\n\n" + row + "\n" + multi + "\n" + row + "\n").encode())
    rows = checked("customers", "customers/2026/11/20/10/export.gz", data)  # no .csv: sniffed
    assert [(n, type(r).__name__) for n, _, r in rows] == [
        (3, "LandedRecord"),
        (4, "LandedRecord"),
        (6, "LandedRecord"),
    ]
    assert json.loads(rows[1][2].body)["address_line1"] == "Flat 3\n12 High St"
    assert rows[1][1] == multi
    jsonl = checked("customers", "customers/export.gz", line(CUSTOMER).encode())
    assert [r.body for _, _, r in jsonl] == [line(CUSTOMER)]


@pytest.mark.parametrize(
    "row,reason",
    [
        ("crm,C1,Ana", "invalid_csv"),
        (csv_row(**CUSTOMER) + ",extra", "invalid_csv"),
        ('crm,"C1"x,' + "," * 12, "invalid_csv"),
        (csv_row(**(CUSTOMER | {"customer_id": ""})), "missing_record_id"),
        (csv_row(**(CUSTOMER | {"source_system": ""})), "missing_record_id"),
        (csv_row(**(CUSTOMER | {"updated_at": ""})), "missing_timestamp"),
        (csv_row(**(CUSTOMER | {"updated_at": "20/11/2026"})), "invalid_timestamp"),
        (csv_row(**(CUSTOMER | {"updated_at": "2026-11-20T10:15"})), "invalid_timestamp"),  # no seconds
        (csv_row(**(CUSTOMER | {"email": "not an email", "phone": "12", "birth_date": "soon"})), None),
    ],
)
def test_bad_csv_rows_are_quarantined_with_a_reason_and_bad_contacts_are_not(row, reason):
    ((_, raw, result),) = checked("customers", "customers/c.csv", csv_file(row))
    assert raw == row
    assert (result.reason if isinstance(result, Quarantined) else None) == reason


def test_an_unclosed_quote_quarantines_the_rest_of_the_file_as_one_record():
    rows = checked("customers", "c.csv", csv_file(csv_row(**CUSTOMER), 'crm,"C2,cut off', csv_row(**CUSTOMER)))
    assert [(n, getattr(r, "reason", None)) for n, _, r in rows] == [(2, None), (3, "invalid_csv")]
    assert rows[1][1] == 'crm,"C2,cut off\n' + csv_row(**CUSTOMER)


@pytest.mark.parametrize(
    "stream,record,reason",
    [
        ("bookings", BOOKING | {"booking_id": None}, "missing_record_id"),
        ("bookings", BOOKING | {"source_system": ""}, "missing_record_id"),
        ("bookings", {k: v for k, v in BOOKING.items() if k != "booked_at"}, "missing_timestamp"),
        ("bookings", BOOKING | {"booked_at": "yesterday"}, "invalid_timestamp"),
        ("loyalty", LOYALTY | {"loyalty_id": ""}, "missing_record_id"),
        ("loyalty", LOYALTY | {"updated_at": 1795168800000}, "invalid_timestamp"),
        ("clickstream", CLICK | {"event_id": None}, "missing_record_id"),
        ("clickstream", CLICK | {"event_timestamp": None}, "missing_timestamp"),
        ("service_interactions", SERVICE | {"interaction_id": None}, "missing_record_id"),
        ("service_interactions", SERVICE | {"started_at": "2026-13-45T99:00:00Z"}, "invalid_timestamp"),
        ("customers", {k: v for k, v in CUSTOMER.items() if k != "customer_id"}, "missing_record_id"),
        ("customers", BOOKING, "unknown_shape"),  # a record landed in the wrong source stream
        ("bookings", CUSTOMER, "unknown_shape"),
        ("clickstream", SERVICE, "unknown_shape"),
        ("customers", SES_DELIVERY, "unknown_shape"),
        ("ses", CUSTOMER, "unknown_shape"),  # and a source record in an engagement stream
        ("loyalty", {"hello": 1}, "unknown_shape"),
    ],
)
def test_bad_source_records_are_quarantined_with_a_reason(stream, record, reason):
    with pytest.raises(Quarantined) as caught:
        check_record(stream, line(record))
    assert caught.value.reason == reason


def test_route_tells_engagement_and_source_shapes_apart():
    records = [SES_DELIVERY, SMS_DELIVERED, WHATSAPP, CUSTOMER, BOOKING, LOYALTY, CLICK, SERVICE, {"hello": 1}]
    assert [route(r) for r in records] == [
        "ses", "sms_voice", "whatsapp", "customers", "bookings", "loyalty", "clickstream", "service_interactions", None,
    ]  # fmt: skip


def test_json_customer_keys_beyond_the_format_move_under_attributes():
    record = CUSTOMER | {"newsletter": True, "attributes": {"tier": "gold"}}
    body = json.loads(check_record("customers", line(record)).body)
    assert body["attributes"] == {"tier": "gold", "newsletter": True}
    assert body["first_name"] == "Ana" and "newsletter" not in body


def normalised(phone, country=None) -> dict:
    return json.loads(sources.normalise_phone(phone, sources.phone_region(country)))


@pytest.mark.parametrize(
    "phone,country,expected",
    [
        ("+447400123456", None, ("+447400123456", "MOBILE", "GB", "valid")),
        ("07400 123456", "GB", ("+447400123456", "MOBILE", "GB", "valid")),
        ("07400 123456", "gb", ("+447400123456", "MOBILE", "GB", "valid")),
        ("0151 12345678", "DE", ("+4915112345678", "MOBILE", "DE", "valid")),
        ("(206) 555-0100", None, ("+12065550100", "FIXED_LINE_OR_MOBILE", "US", "valid")),  # default region US
        ("(206) 555-0100", "United Kingdom", ("+12065550100", "FIXED_LINE_OR_MOBILE", "US", "valid")),
        ("0000000000", "US", (None, None, None, "invalid")),
        ("12345", "GB", (None, None, None, "invalid")),
        ("call me", "GB", (None, None, None, "invalid")),
        ("", "GB", (None, None, None, "missing")),
        (None, "GB", (None, None, None, "missing")),
    ],
)
def test_phones_are_normalised_to_e164_with_type_and_country(phone, country, expected):
    keys = ("phone_e164", "phone_type", "phone_country", "phone_status")
    assert tuple(normalised(phone, country)[k] for k in keys) == expected


def test_the_default_phone_region_is_a_setting(monkeypatch):
    monkeypatch.setattr(settings, "DEFAULT_PHONE_REGION", "GB")
    assert normalised("07400 123456")["phone_e164"] == "+447400123456"
    assert normalised("07400 123456", "DE")["phone_country"] == "DE"  # the record's own country wins


def test_source_stream_hour_reconciles_and_rows_carry_normalised(s3):
    rows = [csv_row(**CUSTOMER), "crm,C2", csv_row(**(CUSTOMER | {"customer_id": "C3", "updated_at": "x"}))]
    s3.put_object(Bucket="landing", Key="customers/2026/11/20/10/crm.csv.gz", Body=gzip.compress(csv_file(*rows)))
    later = CUSTOMER | {"source_system": "web", "updated_at": "2026-11-20T11:05:00Z"}
    flat = "\n".join([line(CUSTOMER | {"source_system": "web"}), "{broken", line(later)])
    s3.put_object(Bucket="landing", Key="customers/web.jsonl", Body=flat.encode())

    assert discover_hours(s3, "landing", ["customers"]) == [HOUR, HOUR.replace(hour=11)]
    ten = land_hour(s3, "customers", HOUR, "landing", "raw")
    eleven = land_hour(s3, "customers", HOUR.replace(hour=11), "landing", "raw")

    assert (ten.lines_read, ten.landed, ten.quarantined) == (6, 2, 3)  # the header, 3 CSV rows, 2 JSON lines
    assert ten.skipped_lines == {"csv_header": 1}
    assert ten.quarantine_reasons == {"invalid_csv": 1, "invalid_timestamp": 1, "invalid_json": 1}
    assert (eleven.lines_read, eleven.landed, eleven.quarantined) == (1, 1, 0)
    landed = read_gz_lines(s3, "customers/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert [(r["source_key"], r["line_no"]) for r in landed] == [
        ("customers/2026/11/20/10/crm.csv.gz", 2),
        ("customers/web.jsonl", 1),
    ]
    assert landed[0]["raw_event"] == rows[0] and "raw_event" not in landed[1]
    assert {json.loads(r["normalised"])["phone_e164"] for r in landed} == {"+447400123456"}
    bad = read_gz_lines(s3, "_quarantine/stream=customers/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert [(r["line_no"], r["reason"], r["raw_line"]) for r in bad] == [
        (3, "invalid_csv", "crm,C2"),
        (4, "invalid_timestamp", rows[2]),
        (2, "invalid_json", "{broken"),
    ]


def test_engagement_rows_have_no_normalised_field(s3):
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f1", Body=line(SES_DELIVERY).encode())
    land_hour(s3, "ses", HOUR, "landing", "raw")
    (row,) = read_gz_lines(s3, "ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert set(row) == {"source_key", "line_no", "body"}


def test_stream_hours_of_dropped_keys_only_and_a_missing_key_is_an_error(s3):
    later = SES_DELIVERY | {"delivery": {"timestamp": "2026-11-20T11:30:00.000Z"}}
    s3.put_object(Bucket="landing", Key="ses/drop.jsonl", Body=line(later).encode())
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f1", Body=line(SES_DELIVERY).encode())

    assert stream_hours(s3, "landing", "ses", ["ses/drop.jsonl"]) == {HOUR.replace(hour=11)}
    assert stream_hours(s3, "landing", "ses") == {HOUR, HOUR.replace(hour=11)}
    with pytest.raises(ValueError, match="ses/gone.jsonl"):
        stream_hours(s3, "landing", "ses", ["ses/gone.jsonl"])


# -- the erased-subject register --------------------------------------------------------
ERASED_EMAIL, NEIGHBOUR_EMAIL = "ana.smith@example.com", "bo.chen@example.com"


def _raw_rows(s3, prefix: str) -> list[dict]:
    body = s3.get_object(Bucket="raw", Key=prefix + "part-00000.json.gz")["Body"].read()
    return [json.loads(row) for row in gzip.decompress(body).splitlines()]


def test_an_erased_persons_new_records_are_quarantined_without_their_text(s3, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.delenv(settings.ERASURE_HASH_KEY_ENV, raising=False)
    register.add(s3, "raw", [("email", ERASED_EMAIL), ("phone", "+12062478200"), ("id", "42")], "DSAR-1")
    header = ",".join(sources.CUSTOMER_COLUMNS)
    rows = [
        "crm,C7,Ana,Smith,ANA.SMITH@example.com,,,,,,,,US,,2026-11-20T10:00:00",  # her email, any case
        "crm,C8,Ana,Smith,,(206) 247-8200,,,,,,,US,,2026-11-20T10:00:00",  # her phone, nationally written
        "crm,42,Ana,Smith,,,,,,,,,US,,2026-11-20T10:00:00",  # her CRM id
        "crm,C9,Ana,Smith,ana.smith@example.com,,,,,,,,US,,never",  # refused for its time: still hers
        f"crm,C10,Bo,Chen,{NEIGHBOUR_EMAIL},,,,,,,,US,,2026-11-20T10:42:00",  # 10:42 and 0.42: a neighbour
        "crm,C11,Cy,Chen,cy@example.com,,,,,,,,US,0.42,2026-11-20T10:00:00",
    ]
    s3.put_object(Bucket="landing", Key="customers/2026/11/20/10/crm.csv", Body="\n".join([header, *rows]) + "\n")
    delivery = SES_DELIVERY | {"mail": SES_DELIVERY["mail"] | {"destination": [ERASED_EMAIL]}}
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f", Body=line(delivery) + "\n" + line(SES_DELIVERY))

    customers = land_hour(s3, "customers", HOUR, "landing", "raw")
    ses = land_hour(s3, "ses", HOUR, "landing", "raw")

    assert (customers.landed, customers.quarantine_reasons) == (2, {"erased_subject": 4})
    assert (ses.landed, ses.quarantine_reasons) == (1, {"erased_subject": 1})
    for manifest in (customers, ses):
        manifest.check()
    quarantined = _raw_rows(s3, "_quarantine/stream=customers/year=2026/month=11/day=20/hour=10/")
    assert {row["raw_line"] for row in quarantined} == {""} and all("Ana" not in json.dumps(r) for r in quarantined)
    landed = [
        json.loads(row["body"])["customer_id"] for row in _raw_rows(s3, "customers/year=2026/month=11/day=20/hour=10/")
    ]
    assert landed == ["C10", "C11"]


def test_landing_reads_no_key_when_nobody_was_erased_and_refuses_a_rotated_one(s3, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setenv(settings.ERASURE_HASH_KEY_ENV, "key-1")
    assert not register.load(s3, "raw")
    register.add(s3, "raw", [("email", ERASED_EMAIL)], "DSAR-1")
    assert register.load(s3, "raw").holds({"email": " Ana.Smith@example.com"})
    assert not register.load(s3, "raw").holds({"email": NEIGHBOUR_EMAIL})
    monkeypatch.setenv(settings.ERASURE_HASH_KEY_ENV, "key-2")
    with pytest.raises(register.RegisterKeyMismatch, match="another C360_ERASURE_HASH_KEY"):
        land_hour(s3, "ses", HOUR, "landing", "raw")
