"""The warehouse seam: the same queries through DuckDB and through Athena give equal frames.

One small DuckDB warehouse; the Athena implementation reaches it through the local Athena
endpoint over HTTP with real botocore clients from an Airflow connection, its results through
an S3 server (moto's, over HTTP). Each warehouse names its relations from a manifest as dbt
compiles it for its target: ``main``/``main_staging`` locally, ``customer360``/``customer360_staging``
on Athena.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import boto3
import duckdb
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from include import settings
from include.warehouse import athena as athena_module
from include.warehouse.athena import AthenaWarehouse, trino_literal, with_literals
from include.warehouse.seam import DuckDBWarehouse, MissingRelation, WarehouseError, records, warehouse
from local.athena_endpoint import AthenaEndpoint
from local.stack import free_ports

RESULTS = "athena-results"
PEOPLE = [
    # id, name, n, score, active, seen_at (ms: Athena's precision), birth, tags, attrs, amount
    (1, "Ann", 7, 1.5, True, datetime(2024, 3, 1, 10, 15, 30, 123000), date(1990, 1, 2), ["a", "b"], {"k": "v"},
     Decimal("12.34")),
    (2, 'Bob, "the builder"\nsecond line', None, None, None, None, None, [], {}, None),
    (3, "", 3, 0.25, False, datetime(2024, 3, 2), date(2001, 12, 31), ["x, y", "[z]"], {"a": "1"}, Decimal("0")),
    (4, None, 4, -2.0, True, datetime(2024, 3, 3, 23, 59, 59, 999000), None, None, None, Decimal("-1.5")),
    (5, "O'Brien", 5, 1e-7, False, datetime(2024, 3, 4, 0, 0, 0, 1000), date(1970, 1, 1), ["q"], {"b": None},
     Decimal("99999999.99")),
]  # fmt: skip
COLUMNS = "id, name, n, score, active, seen_at, birth, cast(tags as json) as tags, cast(attrs as json) as attrs, amount"


def manifest(path, schema: str) -> object:
    nodes = {
        f"model.customer360.{name}": {"name": name, "resource_type": "model", "schema": schema + suffix, "alias": name}
        for name, suffix in (("people", ""), ("scratch", ""), ("stg_people", "_staging"))
    }
    path.write_text(json.dumps({"nodes": nodes}))
    return path


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table people (id bigint, name varchar, n integer, score double, active boolean, "
            "seen_at timestamp, birth date, tags varchar[], attrs map(varchar, varchar), amount decimal(10, 2))"
        )
        con.executemany(f"insert into people values ({', '.join('?' * 10)})", PEOPLE)
        con.execute("create table scratch (id bigint, note varchar)")
        con.execute("create schema main_staging")
        con.execute("create view main_staging.stg_people as select id, upper(name) as name from main.people")
    return path


@pytest.fixture(scope="module")
def s3_server():
    port = free_ports(1)[0]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                          aws_secret_access_key="s")  # fmt: skip
    client.create_bucket(Bucket=RESULTS)
    yield url, client
    server.stop()


@pytest.fixture(scope="module")
def endpoint(warehouse_file, s3_server):
    server = AthenaEndpoint(warehouse_file, s3_server[1], "customer360", f"s3://{RESULTS}/primary/").start()
    yield server
    server.stop()


def use_connection(patch: pytest.MonkeyPatch, endpoint: AthenaEndpoint, s3_url: str) -> None:
    """The Athena connection: queries to the endpoint, result CSVs from the S3 server (service_config)."""
    extra = {
        "region_name": "us-east-1",
        "endpoint_url": endpoint.url,
        "service_config": {"s3": {"endpoint_url": s3_url}},
    }
    connection = {"conn_type": "aws", "login": "k", "password": "s", "extra": extra}
    patch.setenv(f"AIRFLOW_CONN_{settings.ATHENA_CONN_ID.upper()}", json.dumps(connection))


@pytest.fixture(scope="module")
def engines(warehouse_file, endpoint, s3_server, tmp_path_factory):
    """(DuckDB, Athena) over the one warehouse; Athena's clients from the Airflow connection."""
    manifests = tmp_path_factory.mktemp("manifests")
    with pytest.MonkeyPatch.context() as patch:
        use_connection(patch, endpoint, s3_server[0])
        athena = AthenaWarehouse.from_connection()
    athena.manifest = manifest(manifests / "athena.json", "customer360")
    duck = DuckDBWarehouse(warehouse_file, manifest(manifests / "local.json", "main"))
    return duck, athena


