"""The DAGs, run by Airflow on small data through the real local stack (S3 server, DuckDB,
dbt, Great Expectations, Customer Profiles endpoint): assertions are on the data."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import sqlite3
from collections import Counter
from datetime import UTC, datetime

import duckdb
import pytest

import local.run
from include import settings, streams
from include.landing.land import discover_hours
from include.landing.partitions import HOUR
from include.landing.records import Quarantined, check_record
from include.landing.sources import CUSTOMER_COLUMNS
from include.sync import templates
from include.warehouse.seam import DuckDBWarehouse
from local import sample_data
from local.stack import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, PROFILES_PORT, REGION, S3_PORT, LocalStack, s3_client

pytestmark = [pytest.mark.e2e, pytest.mark.longest]
DAY = datetime(2026, 11, 20, tzinfo=UTC)
# Measured on this sample (150 people, seed 11) with the shipped default model; see bench/ for FEBRL.
PAIRWISE_PRECISION, PAIRWISE_RECALL = 0.95, 0.95


@pytest.fixture(scope="module")
def stack(var_dir, tmp_path_factory):
    # A lake of its own: the session's var/ is shared by every module.
    s3_dir = tmp_path_factory.mktemp("pipeline-s3")
    running = LocalStack(var_dir, S3_PORT, PROFILES_PORT, s3_dir=s3_dir).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("input")
    counts = sample_data.generate(out, people=150, day=DAY, hours=3, seed=11, streams=streams.RAW_STREAMS)
    # An at-least-once re-delivery that arrives two hours after the first: it lands, and collapses.
    first_hour = min((out / "ses").rglob("*.gz"))
    redelivered = next(
        line for line in gzip.decompress(first_hour.read_bytes()).decode().splitlines() if _lands("ses", line)
    )
    late = out / "ses" / "2026" / "11" / "20" / "02" / "redelivered.gz"
    late.write_bytes(gzip.compress(redelivered.encode() + b"\n"))
    counts["ses"]["redeliveries"] += 1
    return out, counts


def _lands(stream: str, line: str) -> bool:
    try:
        check_record(stream, line)
    except Quarantined:
        return False
    return True


def _expected_quarantine_reasons() -> Counter:
    """What the generator broke on purpose: every malformed line, and the WhatsApp items without an id."""
    reasons = Counter({"invalid_json": 4, "not_an_object": 4, "unknown_shape": 4, "missing_message_id": 5})
    for stream in streams.SOURCE_STREAMS:
        reasons.update(reason for reason, _ in sample_data.malformed_lines(stream, DAY))
    reasons.update(reason for reason, _ in sample_data.malformed_csv_lines(DAY))
    return reasons


def warehouse_rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_digest(table: str) -> str:
    return hashlib.sha256(repr(warehouse_rows(f"select * from {table} order by all")).encode()).hexdigest()


OBJECT_TYPES = ("UnifiedProfile", "EngagementSummary", "MarketingAssignedOffers", "InteractionHistory")
LAST_SYNC_RUN = """
    select object_type, sent, unchanged, failed from customer_profiles_sync_runs
    where split_part(run_id, '#', 1) = (
        select split_part(run_id, '#', 1) from customer_profiles_sync_runs order by started_at desc limit 1
    )
"""


def endpoint_objects(var_dir) -> dict[str, list[dict]]:
    """Every object the local Customer Profiles endpoint holds, per object type."""
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        rows = db.execute("select object_type, body from profile_objects order by object_type, body").fetchall()
    held: dict[str, list[dict]] = {}
    for object_type, body in rows:
        held.setdefault(object_type, []).append(json.loads(body))
    return held


def warehouse_objects() -> dict[str, list[dict]]:
    """What the warehouse says Customer Profiles should hold, through the sync's own queries."""
    return {
        name: sorted(
            (json.loads(item.body) for item in templates.load_object_type(name).items(DuckDBWarehouse())),
            key=lambda body: json.dumps(body, sort_keys=True),
        )
        for name in OBJECT_TYPES
    }


