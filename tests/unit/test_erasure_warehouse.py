"""Erasure's warehouse part through the seam, on DuckDB and on Athena (the local Athena endpoint over
the same file, real botocore clients): resolution, the person's rows deleted by key from the tables
builds keep, the audit row, the interval to rebuild. Every statement passes the Trino check the
Athena-compiled models pass (local/athena_endpoint.py's trino_problems), on either engine."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime

import duckdb
import pytest
import yaml

from include import settings
from include.erasure.audit import AUDIT_TABLE, AUDIT_TYPES, AuditRow, erase_warehouse, rebuild_interval, recorded
from include.erasure.request import ErasureRequestError, Request
from include.erasure.resolution import MODELS, Person, resolve
from include.erasure.tasks import check_request
from include.sync import state as sync_state
from include.warehouse.athena import AthenaWarehouse
from include.warehouse.seam import DuckDBWarehouse, Warehouse
from local.athena_endpoint import AthenaEndpoint, trino_problems
from tests.unit.test_erasure import EMAIL, OTHER_PHONE, PHONE, build_warehouse
from tests.unit.test_warehouse_seam import RESULTS, s3_server, use_connection  # noqa: F401 - s3_server: a fixture

AUDIT_YML = settings.DBT_PROJECT_DIR / "models" / "erasure" / f"{AUDIT_TABLE}.yml"
TABLES = (*MODELS, *sync_state.COLUMNS, AUDIT_TABLE, "landing_reconciliation")
LAST_BUILT = datetime(2026, 11, 20, 14)
STATE_ROWS = [  # object_type, object_key, profile_id
    ("UnifiedProfile", "p-ana-1", "p-ana-1"),
    ("InteractionHistory", "p-ana-1|email|m1", "p-ana-1"),
    ("SesSuppressedDestination", EMAIL, None),
    ("UnifiedProfile", "p-ana-10", "p-ana-10"),  # a neighbour whose id starts with hers
    ("UnifiedProfile", "p-bo-1", "p-bo-1"),
]
LOG_KEYS = ["p-ana-1", "p-ana-1|email|m1", "p-old-1", EMAIL, "p-ana-10", "p-ana-10|email|m2", "p-bo-1"]


def manifest(path, schema: str):
    node = {"resource_type": "model", "schema": schema}
    nodes = {f"model.customer360.{name}": node | {"name": name, "alias": name} for name in TABLES}
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def create_audit_table(con) -> None:
    """The erasure_audit table as its model's contract declares it (what dbt creates)."""
    columns = yaml.safe_load(AUDIT_YML.read_text())["models"][0]["columns"]
    declared = ", ".join(f"{column['name']} {column['data_type']}" for column in columns)
    con.execute(f"create table {AUDIT_TABLE} ({declared})")


class TrinoChecked:
    """A warehouse that holds every statement sent through it to Trino SQL before running it."""

    def __init__(self, wh: Warehouse):
        self.wh, self.engine, self.statements = wh, wh.engine, []

    def relation(self, model: str) -> str:
        return self.wh.relation(model)

    def _check(self, sql: str) -> None:
        self.statements.append(sql)
        assert not trino_problems(sql), sql

    def query_df(self, sql, params=()):
        self._check(sql)
        return self.wh.query_df(sql, params)

    def execute(self, sql, params=()):
        self._check(sql)
        return self.wh.execute(sql, params)


@pytest.fixture
def warehouse_file(tmp_path, dbt_models):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        build_warehouse(con, dbt_models)
        dbt_models(con, *sync_state.COLUMNS)
        create_audit_table(con)
        con.execute(f"create table landing_reconciliation as select timestamp '{LAST_BUILT}' as ingest_hour")
        state = "insert into customer_profiles_sync_state (object_type, object_key, profile_id) values (?, ?, ?)"
        con.executemany(state, STATE_ROWS)
        con.executemany(
            "insert into customer_profiles_sync_log (run_id, object_key) values ('r1', ?)", [[k] for k in LOG_KEYS]
        )
    return path