def both(engines, sql: str, params=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The query on each engine, its ``{model}`` names filled by that engine's relation()."""
    names = ("people", "scratch", "stg_people")
    return tuple(engine.query_df(sql.format(**{n: engine.relation(n) for n in names}), params) for engine in engines)


QUERIES = {
    "every type": (f"select {COLUMNS} from {{people}} order by id", ()),
    "parameters": (
        f"select {COLUMNS} from {{people}} where seen_at >= ? and name <> ? and amount > ? order by id",
        [datetime(2024, 3, 1, 10, 15, 30, 123000), "O'Brien", Decimal("-5")],
    ),
    "a view in the staging layer": ("select id, name from {stg_people} where id <= ? order by id", [3]),
    "aggregates": (
        "select active, count(*) as people, sum(n) as n, max(seen_at) as last_seen from {people} "
        "group by active order by active nulls first",
        (),
    ),
    "no rows": (f"select {COLUMNS} from {{people}} where id > ?", [100]),
    "a table's columns": ("select * from {people} where 1 = 0", ()),
    "a string with a quote": ("select id from {people} where name = ?", ["O'Brien"]),
}


@pytest.mark.parametrize("query", QUERIES, ids=list(QUERIES))
def test_the_same_query_gives_equal_frames(engines, query):
    duck, athena = both(engines, *QUERIES[query])
    pd.testing.assert_frame_equal(athena, duck)


def test_null_and_empty_string_stay_apart(engines):
    for frame in both(engines, "select id, name from {people} order by id"):
        names = dict(zip(frame["id"], frame["name"], strict=True))
        assert names[3] == "" and pd.isna(names[4])
        assert names[2] == 'Bob, "the builder"\nsecond line'


def test_dtypes_follow_duckdb(engines):
    duck, athena = both(engines, f"select {COLUMNS} from {{people}} order by id")
    assert dict(athena.dtypes.astype(str)) == dict(duck.dtypes.astype(str)) == {
        "id": "int64", "name": "str", "n": "Int32", "score": "float64", "active": "boolean",
        "seen_at": "datetime64[us]", "birth": "datetime64[us]", "tags": "object", "attrs": "object",
        "amount": "float64",
    }  # fmt: skip
    assert list(athena["tags"]) == [["a", "b"], [], ["x, y", "[z]"], None, ["q"]]
    assert athena["attrs"][0] == {"k": "v"}
    assert records(athena.head(2))[1]["n"] is None


def test_an_array_not_cast_to_json_is_refused_on_athena(engines):
    _, athena = engines
    with pytest.raises(WarehouseError, match=r"tags is an Athena array: select it as cast\(tags as json\)"):
        athena.query_df(f"select tags from {athena.relation('people')}")


def test_writes_return_the_rows_they_affected(engines):
    duck, athena = engines
    insert = "insert into {} values (?, ?), (?, ?), (?, ?)"
    assert duck.execute(insert.format(duck.relation("scratch")), [1, "a", 2, "b", 3, None]) == 3
    assert athena.execute(f"delete from {athena.relation('scratch')} where id >= ?", [2]) == 2
    assert athena.execute(f"update {athena.relation('scratch')} set note = ? where id = ?", ["z", 1]) == 1
    duck_rows, athena_rows = both(engines, "select id, note from {scratch} order by id")
    pd.testing.assert_frame_equal(athena_rows, duck_rows)
    assert records(duck_rows) == [{"id": 1, "note": "z"}]


MERGE = (
    "merge into {ledger} as t using (values (cast(? as bigint), cast(? as varchar), cast(? as timestamp(6))), "
    "(cast(? as bigint), cast(? as varchar), cast(? as timestamp(6)))) as s (id, note, noted_at) on t.id = s.id "
    "when matched then update set note = s.note, noted_at = s.noted_at "
    "when not matched then insert (id, note, noted_at) values (s.id, s.note, s.noted_at)"
)


def test_statements_run_in_order_and_merge_upserts_on_both_engines(engines):
    """The sync's checkpoint SQL (MERGE from VALUES, DELETE … IN, UPDATE): one text for both engines."""
    at = datetime(2026, 11, 20, 4, 0, 0, 123000)  # Athena's results give milliseconds
    for engine, schema in zip(engines, ("main", "customer360"), strict=True):
        ledger = f'"{schema}"."ledger_{engine.engine}"'
        columns = "id bigint, note varchar, noted_at timestamp"
        engines[0].execute(f'create table "main"."ledger_{engine.engine}" ({columns})')
        engine.execute_many(
            [
                (MERGE.format(ledger=ledger), [1, "it's one", at, 2, None, None]),
                (MERGE.format(ledger=ledger), [2, "two", at, 3, "three", None]),  # 2 updated, 3 inserted
                (f"delete from {ledger} where id in (?, ?)", [3, 4]),
                (f"update {ledger} set note = ? where id = ?", ["one?", 1]),
            ]
        )
    duck_rows, athena_rows = (
        engine.query_df(f'select id, note, noted_at from "{schema}"."ledger_{engine.engine}" order by id')
        for engine, schema in zip(engines, ("main", "customer360"), strict=True)
    )
    pd.testing.assert_frame_equal(athena_rows, duck_rows)
    assert records(duck_rows) == [
        {"id": 1, "note": "one?", "noted_at": pd.Timestamp(at)},
        {"id": 2, "note": "two", "noted_at": pd.Timestamp(at)},
    ]


def test_on_duckdb_the_statements_are_one_transaction(engines):
    duck, _ = engines
    duck.execute('create table "main"."all_or_nothing" (id bigint)')
    with pytest.raises(WarehouseError, match="no_such_column"):
        duck.execute_many(
            [
                ('insert into "main"."all_or_nothing" values (?)', [1]),
                ('select no_such_column from "main"."people"', []),
            ]
        )
    assert duck.query_df('select count(*) as n from "main"."all_or_nothing"')["n"].tolist() == [0]


def test_athena_writes_carry_their_values_as_literals_in_the_text(engines, endpoint):
    """Athena takes ExecutionParameters only in SELECT, INSERT, CTAS and UNLOAD (and the endpoint
    refuses them elsewhere, as Athena does): a write's values are Trino literals in its text."""
    _, athena = engines
    with pytest.raises(WarehouseError, match="NOT_SUPPORTED"):
        athena.run(f"delete from {athena.relation('people')} where id = ?", [100])
    assert athena.execute(f"delete from {athena.relation('people')} where name = ?", ["nobody's"]) == 0
    assert with_literals("select '?', \"a?\" from t where x = ? and y in (?, ?)", ["it's", 1, None]) == (
        "select '?', \"a?\" from t where x = 'it''s' and y in (1, NULL)"
    )
    with pytest.raises(ValueError, match="more \\? placeholders"):
        with_literals("select ? , ?", [1])
    with pytest.raises(ValueError, match="fewer \\? placeholders"):
        with_literals("select ?", [1, 2])


def test_a_failed_query_says_why(engines):
    duck, athena = engines
    for engine, schema in ((duck, "main"), (athena, "customer360")):
        with pytest.raises(MissingRelation, match="no_such_table"):
            engine.query_df(f'select * from "{schema}"."no_such_table"')
        with pytest.raises(WarehouseError, match="nope"):
            engine.query_df(f"select nope from {engine.relation('people')}")
    with pytest.raises(WarehouseError, match=r"^TABLE_NOT_FOUND: .*no_such_table.*\(Athena query [0-9a-f-]+\)$"):
        athena.query_df('select * from "customer360"."no_such_table"')
    with pytest.raises(WarehouseError, match="INVALID_SQL: Only one sql statement is allowed"):
        athena.query_df("select 1; select 2")
    with pytest.raises(WarehouseError, match="NOT_SUPPORTED: Athena does not support transactions"):
        athena.execute("start transaction")


def test_results_page_as_athena_pages_them(engines):
    _, athena = engines
    execution = athena.run(f"select id, name from {athena.relation('people')} order by id")
    pages = list(
        athena.athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=execution["QueryExecutionId"], PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["ResultSet"]["Rows"]) for page in pages] == [2, 2, 2]  # the labels, then 5 rows
    rows = [[cell.get("VarCharValue") for cell in row["Data"]] for page in pages for row in page["ResultSet"]["Rows"]]
    assert rows[0] == ["id", "name"]
    assert rows[1:] == [["1", "Ann"], ["2", 'Bob, "the builder"\nsecond line'], ["3", ""], ["4", None],
                        ["5", "O'Brien"]]  # fmt: skip
    columns = pages[0]["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in columns] == [("id", "bigint"), ("name", "varchar")]


def test_a_query_past_its_time_is_stopped(engines, endpoint):
    _, athena = engines
    slow = AthenaWarehouse(athena.athena, athena.s3, athena.database, timeout_seconds=0.5)
    long_count = (
        "select count(*) from unnest(sequence(1, 40000)) as a (x) cross join unnest(sequence(1, 40000)) as b (y) "
        "where x + y > 3"
    )
    with pytest.raises(WarehouseError, match=r"still RUNNING after 0.5s: stopped") as stopped:
        slow.query_df(long_count)
    query_id = str(stopped.value).split()[2]
    status = athena.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED"
    assert endpoint.requests["StopQueryExecution"] >= 1
    assert both(engines, "select count(*) as people from {people}")[1]["people"].tolist() == [5]  # still serving


def test_the_smoke_command_runs_through_the_connection(endpoint, s3_server, monkeypatch, capsys):
    use_connection(monkeypatch, endpoint, s3_server[0])
    assert athena_module.main(["smoke"]) == 0
    out = capsys.readouterr().out
    assert "it's here" in out and "empty_text str" in out and out.rstrip().endswith("OK")


def test_trino_literals():
    assert [trino_literal(v) for v in (None, True, 3, 1.5, 1e-7, Decimal("1.25"), "O'Brien")] == [
        "NULL", "TRUE", "3", "1.5E0", "1e-07", "DECIMAL '1.25'", "'O''Brien'",
    ]  # fmt: skip
    assert trino_literal(datetime(2026, 11, 20, 4)) == "TIMESTAMP '2026-11-20 04:00:00'"
    assert trino_literal(date(2026, 11, 20)) == "DATE '2026-11-20'"
    with pytest.raises(TypeError):
        trino_literal(["a"])


def test_the_target_chooses_the_engine(engines, monkeypatch):
    assert isinstance(warehouse("local"), DuckDBWarehouse)
    monkeypatch.setattr(settings, "DBT_TARGET", "athena")
    assert warehouse().engine == "athena"
    with pytest.raises(ValueError, match="'local' \\(DuckDB\\) or 'athena'"):
        warehouse("postgres")