def test_make_run_builds_events_and_pushes_profiles(stack, sample, var_dir):
    input_dir, counts = sample
    assert local.run.main(["--input", str(input_dir)]) == 0

    # Every landed line is accounted for: canonical + re-deliveries collapsed + quarantined.
    event_streams = streams.feeding("engagement_events")
    assert warehouse_rows("select count(*) from engagement_events") == [
        (sum(counts[s]["events"] for s in event_streams),)
    ]
    assert warehouse_rows("select count(*) from conversation_messages") == [(counts["conversations"]["events"],)]
    landed = dict(warehouse_rows("select stream, sum(raw_records) from landing_reconciliation group by stream"))
    assert landed == {s: c["records"] + c.get("redeliveries", 0) for s, c in counts.items()}
    reasons = dict(warehouse_rows("select reason, count(*) from quarantined_records group by reason"))
    assert reasons == dict(_expected_quarantine_reasons())
    assert warehouse_rows("select count(*) - count(distinct event_id) from engagement_events") == [(0,)]
    channels = {c for (c,) in warehouse_rows("select distinct channel from engagement_events")}
    assert channels == {"email", "text", "media", "voice", "whatsapp"}

    # Customer Profiles holds exactly what the warehouse says, object for object.
    held = endpoint_objects(var_dir)
    expected = warehouse_objects()
    assert len(expected["UnifiedProfile"]) > 100
    assert {name: sorted(held.get(name, []), key=lambda b: json.dumps(b, sort_keys=True)) for name in OBJECT_TYPES} == (
        expected
    )


def _truth(input_dir) -> dict[tuple[str, str], str]:
    """(source_system, source_record_id) → person, for every identity record the generator wrote."""
    with open(input_dir / sample_data.TRUTH_FILE, newline="") as f:
        return {
            (row["source_system"], row["source_record_id"]): row["person_id"]
            for row in csv.DictReader(f)
            if row["source_system"] != "clickstream"  # events, not identity records
        }


def _pairs(groups: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def test_profiles_resolve_the_generated_people(stack, sample, var_dir):
    input_dir, _ = sample
    truth = _truth(input_dir)
    links = warehouse_rows(
        "select source_system, source_record_id, profile_id from profile_links where source_kind != 'engagement'"
    )
    # Every identity record is linked exactly once.
    assert sorted((system, record) for system, record, _ in links) == sorted(truth)

    # Pairwise against the people who made the records: a predicted pair is two records in one profile.
    profile_of = {(system, record): profile for system, record, profile in links}
    predicted = _pairs(Counter(profile_of.values()))
    actual = _pairs(Counter(truth.values()))
    true_positive = _pairs(Counter((profile_of[key], person) for key, person in truth.items()))
    precision, recall = true_positive / predicted, true_positive / actual
    assert precision >= PAIRWISE_PRECISION and recall >= PAIRWISE_RECALL, (precision, recall)

    # The golden record and the features describe the same profiles as the links.
    assert warehouse_rows("select count(*), count(distinct profile_id) from unified_profiles") == [
        (len({p for (p,) in warehouse_rows("select profile_id from profile_links")}),) * 2
    ]
    # Email deliveries in the last 90 days, recomputed from the canonical events through the links.
    expected = Counter(
        profile
        for profile, _ in set(
            warehouse_rows(
                """
                select links.profile_id, events.message_id
                from engagement_events as events
                cross join unnest(events.destination_address) as recipient (address)
                inner join profile_links as links
                    on links.source_kind = 'engagement' and links.source_record_id = lower(recipient.address)
                where events.channel = 'email' and events.type = 'Delivery'
                """
            )
        )
    )
    assert expected and dict(
        warehouse_rows("select profile_id, email_deliveries_90d from unified_profiles where email_deliveries_90d > 0")
    ) == dict(expected)
    # Junk identifiers never merge strangers: no profile holds test@test.com.
    assert warehouse_rows("select count(*) from unified_profiles where list_contains(emails, 'test@test.com')") == [
        (0,)
    ]


def test_second_run_gives_same_tables_and_sends_nothing(stack, sample, var_dir):
    input_dir, _ = sample
    tables = (
        "profile_links",
        "unified_profiles",
        "profile_merges",
        "profile_offers",
        "profile_segments",
        "engagement_events",
        "conversation_messages",
        "quarantined_records",
        "email_recipients",
        "campaign_performance",
        "suppression_list",
        "sms_opt_outs",
        "sms_cost_by_country",
    )
    before = {t: table_digest(t) for t in tables}
    objects_before = endpoint_objects(var_dir)
    # The same interval three times in all: runs 2 and 3 both equal run 1 and send nothing.
    for run in (2, 3):
        assert local.run.main(["--input", str(input_dir)]) == 0
        assert {t: table_digest(t) for t in before} == before, f"run {run}"
        assert endpoint_objects(var_dir) == objects_before, f"run {run}"
        last = {
            object_type: (sent, unchanged, failed)
            for object_type, sent, unchanged, failed in warehouse_rows(LAST_SYNC_RUN)
        }
        assert {name: last[name] for name in OBJECT_TYPES} == {
            name: (0, len(objects_before[name]), 0) for name in OBJECT_TYPES
        }, f"run {run}"


def _copy_tree(source, target) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            copy = target / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())