@pytest.fixture(params=["duckdb", "athena"])
def wh(request, warehouse_file, tmp_path, s3_server):  # noqa: F811 - the imported fixture
    if request.param == "duckdb":
        yield TrinoChecked(DuckDBWarehouse(warehouse_file, manifest(tmp_path / "local.json", "main")))
        return
    endpoint = AthenaEndpoint(warehouse_file, s3_server[1], "customer360", f"s3://{RESULTS}/primary/").start()
    with pytest.MonkeyPatch.context() as patch:
        use_connection(patch, endpoint, s3_server[0])
        athena = AthenaWarehouse.from_connection()
    athena.manifest = manifest(tmp_path / "athena.json", "customer360")
    yield TrinoChecked(athena)
    endpoint.stop()


def rows(path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_resolve_finds_every_profile_and_identifier_of_the_person(wh):
    person = resolve(wh, Request("DSAR-1", "email", EMAIL))
    assert person.profile_ids == {"p-ana-1", "p-old-1"}
    assert person.emails == {EMAIL, "old.ana@example.com"}
    assert person.phones == {PHONE}
    assert {"C1", "LY1", "ly1", "C9", "crm:crm:C1", "p-ana-1", "p-old-1"} <= person.ids
    assert not person.shared
    # Every way in gives the same person: another identifier, or the id merged away.
    for kind, value in (("phone", PHONE), ("profile_id", "p-old-1"), ("email", "old.ana@example.com")):
        assert resolve(wh, Request("DSAR-1", kind, value)) == person
    # A split is not the same person; a phone two profiles hold is kept.
    bo = resolve(wh, Request("DSAR-2", "profile_id", "p-bo-1"))
    assert bo.profile_ids == {"p-bo-1"} and bo.phones == set() and bo.shared == {OTHER_PHONE}
    assert wh.statements  # every one of them Trino SQL


def test_the_tables_builds_keep_lose_the_persons_rows_by_key_and_gain_an_audit_row(wh, warehouse_file):
    person = resolve(wh, Request("DSAR-1", "email", EMAIL))
    audit = AuditRow("DSAR-1", datetime(2026, 11, 21, 9), "email", "h" * 64, profiles=2, landing_lines=3)
    hours = [datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 2, tzinfo=UTC)]

    erase_warehouse(wh, person, audit, hours)

    assert json.loads(audit.warehouse_tables) == {
        "customer_profiles_sync_log": 4,
        "customer_profiles_sync_state": 3,
        "profile_merges": 1,
    }
    assert audit.warehouse_rows == 8
    # Her neighbour p-ana-10 stays: a key is matched whole, or as the profile part of "<profile id>|…".
    assert rows(warehouse_file, "select object_key from customer_profiles_sync_state order by 1") == [
        ("p-ana-10",),
        ("p-bo-1",),
    ]
    assert rows(warehouse_file, "select object_key from customer_profiles_sync_log order by 1") == [
        ("p-ana-10",),
        ("p-ana-10|email|m2",),
        ("p-bo-1",),
    ]
    assert rows(warehouse_file, "select old_profile_id from profile_merges") == [("p-x-1",)]
    # Rebuilt from her first changed hour to the end of the last hour built.
    assert (audit.rebuilt_interval_start, audit.rebuilt_interval_end) == ("2026-11-20 02:00:00", "2026-11-20 15:00:00")
    stored = rows(warehouse_file, f"select * from {AUDIT_TABLE}")
    assert len(stored) == 1 and not person.matcher().could_hold(repr(stored))
    found = recorded(wh, "DSAR-1")
    assert found["warehouse_rows"] == 8 and found["requested_at"] == "2026-11-21T09:00:00"
    assert found["rebuilt_interval_end"] == "2026-11-20 15:00:00" and recorded(wh, "DSAR-2") is None


