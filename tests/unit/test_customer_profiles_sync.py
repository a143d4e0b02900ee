"""The Customer Profiles sync against the local endpoint (real boto3 clients over HTTP) and
small DuckDB marts shaped like dbt's, under the object types' dbt models (as views, the SQL
dbt compiles): what arrives must equal the marts exactly."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import duckdb
import pandas as pd
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from include.settings import DBT_MANIFEST_PATH, PROJECT_ROOT
from include.sync import config, customer_profiles, engine, rate_limit, state, templates
from include.warehouse.seam import DuckDBWarehouse, WarehouseError
from local.profiles_endpoint import ProfilesEndpoint
from tests.unit.conftest import endpoint_client

DOMAIN = "d"
CHANNEL_METRICS = {
    "email": ["sends", "deliveries", "opens", "clicks"],
    "sms": ["sends", "deliveries"],
    "voice": ["sends", "deliveries"],
    "whatsapp": ["sends", "deliveries", "reads"],
}
COUNTERS = [f"{c}_{m}_{d}d" for c, metrics in CHANNEL_METRICS.items() for m in metrics for d in (30, 90)]
FAST = config.SyncSettings(concurrency=4, checkpoint_seconds=0.0)
LENIENT = config.SyncSettings(concurrency=2, checkpoint_seconds=0.0, max_rejected_share=1.0)  # never fails a run

MARTS_DDL = f"""
create table unified_profiles (
    profile_id varchar, first_name varchar, last_name varchar, birth_date date, email varchar, phone varchar,
    address_line1 varchar, address_line2 varchar, city varchar, postal_code varchar, state varchar,
    country varchar, loyalty_id varchar, emails varchar[], phones varchar[], source_kinds varchar[],
    source_record_count bigint, bookings_count bigint, last_booked_at timestamp, service_interactions_count bigint,
    {", ".join(f"{c} bigint" for c in COUNTERS)},
    last_open_at timestamp, last_click_at timestamp, preferred_channel varchar, best_send_hour integer,
    offers_received bigint, offers_viewed bigint, is_email_suppressed boolean, is_sms_opted_out boolean,
    segments varchar[]);
create table profile_offers (profile_id varchar, offer_name varchar, first_received_at timestamp, viewed boolean);
create table profile_merges (
    old_profile_id varchar, new_profile_id varchar, change_kind varchar, moved_records bigint,
    recorded_for timestamp);
create table engagement_event_outcomes (
    channel varchar, message_id varchar, destination_address varchar[], "timestamp" bigint, outcome varchar,
    campaign varchar);
create table message_last_status (
    channel varchar, message_id varchar, last_status varchar, last_outcome varchar, last_status_at bigint);
create table suppression_list (
    email_address varchar, reason varchar, first_suppressed_at bigint, last_event_at bigint,
    suppressing_events bigint);
"""
DAY_MS = 86_400_000
NOW_MS = 1_795_000_000_000


def profile(profile_id: str, **fields) -> dict:
    email, phone = f"{profile_id}@example.com", "+447700900" + str(sum(map(ord, profile_id)) % 1000).zfill(3)
    return {
        "profile_id": profile_id,
        "first_name": "Ann",
        "last_name": profile_id.title(),
        "birth_date": datetime(1980, 5, 17),
        "email": email,
        "phone": phone,
        "address_line1": "1 High St",
        "city": "Leeds",
        "country": "GB",
        "emails": [email],
        "phones": [phone],
        "source_kinds": ["crm", "web"],
        "source_record_count": 2,
        "email_sends_30d": 2,
        "email_sends_90d": 3,
        "email_opens_90d": 1,
        "sms_sends_90d": 1,
        "last_open_at": datetime(2026, 11, 19, 8, 30),
        "preferred_channel": "email",
        "best_send_hour": 8,
        "offers_received": 1,
        "offers_viewed": 0,
        "is_email_suppressed": False,
        "is_sms_opted_out": False,
        "segments": ["openers", "active"],
    } | fields


@dataclass
class Fetched:
    rows: list[tuple]

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None


class WarehouseFile:
    """The test's hand on the warehouse file: each statement opens it and closes it again, as the
    sync's DuckDBWarehouse does (read-only for its selects), so the two take turns on it."""

    def __init__(self, path: Path):
        self.path = path

    def execute(self, sql: str, params: list | None = None) -> Fetched:
        with duckdb.connect(str(self.path)) as con:
            cursor = con.execute(sql, params)
            return Fetched(cursor.fetchall() if cursor.description else [])

    def insert(self, table: str, rows: list[dict]) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.register("new_rows", pd.DataFrame(rows))
            con.execute(f"insert into {table} by name select * from new_rows")


class Marts:
    """The marts the sync reads, in a DuckDB file; each setter replaces a table's rows."""

    def __init__(self, con: WarehouseFile):
        self.con = con
        con.execute(MARTS_DDL)

    def _replace(self, table: str, rows: list[dict]) -> None:
        self.con.execute(f"delete from {table}")
        if rows:
            self.con.insert(table, rows)

    def profiles(self, *rows: dict) -> None:
        self._replace("unified_profiles", [{c: 0 for c in COUNTERS} | row for row in rows])

    def offers(self, *rows: tuple[str, str, bool]) -> None:
        self._replace(
            "profile_offers",
            [
                {"profile_id": p, "offer_name": o, "viewed": v, "first_received_at": datetime(2026, 11, 1)}
                for p, o, v in rows
            ],
        )

    def merge(self, old: str, new: str, day: int = 1) -> None:
        self.con.execute("insert into profile_merges values (?, ?, 'merge', 1, ?)", [old, new, datetime(2026, 11, day)])

    def messages(self, *rows: tuple[str, str, str, int]) -> None:
        """(message_id, channel, address, days before the newest event)."""
        self._replace(
            "engagement_event_outcomes",
            [
                {"channel": c, "message_id": m, "destination_address": [a], "timestamp": NOW_MS - d * DAY_MS,
                 "outcome": "sent", "campaign": "autumn"}
                for m, c, a, d in rows
            ],
        )  # fmt: skip
        self._replace(
            "message_last_status",
            [{"channel": c, "message_id": m, "last_outcome": "opened", "last_status_at": NOW_MS - d * DAY_MS + 1000}
             for m, c, _, d in rows],
        )  # fmt: skip


