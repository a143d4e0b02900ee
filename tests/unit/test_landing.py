import gzip
import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from include import landing

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
    landed = landing.check_record(stream, line(record))
    assert landed.raw_event == line(record)
    assert json.loads(landed.body) == record
    assert landing.hour_floor(landed.event_time) == HOUR


def test_ses_event_time_is_the_event_objects_not_the_mails():
    assert landing.check_record("ses", line(SES_DELIVERY)).event_time == datetime(2026, 11, 20, 10, 2, 3, tzinfo=UTC)


def test_sns_envelope_is_unwrapped_but_raw_event_kept():
    envelope = line({"Type": "Notification", "MessageId": "n", "Message": line(SES_DELIVERY)})
    landed = landing.check_record("ses", envelope)
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
            "invalid_timestamp",
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
    with pytest.raises(landing.Quarantined) as caught:
        landing.check_record(stream, text)
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
    assert landing.hour_from_key(key) == hour


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="landing")
        client.create_bucket(Bucket="raw")
        yield client


def read_gz_lines(s3, key):
    return [json.loads(x) for x in gzip.decompress(s3.get_object(Bucket="raw", Key=key)["Body"].read()).splitlines()]


def test_land_hour_partitions_quarantines_and_reconciles(s3):
    firehose = "\n".join([line(SES_DELIVERY), "not json", line(SES_DELIVERY)]).encode()
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/10/f1.gz", Body=gzip.compress(firehose))
    s3.put_object(Bucket="landing", Key="ses/2026/11/20/11/f2", Body=line(SES_DELIVERY).encode())

    manifest = landing.land_hour(s3, "ses", HOUR, "landing", "raw")

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
    landing.land_hour(s3, "ses", HOUR, "landing", "raw")
    first = s3.get_object(Bucket="raw", Key=key)["Body"].read()
    landing.land_hour(s3, "ses", HOUR, "landing", "raw")
    assert s3.get_object(Bucket="raw", Key=key)["Body"].read() == first
    assert len(s3.list_objects_v2(Bucket="raw", Prefix="ses/")["Contents"]) == 1


def test_flat_drop_is_split_by_event_hour_and_broken_lines_counted_once(s3):
    later = SES_DELIVERY | {"delivery": {"timestamp": "2026-11-20T11:30:00.000Z"}}
    body = "\n".join([line(SES_DELIVERY), "{oops", line(later)]).encode()
    s3.put_object(Bucket="landing", Key="ses/export.jsonl", Body=body)

    assert landing.discover_hours(s3, "landing", ["ses"]) == [HOUR, HOUR.replace(hour=11)]
    ten = landing.land_hour(s3, "ses", HOUR, "landing", "raw")
    eleven = landing.land_hour(s3, "ses", HOUR.replace(hour=11), "landing", "raw")
    assert (ten.landed, ten.quarantined, eleven.landed, eleven.quarantined) == (1, 1, 1, 0)


def test_empty_hour_still_writes_a_readable_partition(s3):
    manifest = landing.land_hour(s3, "ses", HOUR, "landing", "raw")
    assert manifest.lines_read == 0
    assert read_gz_lines(s3, "ses/year=2026/month=11/day=20/hour=10/part-00000.json.gz") == []


def test_whatsapp_item_without_id_is_quarantined_beside_its_landed_sibling(s3):
    entry = {"changes": [{"value": {"statuses": [{"id": "x", "status": "sent"}, {"status": "read"}]}}]}
    record = WHATSAPP | {"whatsAppWebhookEntry": json.dumps(entry)}
    s3.put_object(Bucket="landing", Key="whatsapp/2026/11/20/10/f", Body=line(record).encode())

    manifest = landing.land_hour(s3, "whatsapp", HOUR, "landing", "raw")

    assert (manifest.lines_read, manifest.landed, manifest.quarantined, manifest.quarantined_items) == (1, 1, 1, 1)
    (kept,) = read_gz_lines(s3, "whatsapp/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    statuses = json.loads(json.loads(kept["body"])["whatsAppWebhookEntry"])["changes"][0]["value"]["statuses"]
    assert statuses == [{"id": "x", "status": "sent"}]
    assert kept["raw_event"] == line(record)  # what arrived stays as it arrived
    (item,) = read_gz_lines(s3, "_quarantine/stream=whatsapp/year=2026/month=11/day=20/hour=10/part-00000.json.gz")
    assert (item["reason"], json.loads(item["raw_line"])) == ("missing_message_id", {"status": "read"})
