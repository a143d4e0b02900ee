"""The local lake is a real, persistent S3 server (SeaweedFS): what landing wrote is there,
byte for byte, after the stack is stopped and started again, a replayed hour rewrites the
same bytes, and DuckDB's httpfs reads it the way dbt does."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime

import duckdb
import pytest

from include import settings
from include.landing import tasks
from include.landing.partitions import PART_NAME, list_objects, partition_prefix
from local.stack import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, REGION, LocalStack, free_ports, s3_client

pytestmark = pytest.mark.e2e
HOUR = datetime(2026, 11, 26, 9, tzinfo=UTC)  # a day no other e2e module lands
SES_EVENTS = [
    {
        "eventType": "Delivery",
        "mail": {"timestamp": f"2026-11-26T09:{m:02d}:00.000Z", "messageId": f"lake-{m}", "destination": ["a@x.org"]},
        "delivery": {"timestamp": f"2026-11-26T09:{m:02d}:30.000Z", "smtpResponse": "250 OK"},
    }
    for m in range(3)
]


def raw_zone(s3) -> dict[str, bytes]:
    return {
        obj["Key"]: s3.get_object(Bucket=settings.RAW_BUCKET, Key=obj["Key"])["Body"].read()
        for obj in list_objects(s3, settings.RAW_BUCKET)
    }


def test_the_lake_persists_across_restarts_and_a_replayed_hour_is_byte_identical(tmp_path):
    var_dir = tmp_path / "var"
    s3_port, profiles_port, aws_port = free_ports(3)

    def stack() -> LocalStack:
        return LocalStack(var_dir, s3_port, profiles_port, aws_port=aws_port).start()

    first = stack()
    try:
        s3 = s3_client(s3_port)
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} >= {settings.LANDING_BUCKET, settings.RAW_BUCKET}
        body = gzip.compress(b"".join(json.dumps(event).encode() + b"\n" for event in SES_EVENTS) + b'{"mail": \n')
        s3.put_object(Bucket=settings.LANDING_BUCKET, Key=f"ses/{HOUR:%Y/%m/%d/%H}/firehose-1.gz", Body=body)
        assert tasks.land(s3, "ses", [HOUR])["landed"] == len(SES_EVENTS)
        landed = raw_zone(s3)
        partition = partition_prefix("ses", HOUR) + PART_NAME
        assert partition in landed and len(landed) == 3  # partition, quarantine partition, manifest
    finally:
        first.stop()
    assert (var_dir / "s3").is_dir()

    second = stack()  # a new stack on the same var dir: the same lake
    try:
        s3 = s3_client(s3_port)
        assert raw_zone(s3) == landed
        assert tasks.land(s3, "ses", [HOUR])["landed"] == len(SES_EVENTS)  # the replay
        assert raw_zone(s3) == landed

        with duckdb.connect(config={"extension_directory": os.environ["C360_DUCKDB_EXTENSION_DIR"]}) as con:
            con.execute("load httpfs")
            con.execute(
                f"create secret (type s3, key_id '{LOCAL_ACCESS_KEY}', "
                f"secret '{LOCAL_SECRET_KEY}', region '{REGION}', "
                f"endpoint '127.0.0.1:{s3_port}', url_style 'path', use_ssl false)"
            )
            rows = con.execute(
                f"select count(*), count(distinct body) from read_json_auto('s3://{settings.RAW_BUCKET}/{partition}')"
            ).fetchone()
        assert rows == (len(SES_EVENTS), len(SES_EVENTS))
    finally:
        second.stop()
    assert second.s3.process is None