@pytest.fixture
def con(tmp_path, dbt_models):
    """The warehouse file with the sync's tables, made by their dbt models."""
    warehouse_file = WarehouseFile(tmp_path / "warehouse.duckdb")
    dbt_models(warehouse_file, *state.COLUMNS)
    return warehouse_file


@pytest.fixture
def wh(con) -> DuckDBWarehouse:
    """The same file as the sync reads and writes it."""
    return DuckDBWarehouse(con.path)


@pytest.fixture
def marts(con, dbt_models):
    made = Marts(con)
    dbt_models(con, *(templates.model_name(name) for name in config.OBJECT_TYPES))
    return made


@pytest.fixture
def cp(endpoint):
    client = endpoint_client(endpoint)
    templates.ensure_domain(client, DOMAIN)
    templates.ensure_domain(client, DOMAIN)  # idempotent
    templates.ensure_object_types(client, DOMAIN)
    return client


def sync_all(wh, client, run_id: str, settings: config.SyncSettings = FAST) -> dict[str, dict]:
    return {
        name: customer_profiles.sync_object_type(wh, client, DOMAIN, name, run_id, settings)
        for name in config.OBJECT_TYPES
    }


def endpoint_objects(endpoint: ProfilesEndpoint) -> dict[tuple[str, str], str]:
    """(object type, our object key) -> the object text the endpoint holds, for our object types."""
    with sqlite3.connect(endpoint.state_path) as db:
        rows = db.execute("select object_type, body from profile_objects").fetchall()
    objects = {}
    for type_name, body in rows:
        if type_name not in config.OBJECT_TYPES:
            continue
        key = "|".join(str(json.loads(body)[f]) for f in templates.load_object_type(type_name).unique_fields)
        assert (type_name, key) not in objects
        objects[type_name, key] = body
    return objects


def endpoint_profiles(endpoint: ProfilesEndpoint) -> dict[str, dict]:
    """AccountNumber (our profile_id) -> the profile's standard fields."""
    with sqlite3.connect(endpoint.state_path) as db:
        bodies = [json.loads(body) for (body,) in db.execute("select body from profiles")]
    assert len({b.get("AccountNumber") for b in bodies}) == len(bodies), "two profiles for one profile_id"
    return {b.get("AccountNumber"): b for b in bodies}


def requests(endpoint: ProfilesEndpoint) -> dict[tuple[str, str], int]:
    with sqlite3.connect(endpoint.state_path) as db:
        return {(op, outcome): n for op, outcome, n in db.execute("select * from request_counts")}


def warehouse_objects(wh, types=config.OBJECT_TYPES) -> dict[tuple[str, str], str]:
    return {(name, i.key): i.body for name in types for i in templates.load_object_type(name).items(wh)}


# -- templates and contract ------------------------------------------------------------------
@pytest.mark.parametrize("name", config.OBJECT_TYPES)
def test_templates_are_valid_object_types(name):
    object_type = templates.load_object_type(name)
    template = object_type.template
    assert re.match(r"customer360 v\d+: ", template["Description"])
    assert 1 <= template["ExpirationDays"] <= 1098 and len(template["Keys"]) <= 10
    for field_name, spec in template["Fields"].items():
        assert re.fullmatch(r"[a-zA-Z0-9_.-]{1,64}", field_name)
        assert spec["Source"] == f"_source.{field_name}"
    assert sum("UNIQUE" in k["StandardIdentifiers"] for keys in template["Keys"].values() for k in keys) == 1
    assert object_type.profile_field in object_type.unique_fields
    # Every type names its profile by the same key, so all of them land on one profile.
    profile_keys = [n for n, keys in template["Keys"].items() for k in keys if "PROFILE" in k["StandardIdentifiers"]]
    assert profile_keys == [config.PROFILE_KEY]
    assert template["AllowProfileCreation"] is (name == config.PROFILE_TYPE)


@pytest.mark.parametrize("name", config.OBJECT_TYPES)
def test_each_object_types_model_has_a_contract_of_exactly_its_fields(name):
    object_type = templates.load_object_type(name)
    nodes = json.loads(DBT_MANIFEST_PATH.read_text())["nodes"].values()
    (model,) = [node for node in nodes if node["resource_type"] == "model" and node["name"] == object_type.model]
    assert model["config"]["contract"]["enforced"] is True
    assert list(model["columns"]) == object_type.field_names
    assert all(column["data_type"] for column in model["columns"].values())


def test_columns_an_engine_lower_cased_are_read_as_the_templates_fields():
    object_type = templates.load_object_type("MarketingAssignedOffers")  # Athena lower-cases every name
    assert object_type.as_fields([f.lower() for f in object_type.field_names]) == object_type.field_names


def test_the_queries_read_the_contract_and_name_every_gap(marts, con, wh):
    templates.check_sources(wh, {"profile_merges": customer_profiles.MERGES_SQL})
    con.execute("alter table unified_profiles drop column email_opens_90d")
    con.execute("drop table profile_offers")
    with pytest.raises(engine.ContractError) as caught:
        templates.check_sources(wh, {"profile_merges": customer_profiles.MERGES_SQL})
    assert "EngagementSummary" in str(caught.value) and "email_opens_90d" in str(caught.value)
    assert "MarketingAssignedOffers" in str(caught.value) and "profile_offers" in str(caught.value)