def test_a_record_bridging_two_profiles_merges_them_and_keeps_other_ids(stack, sample, var_dir, tmp_path):
    input_dir, _ = sample
    before = dict(warehouse_rows("select record_key, profile_id from profile_links"))
    # Two people's CRM records: one with an email, another (a different profile) with a loyalty id.
    (email_profile, email), (loyalty_profile, loyalty_id) = warehouse_rows(
        """
        with crm as (
            select links.profile_id, records.email, records.loyalty_id
            from profile_links as links
            inner join main_intermediate.int_identity_records_normalised as records using (record_key)
            where records.source_kind = 'crm'
        )
        (select profile_id, email from crm where email is not null order by profile_id limit 1)
        union all
        (select profile_id, loyalty_id from crm where loyalty_id is not null
         and profile_id != (select min(profile_id) from crm where email is not null) order by profile_id limit 1)
        """
    )
    assert email_profile != loyalty_profile
    # A later CRM entry holding both: same_email links it to one, same_loyalty_id to the other.
    bridge = tmp_path / "customers" / "2026" / "11" / "20" / "03" / "bridge.csv"
    bridge.parent.mkdir(parents=True)
    bridge.write_text(
        ",".join(CUSTOMER_COLUMNS) + f"\ncrm,C-BRIDGE,Bridget,Jones,{email},,,,,,,,,{loyalty_id},2026-11-20T03:30:00\n"
    )
    _copy_tree(input_dir, tmp_path)
    assert local.run.main(["--input", str(tmp_path)]) == 0

    after = dict(warehouse_rows("select record_key, profile_id from profile_links"))
    merged = {after[key] for key, profile in before.items() if profile in (email_profile, loyalty_profile)}
    assert len(merged) == 1 and merged <= {email_profile, loyalty_profile}
    (survivor,) = merged
    assert after["crm:crm:C-BRIDGE"] == survivor
    (gone,) = {email_profile, loyalty_profile} - merged
    assert warehouse_rows(
        "select old_profile_id, new_profile_id, change_kind from profile_merges "
        "where recorded_for = '2026-11-20 04:00:00'"
    ) == [(gone, survivor, "merge")]
    # No other profile gained or lost a record, so none was renumbered.
    untouched = {key: profile for key, profile in before.items() if profile not in (email_profile, loyalty_profile)}
    assert {key: after[key] for key in untouched} == untouched