def test_like_wildcards_in_a_key_match_only_themselves(wh, warehouse_file):
    with duckdb.connect(str(warehouse_file)) as con:
        con.executemany(
            "insert into customer_profiles_sync_log (run_id, object_key) values ('r2', ?)",
            [["p_1|a"], ["pX1|a"], ["p%1|b"], ["p%1"]],
        )
    person = Person(profile_ids=frozenset({"p_1", "p%1"}), ids=frozenset({"p_1", "p%1"}))

    erase_warehouse(wh, person, AuditRow("DSAR-3", datetime(2026, 11, 21), "profile_id", "h"), [])

    assert rows(warehouse_file, "select object_key from customer_profiles_sync_log where run_id = 'r2'") == [("pX1|a",)]
    assert recorded(wh, "DSAR-3")["rebuilt_interval_start"] is None  # no raw-zone hour changed: nothing to rebuild


def test_the_rebuild_reaches_the_changed_hours_when_they_are_past_the_last_build(wh, warehouse_file):
    late = datetime(2026, 11, 20, 20, tzinfo=UTC)  # landed, not yet built
    assert rebuild_interval(wh, [late]) == {
        "c360__interval_start": "2026-11-20 20:00:00",
        "c360__interval_end": "2026-11-20 21:00:00",
    }
    assert rebuild_interval(wh, []) is None


def test_nothing_built_yet_erases_the_given_identifier_alone(wh, tmp_path, s3_server):  # noqa: F811
    with duckdb.connect(str(tmp_path / "empty.duckdb")):
        pass  # a warehouse no build has made
    endpoint = AthenaEndpoint(tmp_path / "empty.duckdb", s3_server[1], "customer360", f"s3://{RESULTS}/p/").start()
    if wh.engine == "duckdb":
        blank = DuckDBWarehouse(tmp_path / "empty.duckdb", wh.wh.manifest)
    else:
        with pytest.MonkeyPatch.context() as patch:
            use_connection(patch, endpoint, s3_server[0])
            blank = AthenaWarehouse.from_connection()
        blank.manifest = wh.wh.manifest
    try:
        assert resolve(blank, Request("DSAR-1", "profile_id", "p-unknown")).ids == {"p-unknown"}
        assert recorded(blank, "DSAR-1") is None
        assert rebuild_interval(blank, [LAST_BUILT.replace(tzinfo=UTC)])["c360__interval_end"] == "2026-11-20 15:00:00"
    finally:
        endpoint.stop()


def test_check_request_refuses_what_cannot_be_carried_out(warehouse_file, tmp_path, monkeypatch):
    with duckdb.connect(str(warehouse_file)) as con:
        con.execute(f"insert into {AUDIT_TABLE} (request_id) values ('DSAR-done')")
    monkeypatch.setattr(settings, "WAREHOUSE_PATH", warehouse_file)
    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", manifest(tmp_path / "local.json", "main"))

    found = check_request({"email": EMAIL, "request_id": "DSAR-1"})
    assert found == {"kind": "email", "profiles": 2, "identifiers": 13, "shared_identifiers_kept": 0}
    for params, reason in (
        ({"email": EMAIL, "request_id": "DSAR-done"}, "already carried out"),
        ({"email": EMAIL, "request_id": f"erase {EMAIL.upper()}"}, "names the person"),
        ({"phone": OTHER_PHONE, "request_id": "DSAR-2"}, "2 profiles"),
    ):
        with pytest.raises(ErasureRequestError, match=reason):
            check_request(params)


def test_the_audit_table_is_a_dbt_model_of_the_columns_erasure_writes():
    nodes = json.loads(settings.DBT_MANIFEST_PATH.read_text())["nodes"].values()
    (model,) = (node for node in nodes if node["resource_type"] == "model" and node["name"] == AUDIT_TABLE)
    declared = {column["name"]: column["data_type"] for column in model["columns"].values()}
    assert declared == {f.name: AUDIT_TYPES[f.type] for f in fields(AuditRow)}
    assert model["config"]["contract"]["enforced"] is True
    assert model["config"]["materialized"] == "incremental" and model["config"]["full_refresh"] is False
    assert model["config"]["table_type"] == "iceberg"  # on Athena (INSERT, and DELETE if ever needed)