def test_the_domain_task_checks_the_syncs_own_tables_too(marts, con, wh):
    from include.sync import tasks

    templates.check_sources(wh, tasks.SOURCES)
    con.execute("drop table customer_profiles_sync_log")
    with pytest.raises(engine.ContractError, match="customer_profiles_sync_log: .*does not exist"):
        templates.check_sources(wh, tasks.SOURCES)


def test_objects_omit_nulls_and_empties_and_sort_sets(marts, wh):
    marts.profiles(profile("ann", address_line2=None, state="", segments=["b", "a"], emails=["z@x.io", "a@x.io"]))
    (item,) = templates.load_object_type("UnifiedProfile").items(wh)
    body = json.loads(item.body)
    assert "address_line2" not in body and "state" not in body
    assert body["segments"] == "a,b" and body["emails"] == "a@x.io,z@x.io"
    assert body["birth_date"] == "1980-05-17" and body["last_open_at"] == "2026-11-19T08:30:00.000Z"
    assert body["is_email_suppressed"] is False and body["best_send_hour"] == 8


def test_a_message_to_two_of_a_profiles_addresses_is_one_interaction(marts, wh):
    marts.profiles(profile("ann", emails=["ann@example.com", "ann@work.example"]))
    marts.messages(("m1", "email", "ann@example.com", 1), ("m1", "email", "ann@work.example", 1))
    (item,) = templates.load_object_type("InteractionHistory").items(wh)
    assert item.key == "ann|email|m1"


def test_duplicate_object_keys_are_refused(endpoint, cp, marts, wh):
    marts.profiles(profile("ann"), profile("ann", city="York"))
    with pytest.raises(engine.ContractError, match="duplicate object keys"):
        customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run1", FAST)
    assert endpoint_profiles(endpoint) == {}