ERASURE_REQUEST = "DSAR-e2e-0001"
PERSON_SQL = """
    select profile.profile_id, profile.email
    from unified_profiles as profile
    inner join customer_profiles_sync_state as pushed
        on pushed.object_type = 'UnifiedProfile' and pushed.object_key = profile.profile_id
    where list_contains(profile.source_kinds, 'crm') and list_contains(profile.source_kinds, 'engagement')
        and profile.email is not null and pushed.content_hash is not null
    order by profile.is_email_suppressed desc, profile.source_record_count desc, profile.profile_id
    limit 1
"""
# As received, before normalisation: national formats, upper-case emails.
AS_RECEIVED_SQL = " union ".join(
    f"select email, phone from main_staging.{model} where source_system || ':' || source_record_id in "
    "(select unnest($ids::varchar[]))"
    for model in (
        "stg_source_systems__customers",
        "stg_source_systems__loyalty_members",
        "stg_source_systems__bookings",
        "stg_source_systems__service_interactions",
    )
)


def person_identifiers(profile_id: str, var_dir) -> set[str]:
    """Everything that names the person, gathered here independently of include/erasure/."""
    records = warehouse_rows(
        f"""
        select records.record_key, records.source_kind, records.source_system, records.source_record_id,
            records.email, records.phone, records.loyalty_id, records.crm_customer_id
        from profile_links as links
        inner join main_intermediate.int_identity_records_normalised as records using (record_key)
        where links.profile_id = '{profile_id}'
        """
    )
    found = {profile_id}
    for key, kind, _, record_id, email, phone, loyalty_id, crm_id in records:
        found |= {key} | ({record_id} if kind != "engagement" else set())
        # WhatsApp writes numbers without the '+': the digits alone find both.
        found |= {v for v in (email, phone and phone.lstrip("+"), loyalty_id, crm_id) if v}
    source_ids = [f"{system}:{record_id}" for _, kind, system, record_id, *_ in records if kind != "engagement"]
    with duckdb.connect(
        str(settings.WAREHOUSE_PATH),
        read_only=True,
        config={"extension_directory": os.environ["C360_DUCKDB_EXTENSION_DIR"]},
    ) as con:
        # The staging views read the raw zone: the local S3 server, as dbt's profile points it.
        con.execute("load httpfs")
        con.execute(
            f"create secret (type s3, key_id '{LOCAL_ACCESS_KEY}', "
            f"secret '{LOCAL_SECRET_KEY}', region '{REGION}', "
            f"endpoint '{os.environ['C360_S3_ENDPOINT']}', url_style 'path', use_ssl false)"
        )
        for email, phone in con.execute(AS_RECEIVED_SQL, {"ids": source_ids}).fetchall():
            found |= {v.strip() for v in (email, phone) if v and v.strip()}
    # Customer Profiles' own id for the profile.
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        found |= {p for (p,) in db.execute("select profile_id from profile_keys where key_value = ?", (profile_id,))}
    return {value.lower() for value in found}


