"""Erasure is exact and sticks, through the real DAGs on the local stack: erasing a person whose CRM id is
``42`` leaves the neighbours holding ``10:42`` and ``0.42`` in the landing bucket, the raw zone and the
warehouse; afterwards their new and re-delivered records are quarantined (``erased_subject``, the line
not kept) and their address stays on the SES suppression list."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from datetime import UTC, datetime

import duckdb
import pytest

import local.run
from include import settings, streams
from include.landing.sources import CUSTOMER_COLUMNS
from local import sample_data
from local.stack import PROFILES_PORT, S3_PORT, LocalStack, s3_client

pytestmark = pytest.mark.e2e
DAY = datetime(2026, 11, 20, tzinfo=UTC)
ERIN = "erin.short@example.com"  # CRM id 42
HEADER = ",".join(CUSTOMER_COLUMNS)
ERIN_ROW = "crm,42,Erin,Short,erin.short@example.com,,,,,,,,US,,2026-11-20T00:10:00"
NIA_ROW = "crm,C-NEIGH-1042,Nia,Neighbour,nia.neighbour@example.com,,,,,,,,US,,2026-11-20T00:42:00"
OLU = {
    "loyalty_id": "LY-NEIGH-0042",
    "program": "brand_rewards",
    "tier": "blue",
    "points_balance": 42,
    "enrolled_at": "2020-01-01",
    "updated_at": "2026-11-20T00:10:42",
    "member": {"first_name": "Olu", "last_name": "Neighbour", "email": "olu.neighbour@example.com", "rate": "0.42"},
}


def bounce(message_id: str, at: str) -> str:
    return json.dumps(
        {
            "eventType": "Bounce",
            "mail": {"timestamp": at, "source": "news@example.com", "messageId": message_id, "destination": [ERIN]},
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "timestamp": at,
                "bouncedRecipients": [{"emailAddress": ERIN, "status": "5.1.1"}],
            },
        }
    )


@pytest.fixture(scope="module")
def stack(var_dir, tmp_path_factory):
    running = LocalStack(var_dir, S3_PORT, PROFILES_PORT, s3_dir=tmp_path_factory.mktemp("erasure-s3")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("erasure-input")
    sample_data.generate(out, people=40, day=DAY, hours=1, seed=5, streams=streams.RAW_STREAMS)
    write(out / "customers/2026/11/20/00/neighbours.csv", f"{HEADER}\n{ERIN_ROW}\n{NIA_ROW}\n")
    write(out / "loyalty/2026/11/20/00/neighbours.jsonl", json.dumps(OLU) + "\n")
    write(out / "ses/2026/11/20/00/erin.gz", bounce("erin-1", "2026-11-20T00:20:00.000Z") + "\n")
    return out


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def bucket_text(bucket: str, prefix: str) -> str:
    s3, texts = s3_client(), []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            texts.append((gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode())
    return "\n".join(texts)


def warehouse_text() -> str:
    tables = rows(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE'"
    )
    return "\n".join(str(rows(f'select * from "{schema}"."{table}"')) for schema, table in tables)


def suppressed(var_dir) -> set[str]:
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        return {email for (email,) in db.execute("select email from suppressed_destinations")}


NEIGHBOURS_SQL = (
    "select source_system, source_record_id from profile_links "
    "where source_record_id in ('C-NEIGH-1042', 'LY-NEIGH-0042') order by 1"
)


def test_erasing_crm_id_42_leaves_the_neighbours_holding_10_42_and_0_42(stack, input_dir, var_dir):
    from airflow.dag_processing.dagbag import DagBag

    assert local.run.main(["--input", str(input_dir)]) == 0
    # Before: Erin (crm 42) and both neighbours are everywhere, and her bounce suppressed her address.
    assert rows("select count(*) from profile_links where source_system = 'crm' and source_record_id = '42'") == [(1,)]
    assert rows(NEIGHBOURS_SQL) == [("crm", "C-NEIGH-1042"), ("loyalty", "LY-NEIGH-0042")]
    assert ERIN in suppressed(var_dir) and ERIN in warehouse_text()
    links_before = rows("select record_key, profile_id from profile_links order by 1")

    dagbag = DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags"))
    run = dagbag.dags["erase_person"].test(run_conf={"email": ERIN, "request_id": "DSAR-42"})
    assert run.state == "success"

    # Erin is gone from the landing bucket, the raw zone and the warehouse...
    for text in (bucket_text(settings.LANDING_BUCKET, ""), bucket_text(settings.RAW_BUCKET, ""), warehouse_text()):
        assert ERIN not in text
    assert rows("select count(*) from profile_links where source_system = 'crm' and source_record_id = '42'") == [(0,)]
    # ...her neighbours are not: their lines, their raw rows, their records and links.
    landing = bucket_text(settings.LANDING_BUCKET, "customers/2026/11/20/00/neighbours.csv")
    assert landing == f"{HEADER}\n{NIA_ROW}\n"
    assert json.loads(bucket_text(settings.LANDING_BUCKET, "loyalty/2026/11/20/00/neighbours.jsonl")) == OLU
    raw = [
        json.loads(json.loads(row)["body"])
        for stream in ("customers", "loyalty")
        for row in bucket_text(settings.RAW_BUCKET, f"{stream}/").splitlines()
    ]
    assert [(r["customer_id"], r["updated_at"]) for r in raw if r.get("customer_id") == "C-NEIGH-1042"] == [
        ("C-NEIGH-1042", "2026-11-20T00:42:00")
    ]
    assert [r for r in raw if r.get("loyalty_id") == OLU["loyalty_id"]] == [OLU]
    assert rows(NEIGHBOURS_SQL) == [("crm", "C-NEIGH-1042"), ("loyalty", "LY-NEIGH-0042")]
    erins = {key for key, profile in links_before if profile in {p for k, p in links_before if k == "crm:crm:42"}}
    assert rows("select record_key, profile_id from profile_links order by 1") == [
        link for link in links_before if link[0] not in erins
    ]
    # Audited, her suppression kept on purpose.
    assert rows("select ses_suppressions_kept, registered > 0 from erasure_audit where request_id = 'DSAR-42'") == [
        (1, True)
    ]
    assert ERIN in suppressed(var_dir)


def test_an_erased_persons_new_records_are_quarantined_and_their_address_stays_suppressed(
    stack, input_dir, var_dir, tmp_path
):
    # Her source re-delivers her old lines, and new ones arrive: a new CRM entry and another bounce.
    shutil.copytree(input_dir, tmp_path, dirs_exist_ok=True)
    returning = "crm,C-RETURN-9,Erin,Short,ERIN.SHORT@example.com,,,,,,,,US,,2026-11-20T00:30:00"
    write(tmp_path / "customers/2026/11/20/00/returning.csv", f"{HEADER}\n{returning}\n")
    write(tmp_path / "ses/2026/11/20/00/late.gz", bounce("erin-2", "2026-11-20T00:40:00.000Z") + "\n")

    assert local.run.main(["--input", str(tmp_path)]) == 0

    quarantined = rows("select raw_line, count(*) from quarantined_records where reason = 'erased_subject' group by 1")
    assert quarantined == [("", 4)]  # her two old lines, her two new ones: counted, their text not kept
    raw = "".join(bucket_text(settings.RAW_BUCKET, prefix) for prefix in ("ses/", "customers/", "_quarantine/"))
    for text in (raw, warehouse_text()):
        assert ERIN not in text and "C-RETURN-9" not in text and "erin-2" not in text
    assert rows(NEIGHBOURS_SQL) == [("crm", "C-NEIGH-1042"), ("loyalty", "LY-NEIGH-0042")]
    # Her address stays on the SES suppression list, outside the sync's state.
    assert ERIN in suppressed(var_dir)
    assert rows(f"select count(*) from customer_profiles_sync_state where object_key = '{ERIN}'") == [(0,)]