def test_bodies_read_through_the_seam_are_duckdbs_own_values_byte_for_byte(marts, con, wh):
    """Objects read through the warehouse seam hash as those read from DuckDB's cursor did, so
    nothing is sent again after the upgrade: nulls, empty strings, booleans, integers, text."""
    marts.profiles(
        profile("ann", address_line2=None, state="", is_email_suppressed=True, best_send_hour=0),
        profile("bob", first_name='Bób "B"', segments=[], email_clicks_90d=7, last_open_at=None),
    )
    marts.offers(("ann", "autumn", True), ("bob", "winter", False))
    marts.messages(("m1", "email", "ann@example.com", 1), ("m2", "sms", "+447700900123", 2))
    for name in config.OBJECT_TYPES:
        object_type = templates.load_object_type(name)
        with duckdb.connect(str(con.path), read_only=True) as duck:
            cursor = duck.execute(object_type.sql(wh))
            columns = object_type.as_fields([d[0] for d in cursor.description])
            from_cursor = [object_type.item(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]
        assert object_type.items(wh) == from_cursor and from_cursor, name


def test_the_sync_tables_are_dbt_models_of_the_columns_the_engine_writes():
    nodes = json.loads(DBT_MANIFEST_PATH.read_text())["nodes"].values()
    models = {node["name"]: node for node in nodes if node["resource_type"] == "model"}
    for table, columns in state.COLUMNS.items():
        model = models[table]
        assert {c["name"]: c["data_type"] for c in model["columns"].values()} == columns
        assert model["config"]["contract"]["enforced"] is True
        assert model["config"]["materialized"] == "incremental" and model["config"]["full_refresh"] is False
        assert model["config"]["on_schema_change"] == "append_new_columns"
        assert model["config"]["table_type"] == "iceberg"  # on Athena; dbt-duckdb ignores it


class Recording:
    """The warehouse, and every statement the sync wrote through it."""

    def __init__(self, wh: DuckDBWarehouse):
        self.wh, self.engine, self.relation, self.query_df = wh, wh.engine, wh.relation, wh.query_df
        self.written: list[list[str]] = []

    def execute(self, sql, params=()):
        self.written.append([sql])
        return self.wh.execute(sql, params)

    def execute_many(self, statements):
        self.written.append([sql for sql, _ in statements])
        self.wh.execute_many(statements)


def test_a_checkpoint_writes_state_then_log_then_run_in_bounded_statements(con, wh):
    items = offer_items(250)
    refused = {"u01", "u02"}
    client = ItemResults(lambda user: 400 if user in refused else 200)
    client.message = "x" * 5000  # a long error message is cut, so a statement stays short
    recording = Recording(wh)
    settings = config.SyncSettings(concurrency=1, checkpoint_seconds=3600, max_rejected_share=1.0)

    summary = engine.Sync(recording, offers_target(client), "run1", settings).run(items)

    assert (summary["sent"], summary["failed"]) == (248, 2)
    (start,), checkpoint = recording.written  # the run's row, then one checkpoint at the end
    assert start.startswith("insert into") and "customer_profiles_sync_runs" in start
    kinds = [" ".join(re.match(r'(\w+) (?:into |from )?("[^"]+"\."[^"]+")', sql).groups()) for sql in checkpoint]
    assert kinds == [f"merge {wh.relation(state.STATE)}"] * 3 + [f"insert {wh.relation(state.LOG)}"] * 3 + [
        f"update {wh.relation(state.RUNS)}"
    ]
    assert all(len(sql) < 262_144 // 2 for sql in checkpoint)
    assert con.execute("select count(*) from customer_profiles_sync_state").fetchone() == (250,)
    messages = con.execute("select error_message from customer_profiles_sync_log where status = 'failed'").fetchall()
    assert [len(m) for (m,) in messages] == [state.MAX_ERROR_MESSAGE] * 2


class HeldCheckpoints(Recording):
    """The warehouse, whose first checkpoint's write waits until ``until`` is set (10 s at most)."""

    def __init__(self, wh: DuckDBWarehouse, until: threading.Event):
        super().__init__(wh)
        self.until, self.released = until, []

    def execute_many(self, statements):
        if not self.released:
            self.released.append(self.until.wait(timeout=10))
        super().execute_many(statements)


class FailingCheckpoints(Recording):
    """The warehouse, whose first ``failing`` checkpoint writes fail."""

    def __init__(self, wh: DuckDBWarehouse, failing: int):
        super().__init__(wh)
        self.failing, self.writes = failing, 0

    def execute_many(self, statements):
        self.writes += 1
        if self.writes <= self.failing:
            raise WarehouseError("the warehouse is busy")
        super().execute_many(statements)


def test_sending_goes_on_while_a_checkpoint_is_written(con, wh):
    client = ItemResults(lambda user: 200)
    every_batch_sent = threading.Event()
    put = client.batch_put_profile_object

    def put_and_count(**kwargs):
        results = put(**kwargs)
        if client.batches == 30:
            every_batch_sent.set()
        return results

    client.batch_put_profile_object = put_and_count
    held = HeldCheckpoints(wh, until=every_batch_sent)
    settings = config.SyncSettings(concurrency=1, checkpoint_seconds=0.0)

    summary = engine.Sync(held, offers_target(client), "run1", settings).run(offer_items(300))

    assert summary["sent"] == 300
    # The first checkpoint's write was held until every batch had gone out: had the sends waited
    # for it, that never happens (it gives up after 10 s).
    assert held.released == [True]
    assert con.execute("select count(*), count(distinct object_key) from customer_profiles_sync_log").fetchone() == (
        300,
        300,
    )


def test_what_a_failed_checkpoint_held_is_written_by_the_next_and_the_run_fails(con, wh):
    client = ItemResults(lambda user: 200)
    failing_once = FailingCheckpoints(wh, failing=1)
    settings = config.SyncSettings(concurrency=1, checkpoint_seconds=0.0)

    with pytest.raises(WarehouseError, match="busy"):
        engine.Sync(failing_once, offers_target(client), "run1", settings).run(offer_items(100))

    # The failure surfaced at the next checkpoint. Every object sent is recorded, once: nothing the
    # failed write held was lost or doubled.
    sent = [item.key for item in offer_items(100)][: 10 * client.batches]
    assert len(sent) >= 10 and failing_once.writes >= 2
    assert sync_state(con) == [(key, True, None, 0, False) for key in sent]
    assert con.execute("select count(*), count(distinct object_key) from customer_profiles_sync_log").fetchone() == (
        len(sent),
        len(sent),
    )


def test_a_template_change_changes_every_hash(marts, wh):
    marts.profiles(profile("ann"))
    object_type = templates.load_object_type("UnifiedProfile")
    changed = templates.ObjectType(
        object_type.name, object_type.template | {"Description": "customer360 v2: x"}, object_type.model
    )
    assert object_type.items(wh)[0].body == changed.items(wh)[0].body
    assert object_type.items(wh)[0].content_hash != changed.items(wh)[0].content_hash


# -- pushing ---------------------------------------------------------------------------------
def test_first_run_pushes_exactly_the_marts_and_a_rerun_sends_nothing(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"), profile("bob", sms_sends_90d=0, whatsapp_sends_90d=4, whatsapp_reads_30d=2))
    marts.offers(("ann", "autumn", True), ("ann", "winter", False), ("bob", "autumn", False))
    marts.messages(("m1", "email", "ann@example.com", 1), ("m2", "email", "ANN@example.com", 100))
    first = sync_all(wh, cp, "run1")
    assert {n: s["sent"] for n, s in first.items()} == {
        "UnifiedProfile": 2,
        "EngagementSummary": 4,  # ann: email, sms; bob: email, whatsapp
        "MarketingAssignedOffers": 3,
        "InteractionHistory": 1,  # m2 is older than 90 days before the newest event
    }
    assert endpoint_objects(endpoint) == warehouse_objects(wh)
    profiles = endpoint_profiles(endpoint)
    assert set(profiles) == {"ann", "bob"}
    ann = profiles["ann"]
    assert (ann["FirstName"], ann["EmailAddress"], ann["Address"]["City"]) == ("Ann", "ann@example.com", "Leeds")
    assert ann["Attributes"]["segments"] == "active,openers" and ann["Attributes"]["preferred_channel"] == "email"

    before = requests(endpoint)
    again = sync_all(wh, cp, "run2")
    assert requests(endpoint) == before  # not one request
    assert all(s["sent"] == 0 and s["unchanged"] == s["considered"] for s in again.values())
    runs = con.execute("select run_id, sum(sent) from customer_profiles_sync_runs group by 1 order by 1").fetchall()
    assert runs == [("run1", 10), ("run2", 0)]


def test_only_changed_objects_are_sent_and_removed_ones_deleted(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"), profile("bob"))
    marts.offers(("ann", "autumn", False), ("ann", "winter", False))
    sync_all(wh, cp, "run1")
    marts.profiles(profile("ann", city="York"), profile("bob"))
    marts.offers(("ann", "autumn", True))
    second = sync_all(wh, cp, "run2")
    assert (second["UnifiedProfile"]["sent"], second["UnifiedProfile"]["unchanged"]) == (1, 1)
    assert (second["MarketingAssignedOffers"]["sent"], second["MarketingAssignedOffers"]["considered"]) == (2, 2)
    operations = con.execute(
        "select object_type, object_key, operation from customer_profiles_sync_log where run_id = 'run2' order by all"
    ).fetchall()
    assert operations == [
        ("MarketingAssignedOffers", "ann|autumn", "put"),
        ("MarketingAssignedOffers", "ann|winter", "delete"),
        ("UnifiedProfile", "ann", "put"),
    ]
    assert endpoint_objects(endpoint) == warehouse_objects(wh)
    assert endpoint_profiles(endpoint)["ann"]["Address"]["City"] == "York"


def test_merged_profile_is_merged_in_customer_profiles_with_what_others_attached(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"), profile("bob"), profile("cat"))
    marts.offers(("bob", "autumn", True))
    sync_all(wh, cp, "run1")
    # An object we do not own (a contact record) attached to bob's profile by another integration.
    cp.put_profile_object_type(
        DomainName=DOMAIN,
        ObjectTypeName="ContactRecord",
        Description="not ours",
        Fields={"account": {"Source": "_source.account"}, "contact_id": {"Source": "_source.contact_id"}},
        Keys={
            "profile_id": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["account"]}],
            "contact": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["contact_id"]}],
        },
    )
    cp.put_profile_object(
        DomainName=DOMAIN, ObjectTypeName="ContactRecord", Object=json.dumps({"account": "bob", "contact_id": "c1"})
    )
    # bob's records join ann (recorded twice: bob -> cat first, later bob -> ann); cat is gone for good.
    marts.merge("bob", "cat", day=1)
    marts.merge("bob", "ann", day=2)
    marts.profiles(profile("ann", source_record_count=4))
    marts.offers(("ann", "autumn", True))
    summary = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run2", FAST)
    assert (summary["sent"], summary["considered"]) == (3, 3)  # ann's update, bob merged, cat deleted
    log = con.execute(
        "select object_key, operation, status from customer_profiles_sync_log where run_id = 'run2' order by 1"
    ).fetchall()
    assert log == [("ann", "put", "sent"), ("bob", "merge", "sent"), ("cat", "delete_profile", "sent")]
    sync_all(wh, cp, "run3")

    profiles = endpoint_profiles(endpoint)
    assert set(profiles) == {"ann"}
    ann = profiles["ann"]["ProfileId"]
    found = cp.search_profiles(DomainName=DOMAIN, KeyName="profile_id", Values=["bob"])["Items"]
    assert [p["ProfileId"] for p in found] == [ann]  # bob's id now finds ann's profile
    contacts = cp.list_profile_objects(DomainName=DOMAIN, ObjectTypeName="ContactRecord", ProfileId=ann)["Items"]
    assert [json.loads(c["Object"])["contact_id"] for c in contacts] == ["c1"]  # kept by the merge
    assert endpoint_objects(endpoint) == warehouse_objects(wh)  # bob's own objects were deleted after the merge
    assert con.execute(
        "select count(*) from customer_profiles_sync_state where profile_id in ('bob', 'cat')"
    ).fetchone() == (0,)


def test_merge_waits_for_its_target_to_be_pushed(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"))
    sync_all(wh, cp, "run1")
    # ann joins dan, whose own push is refused (an attribute over 255 characters).
    marts.profiles(profile("dan", loyalty_id="x" * 300))
    marts.merge("ann", "dan")
    summary = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run2", LENIENT)
    assert (summary["sent"], summary["failed"]) == (0, 2)
    reasons = dict(
        con.execute("select object_key, error_code from customer_profiles_sync_log where run_id = 'run2'").fetchall()
    )
    assert reasons == {"dan": "AttributeTooLong", "ann": "MergeTargetNotPushed"}
    assert set(endpoint_profiles(endpoint)) == {"ann"}  # nothing merged, nothing lost
    marts.profiles(profile("dan"))
    customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run3", FAST)
    assert set(endpoint_profiles(endpoint)) == {"dan"}


def test_dependent_objects_wait_for_their_profile(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"), profile("eve", loyalty_id="x" * 300))
    sync_all(wh, cp, "run1", LENIENT)
    waiting = con.execute(
        "select object_key, error_code, attempt from customer_profiles_sync_log "
        "where object_type = 'EngagementSummary' and status = 'failed'"
    ).fetchall()
    assert sorted(waiting) == [("eve|email", "ProfileNotPushed", 0), ("eve|sms", "ProfileNotPushed", 0)]
    assert ("EngagementSummary", "eve|email") not in endpoint_objects(endpoint)
    marts.profiles(profile("ann"), profile("eve"))
    second = sync_all(wh, cp, "run2", LENIENT)
    assert second["EngagementSummary"]["sent"] == 2
    assert endpoint_objects(endpoint) == warehouse_objects(wh)


def test_rejected_rows_are_retried_then_dead_lettered_and_alerted(endpoint, cp, marts, con, caplog, wh):
    bad = profile("eve", loyalty_id="x" * 300)
    marts.profiles(profile("ann"), bad)
    results = [customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", f"run{i}", LENIENT) for i in (1, 2)]
    assert [(r["failed"], r["dead_lettered"]) for r in results] == [(1, 0), (1, 0)]
    with caplog.at_level(logging.ERROR, logger="customer360.alerts"):
        third = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run3", LENIENT)
    assert (third["failed"], third["dead_lettered"]) == (0, 1)
    assert "dead-lettered" in caplog.text and "eve" in caplog.text
    fourth = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run4", LENIENT)
    assert (fourth["considered"], fourth["unchanged"], fourth["dead_lettered"]) == (2, 1, 1)
    attempts = con.execute(
        "select run_id, status, attempt from customer_profiles_sync_log where object_key = 'eve' order by run_id"
    ).fetchall()
    assert attempts == [("run1", "failed", 1), ("run2", "failed", 2), ("run3", "dead_lettered", 3)]
    # New content is tried again.
    marts.profiles(profile("ann"), profile("eve", loyalty_id="L1"))
    assert customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run5", LENIENT)["sent"] == 1


def test_per_item_results_of_a_batch(endpoint, cp):
    target = customer_profiles.ProfileObjects(cp, DOMAIN, templates.load_object_type("MarketingAssignedOffers"))
    good = engine.Item("a|x", "a", json.dumps({"UserId": "a", "offerName": "x"}), "h1")
    no_key = engine.Item("b|?", "b", json.dumps({"UserId": "b"}), "h2")  # the endpoint finds no UNIQUE value
    outcomes = target.put([good, no_key])
    assert [(o.key, o.ok) for o in outcomes] == [("a|x", True), ("b|?", False)]
    assert outcomes[0].unique_key and outcomes[1].error_code == "400" and "UNIQUE" in outcomes[1].error_message
    assert not outcomes[1].transient


def test_a_run_over_the_rejected_share_fails_after_logging(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"), profile("eve", loyalty_id="x" * 300))
    with pytest.raises(engine.SyncRejected, match="1 of 2"):
        customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run1", FAST)
    assert con.execute("select count(*) from customer_profiles_sync_log").fetchone() == (2,)
    row = con.execute("select sent, failed, finished_at is not null from customer_profiles_sync_runs").fetchone()
    assert row == (1, 1, True)


def test_mass_deletion_is_refused_before_anything_is_sent(endpoint, cp, marts, wh):
    marts.profiles(*(profile(f"p{i:03}") for i in range(config.DELETE_GUARD_FLOOR + 20)))
    customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run1", FAST)
    marts.profiles(profile("p000"))
    before = requests(endpoint)
    with pytest.raises(engine.SyncRefused, match="max_delete_share"):
        customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run2", FAST)
    assert requests(endpoint) == before
    assert len(endpoint_profiles(endpoint)) == config.DELETE_GUARD_FLOOR + 20


def test_objects_near_expiry_are_sent_again(endpoint, cp, marts, con, wh):
    marts.profiles(profile("ann"), profile("bob"))
    customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run1", FAST)
    expiry = templates.load_object_type("UnifiedProfile").expires_after
    con.execute(
        "update customer_profiles_sync_state set pushed_at = pushed_at - ?::interval where object_key = 'ann'",
        [f"{(expiry - timedelta(days=6)).days} days"],
    )
    summary = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run2", FAST)
    assert (summary["sent"], summary["unchanged"]) == (1, 1)


def test_merge_chains_resolve_to_a_live_profile(marts, wh):
    marts.merge("a", "b", day=1)
    marts.merge("b", "c", day=2)
    marts.merge("x", "y", day=1)  # y is gone too, and merged nowhere: x is deleted
    assert customer_profiles.merge_targets(wh, live={"c"}) == {"a": "c", "b": "c"}


# -- rate ----------------------------------------------------------------------------------
def test_rate_limiter_spaces_requests(monkeypatch):
    slept = []
    monkeypatch.setattr(rate_limit.time, "sleep", slept.append)
    limiter = rate_limit.AdaptiveRateLimiter(10)
    for _ in range(5):
        limiter.acquire()
    # The clock hardly moves here, so each request waits for its own slot: 0.1 s apart.
    assert slept == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=0.01)


def test_rate_limiter_backs_off_on_throttling_and_recovers():
    limiter = rate_limit.AdaptiveRateLimiter(100)
    for _ in range(10):
        limiter.record(throttled=True)
    assert limiter.rate == pytest.approx(100 * 0.95**10)
    for _ in range(100):
        limiter.record(throttled=False)
    assert limiter.rate == 100  # never above the ceiling
    # One throttle in ten leaves it at the ceiling; one in three brings it well below.
    for pattern, expected in (([True] + [False] * 9, (95, 100)), ([True, False, False], (20, 60))):
        for throttled in pattern * 200:
            limiter.record(throttled)
        assert expected[0] <= limiter.rate <= expected[1]


def test_throttled_requests_are_retried_and_slow_the_rate(tmp_path, marts, wh):
    server = ProfilesEndpoint(tmp_path / "throttled.sqlite", throttle_rate=0.25, seed=2).start()
    try:
        client = boto3.client("customer-profiles", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="k", aws_secret_access_key="s",
                              config=Config(retries={"mode": "standard", "max_attempts": 10}))  # fmt: skip
        templates.ensure_domain(client, DOMAIN)
        templates.ensure_object_types(client, DOMAIN)
        limiter = rate_limit.AdaptiveRateLimiter(200).attach(client)
        marts.profiles(*(profile(f"p{i:02}") for i in range(40)))
        summary = customer_profiles.sync_object_type(wh, client, DOMAIN, "UnifiedProfile", "run1", FAST)
        assert summary["sent"] == 40
        assert endpoint_objects(server) == warehouse_objects(wh, ["UnifiedProfile"])
        counts = requests(server)
        assert counts["BatchPutProfileObject", "throttled"] == limiter.throttled > 0
        assert limiter.requests == 4 + limiter.throttled and limiter.rate < 200
    finally:
        server.stop()


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("C360_SYNC_REQUESTS_PER_SECOND", "25")
    monkeypatch.setenv("C360_SYNC_MAX_ATTEMPTS", "5")
    settings = config.SyncSettings.from_env()
    assert (settings.requests_per_second, settings.max_attempts, settings.concurrency) == (25.0, 5, 16)


# -- resumability ------------------------------------------------------------------------------
class Killed(BaseException):
    """What a kill looks like from inside: not an Exception, nothing may swallow it."""


def test_an_interrupted_sync_resumes_without_duplicates_or_losses(endpoint, cp, marts, con, wh):
    marts.profiles(*(profile(f"p{i:03}") for i in range(95)))
    client = endpoint_client(endpoint)
    sent_items: list[str] = []

    def on_send(request, **kwargs):
        if len(sent_items) >= 40:
            raise Killed
        sent_items.extend(item["Id"] for item in json.loads(request.body)["Items"])

    client.meta.events.register("before-send.customer-profiles.BatchPutProfileObject", on_send)
    with pytest.raises(Killed):
        customer_profiles.sync_object_type(
            wh, client, DOMAIN, "UnifiedProfile", "run1", config.SyncSettings(concurrency=3, checkpoint_seconds=60)
        )
    first = len(sent_items)
    assert 40 <= first < 95
    recorded = con.execute("select count(*) from customer_profiles_sync_state").fetchone()[0]
    assert recorded == first  # everything that went out was recorded, though no checkpoint was due

    summary = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run2", FAST)
    assert (summary["sent"], summary["unchanged"]) == (95 - first, first)
    sent = con.execute(
        "select object_key, count(*) from customer_profiles_sync_log where status = 'sent' group by 1"
    ).fetchall()
    assert len(sent) == 95 and {n for _, n in sent} == {1}  # each object sent once
    assert requests(endpoint)["BatchPutProfileObject", "ok"] == first // 10 + -(-(95 - first) // 10)
    assert endpoint_objects(endpoint) == warehouse_objects(wh, ["UnifiedProfile"])  # nothing lost
    assert len(endpoint_profiles(endpoint)) == 95


def test_a_sync_killed_with_sigkill_resumes_exactly(endpoint, cp, marts, con, wh):
    marts.profiles(*(profile(f"p{i:04}") for i in range(1500)))
    script = textwrap.dedent(f"""
        import boto3
        from include.sync import config, customer_profiles, rate_limit
        from include.warehouse.seam import DuckDBWarehouse
        client = boto3.client("customer-profiles", endpoint_url="{endpoint.url}", region_name="us-east-1",
                              aws_access_key_id="k", aws_secret_access_key="s")
        rate_limit.AdaptiveRateLimiter(100).attach(client)
        settings = config.SyncSettings(concurrency=4, checkpoint_seconds=0.2)
        wh = DuckDBWarehouse({str(con.path)!r})
        customer_profiles.sync_object_type(wh, client, "{DOMAIN}", "UnifiedProfile", "killed", settings)
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    )
    deadline = time.monotonic() + 60
    while requests(endpoint).get(("BatchPutProfileObject", "ok"), 0) < 40:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    time.sleep(0.2)  # a request the child had fully sent may still be being answered
    killed_sent = requests(endpoint)["BatchPutProfileObject", "ok"] * 10
    assert killed_sent < 1500

    recorded = con.execute("select count(*) from customer_profiles_sync_state").fetchone()[0]  # WAL replayed
    assert 0 < recorded <= killed_sent
    summary = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "resumed", FAST)
    assert summary["sent"] == 1500 - recorded and summary["unchanged"] == recorded
    expected = warehouse_objects(wh, ["UnifiedProfile"])
    assert endpoint_objects(endpoint) == expected
    assert len(endpoint_profiles(endpoint)) == 1500
    # Sent again: only what the killed run sent after its last checkpoint (~0.2 s at 100 requests/s).
    resent = requests(endpoint)["BatchPutProfileObject", "ok"] * 10 - 1500
    assert resent == killed_sent - recorded <= 400


# -- outages -----------------------------------------------------------------------------------
def sync_state(con) -> list[tuple]:
    return con.execute(
        "select object_key, content_hash is not null, failed_hash, attempts, dead_lettered "
        "from customer_profiles_sync_state order by 1"
    ).fetchall()


def test_an_outage_stops_the_run_at_once_counts_no_attempt_and_the_next_run_sends_the_rest(
    endpoint, cp, marts, con, wh
):
    marts.profiles(*(profile(f"p{i:03}") for i in range(300)))
    settings = config.SyncSettings(concurrency=2, checkpoint_seconds=60)  # recorded by the stop, not a checkpoint
    client = endpoint_client(endpoint)
    batches = []
    counting = threading.Lock()

    def expire_after_five_batches(request, **kwargs):
        # Under the lock, the other thread's next batch waits until the flag is written: without it, that batch
        # could be counted seventh yet reach the endpoint before the outage began.
        with counting:
            batches.append(request)
            if len(batches) == 6:
                endpoint.start_outage("ExpiredTokenException")

    client.meta.events.register("before-send.customer-profiles.BatchPutProfileObject", expire_after_five_batches)
    with pytest.raises(engine.TargetUnavailable) as caught:
        customer_profiles.sync_object_type(wh, client, DOMAIN, "UnifiedProfile", "run1", settings)
    message = str(caught.value)
    assert "UnifiedProfile" in message and "ExpiredTokenException" in message and "run1" in message
    assert not re.search(r"p\d{3}|@", message)  # no object named
    counts = requests(endpoint)
    accepted = counts["BatchPutProfileObject", "ok"]
    assert 4 <= accepted <= 5  # the fifth may still have been on its way when the outage began
    assert counts["BatchPutProfileObject", "ExpiredTokenException"] <= 2 * settings.concurrency  # not the other 25
    # What went out before the outage is recorded; nothing counted against any object.
    assert sync_state(con) == [(key, True, None, 0, False) for key in sorted(endpoint_profiles(endpoint))]
    assert len(endpoint_profiles(endpoint)) == 10 * accepted
    assert con.execute("select status, count(*) from customer_profiles_sync_log group by 1").fetchall() == [
        ("sent", 10 * accepted)
    ]

    for run in ("run2", "run3", "run4"):  # more runs than max_attempts while the outage lasts
        with pytest.raises(engine.TargetUnavailable):
            customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", run, FAST)
    assert len(sync_state(con)) == 10 * accepted and all(attempts == 0 for *_, attempts, _ in sync_state(con))

    endpoint.outage_flag.unlink()
    summary = customer_profiles.sync_object_type(wh, cp, DOMAIN, "UnifiedProfile", "run5", FAST)
    assert (summary["sent"], summary["unchanged"], summary["failed"], summary["dead_lettered"]) == (
        300 - 10 * accepted, 10 * accepted, 0, 0,
    )  # fmt: skip
    assert endpoint_objects(endpoint) == warehouse_objects(wh, ["UnifiedProfile"])
    assert len(endpoint_profiles(endpoint)) == 300


def test_removals_stop_on_an_outage_too(endpoint, cp, marts, wh):
    marts.profiles(profile("ann"), profile("bob"))
    marts.offers(("ann", "autumn", False), ("bob", "autumn", False))
    sync_all(wh, cp, "run1")
    marts.offers(("ann", "autumn", False))
    endpoint.outage_flag.touch()
    with pytest.raises(engine.TargetUnavailable, match="MarketingAssignedOffers: AccessDeniedException on delete"):
        customer_profiles.sync_object_type(wh, cp, DOMAIN, "MarketingAssignedOffers", "run2", FAST)
    endpoint.outage_flag.unlink()
    assert customer_profiles.sync_object_type(wh, cp, DOMAIN, "MarketingAssignedOffers", "run3", FAST)["sent"] == 1
    assert endpoint_objects(endpoint) == warehouse_objects(wh)


class ItemResults:
    """A Customer Profiles client whose batches answer each item with the status ``status_of(key)`` gives."""

    def __init__(self, status_of):
        self.status_of, self.batches, self.message = status_of, 0, None

    def batch_put_profile_object(self, DomainName, ObjectTypeName, Items):  # noqa: N803 - boto3's names
        self.batches += 1
        results = {"Successful": [], "Failed": []}
        for item in Items:
            status = self.status_of(json.loads(item["Object"])["UserId"])
            if status == 200:
                results["Successful"].append({"Id": item["Id"], "ProfileObjectUniqueKey": item["Id"]})
            else:
                message = self.message or f"status {status}"
                results["Failed"].append({"Id": item["Id"], "Code": status, "Message": message})
        return results


def offer_items(count: int) -> list[engine.Item]:
    bodies = [json.dumps({"UserId": f"u{i:02}", "offerName": "x"}) for i in range(count)]
    return [engine.Item(f"u{i:02}|x", f"u{i:02}", body, engine.content_hash(body)) for i, body in enumerate(bodies)]


def test_per_item_server_errors_count_no_attempt_and_refusals_do(con, wh):
    items = offer_items(3)
    mixed = ItemResults(lambda user: {"u00": 400, "u01": 503}.get(user, 200))
    summary = engine.Sync(wh, offers_target(mixed), "run1", LENIENT).run(items)
    assert (summary["sent"], summary["failed"]) == (1, 2)
    assert sync_state(con) == [
        ("u00|x", False, items[0].content_hash, 1, False),
        ("u01|x", False, items[1].content_hash, 0, False),
        ("u02|x", True, None, 0, False),
    ]


def offers_target(client) -> customer_profiles.ProfileObjects:
    return customer_profiles.ProfileObjects(client, DOMAIN, templates.load_object_type("MarketingAssignedOffers"))


def test_per_item_throttling_counts_no_attempt_nor_toward_the_rejected_share(con, wh):
    items = offer_items(20)
    throttled = ItemResults(lambda user: 200 if user == "u00" else 429)  # 19 of 20 items, every run
    for run in range(5):  # more runs than max_attempts
        summary = engine.Sync(wh, offers_target(throttled), f"run{run}", FAST).run(items)  # under 5 % rejected
        assert (summary["sent"], summary["failed"], summary["dead_lettered"]) == (1 if run == 0 else 0, 19, 0)
    assert sync_state(con)[1:] == [(i.key, False, i.content_hash, 0, False) for i in items[1:]]
    summary = engine.Sync(wh, offers_target(ItemResults(lambda user: 200)), "run5", FAST).run(items)
    assert (summary["sent"], summary["unchanged"], summary["dead_lettered"]) == (19, 1, 0)


def test_a_forbidden_item_stops_the_run_and_keeps_its_batchs_successes(con, wh):
    items = offer_items(30)
    forbidden = ItemResults(lambda user: 403 if user == "u05" else 200)
    with pytest.raises(engine.TargetUnavailable, match="MarketingAssignedOffers: 403 on put"):
        engine.Sync(wh, offers_target(forbidden), "run1", config.SyncSettings(concurrency=1)).run(items)
    assert forbidden.batches <= 2  # stopped at once: only a batch already in flight went out after it
    state = sync_state(con)
    # The forbidden batch's other items, and a batch that finished meanwhile, are recorded; nothing failed.
    sent = [i.key for i in items[: 10 * forbidden.batches] if i.key != "u05|x"]
    assert state == [(key, True, None, 0, False) for key in sent]


@pytest.mark.parametrize(
    "error,unavailable,transient",
    [
        (ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutProfileObject"), True, False),
        (ClientError({"Error": {"Code": "UnrecognizedClientException", "Message": "no"}}, "PutProfileObject"),
         True, False),
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutProfileObject"), False, True),
        (ClientError({"Error": {"Code": "BadRequestException", "Message": "bad"}}, "PutProfileObject"), False, False),
        (NoCredentialsError(), True, False),
        (EndpointConnectionError(endpoint_url="https://profile.example/a@example.com"), True, False),
        (ReadTimeoutError(endpoint_url="https://profile.example"), False, True),
    ],
)  # fmt: skip
def test_which_errors_are_the_accounts(error, unavailable, transient):
    outcome = engine.failure("k", "put", error)
    assert (outcome.unavailable, outcome.transient, outcome.ok) == (unavailable, transient, False)
    code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
    assert outcome.error_code == code
    if unavailable:  # the code alone: a message or URL may name the object
        assert outcome.error_message is None