def traces(identifiers: set[str], var_dir) -> list[tuple[str, str]]:
    """(place, identifier) for every identifier still found anywhere, case-insensitively."""
    found = []

    def check(place: str, text: str) -> None:
        text = text.lower()
        found.extend((place, identifier) for identifier in identifiers if identifier in text)

    s3 = s3_client()
    for bucket in (settings.LANDING_BUCKET, settings.RAW_BUCKET):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
                check(f"s3://{bucket}/{obj['Key']}", obj["Key"] + "\n" + data.decode("utf-8", "replace"))
    with duckdb.connect(str(settings.WAREHOUSE_PATH), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in relations:
            rows = con.execute(f'select t::varchar from "{schema}"."{table}" as t').fetchall()
            check(f"warehouse {schema}.{table}", "\n".join(row for (row,) in rows))
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        for (table,) in db.execute("select name from sqlite_master where type = 'table'").fetchall():
            if table != "suppressed_destinations":  # an erased address stays suppressed, on purpose
                check(f"customer_profiles.sqlite {table}", repr(db.execute(f"select * from {table}").fetchall()))
    return found


def test_erase_person_leaves_no_trace(stack, sample, var_dir):
    from airflow.dag_processing.dagbag import DagBag

    profile_id, email = warehouse_rows(PERSON_SQL)[0]
    identifiers = person_identifiers(profile_id, var_dir)
    # The check can fail: before the erasure the person is in every place it looks.
    places_before = {place.split("/")[0].split(" ")[0] for place, _ in traces(identifiers, var_dir)}
    assert places_before == {"s3:", "warehouse", "customer_profiles.sqlite"}
    assert len(identifiers) >= 6, identifiers
    links_before = dict(
        warehouse_rows(f"select record_key, profile_id from profile_links where profile_id != '{profile_id}'")
    )
    profiles_before = warehouse_rows("select count(*) from unified_profiles")[0][0]

    dagbag = DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags"))
    run = dagbag.dags["erase_person"].test(run_conf={"email": f" {email.upper()} ", "request_id": ERASURE_REQUEST})
    assert run.state == "success"

    assert traces(identifiers, var_dir) == []
    audit = warehouse_rows(
        "select requested_at, identifier_kind, identifier_hash, shared_identifiers_kept, profiles, customer_profiles, "
        "ses_suppressions_kept, registered, landing_lines, raw_rows, raw_manifests, warehouse_rows "
        f"from erasure_audit where request_id = '{ERASURE_REQUEST}'"
    )
    assert len(audit) == 1
    requested_at, kind, digest, shared, *counts = audit[0]
    assert requested_at == (run.logical_date or run.run_after).astimezone(UTC).replace(tzinfo=None)
    assert kind == "email" and shared == 0
    assert all(n > 0 for n in counts), counts
    # Keyed: not the plain hash of the address, which anyone could recompute.
    assert digest not in {hashlib.sha256(v.encode()).hexdigest() for v in (email, f"email:{email}")}
    # Their address stays on the SES suppression list: erased, they must not be mailed again.
    with sqlite3.connect(var_dir / "customer_profiles.sqlite") as db:
        assert db.execute("select count(*) from suppressed_destinations where email = ?", (email,)).fetchone() == (1,)

    # Rebuilding every hour from the erased raw zone passes the gate and brings nothing back.
    hours = discover_hours(s3_client(), settings.LANDING_BUCKET, streams.RAW_STREAMS)
    rebuild = dagbag.dags["build_warehouse"].test(
        logical_date=None,
        run_conf={"interval_start": hours[0].isoformat(), "interval_end": (hours[-1] + HOUR).isoformat()},
    )
    assert rebuild.state == "success"
    assert traces(identifiers, var_dir) == []
    # Only that person went: every other record keeps its profile, and one profile fewer.
    assert dict(warehouse_rows("select record_key, profile_id from profile_links")) == links_before
    assert warehouse_rows("select count(*) from unified_profiles") == [(profiles_before - 1,)]


def test_failed_quality_check_blocks_the_sync(stack, sample, var_dir, tmp_path):
    input_dir, _ = sample
    # An email sent to no email address: a record landing takes (it judges no addresses), data the gate
    # refuses. (An impossible time no longer reaches the gate: landing quarantines it, implausible_timestamp.)
    future = {
        "eventType": "Send",
        "mail": {
            "timestamp": "2026-11-20T01:00:00.000Z",
            "messageId": "future-1",
            "destination": ["new.person@example"],
            "source": "x@example.com",
        },
        "send": {},
    }
    path = tmp_path / "ses" / "2026" / "11" / "20" / "01" / "late.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(json.dumps(future).encode()))
    _copy_tree(input_dir, tmp_path)
    runs_before = warehouse_rows("select count(*) from customer_profiles_sync_runs")

    with pytest.raises(SystemExit, match="build_warehouse ended failed"):
        local.run.main(["--input", str(tmp_path)])

    # dbt built the bad row (so the build ran); the gate after it failed, and nothing was pushed.
    assert warehouse_rows("select count(*) from engagement_events where message_id = 'future-1'") == [(1,)]
    assert warehouse_rows("select count(*) from customer_profiles_sync_runs") == runs_before
    assert all("new.person@example" not in json.dumps(objects) for objects in endpoint_objects(var_dir).values())
