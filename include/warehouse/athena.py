"""The warehouse on Athena: queries through the Athena API, a SELECT's rows read from its result CSV in S3.

Plain boto3 clients from the Airflow AWS connection ``C360_ATHENA_CONN_ID`` (its extra's
``service_config`` can point ``athena`` and ``s3`` at different endpoints, as the local stack
does). A statement is StartQueryExecution (a SELECT's ``?`` values as ExecutionParameters, each a
Trino literal: Athena substitutes them; a write's are put in its text as those literals, since
Athena takes ExecutionParameters only in SELECT, INSERT, CTAS and UNLOAD, and only in their
WHERE clause: not in MERGE, UPDATE, DELETE nor VALUES), GetQueryExecution
polled with backoff, StopQueryExecution when it outlives ``C360_ATHENA_QUERY_TIMEOUT_SECONDS``.
A SELECT's result CSV is read from S3 with pyarrow, which keeps NULL (an unquoted empty field)
apart from '' (a quoted one), and its columns are given DuckDB's ``.df()`` dtypes (seam.py).
Why not pyathena or AthenaSQLHook: docs/design.md.

``python -m include.warehouse.athena smoke`` runs a tiny query against the connection's Athena.
"""

from __future__ import annotations

import argparse
import numbers
import re
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from include import settings
from include.warehouse import relations
from include.warehouse.seam import MissingRelation, WarehouseError, parse_json

CATALOG = "AwsDataCatalog"
FIRST_POLL_SECONDS, MAX_POLL_SECONDS = 0.05, 2.0
# Athena's integer types: how the CSV is parsed, the dtype without NULLs, the dtype with.
INTEGERS = {
    "tinyint": (pa.int8(), "int8", "Int8"),
    "smallint": (pa.int16(), "int16", "Int16"),
    "integer": (pa.int32(), "int32", "Int32"),
    "int": (pa.int32(), "int32", "Int32"),
    "bigint": (pa.int64(), "int64", "Int64"),
}
FLOATS = {"real": pa.float32(), "float": pa.float32(), "double": pa.float64(), "decimal": pa.float64()}
# Athena writes these as Trino's display text ([a, b], {k=v}): ambiguous, so refused.
NESTED = ("array", "map", "row")
# Athena's errors for a name that does not resolve (StateChangeReason starts with the error name).
MISSING = ("TABLE_NOT_FOUND", "SCHEMA_NOT_FOUND")


class AthenaWarehouse:
    engine = "athena"

    def __init__(
        self,
        athena,
        s3,
        database: str,
        workgroup: str = "primary",
        output_location: str = "",
        manifest: Path | None = None,
        timeout_seconds: float = 1800.0,
    ):
        self.athena, self.s3 = athena, s3
        self.database, self.workgroup = database, workgroup
        self.output_location = output_location  # "": the workgroup's result location
        self.manifest = manifest or settings.DBT_MANIFEST_PATH
        self.timeout_seconds = timeout_seconds

    @classmethod
    def from_connection(cls, conn_id: str | None = None) -> AthenaWarehouse:
        """Clients from the Airflow connection; database, workgroup and results from the settings."""
        from customer360_aws.hooks import AwsClientHook

        conn_id = conn_id or settings.ATHENA_CONN_ID
        return cls(
            AwsClientHook(aws_conn_id=conn_id, client_type="athena").get_conn(),
            AwsClientHook(aws_conn_id=conn_id, client_type="s3").get_conn(),
            settings.ATHENA_SCHEMA,
            settings.ATHENA_WORK_GROUP,
            settings.ATHENA_S3_STAGING_DIR,
            timeout_seconds=settings.ATHENA_QUERY_TIMEOUT_SECONDS,
        )

    def relation(self, model: str) -> str:
        return relations.relation(model, self.manifest)

    def query_df(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        execution = self.run(sql, params)
        query_id = execution["QueryExecutionId"]
        result = self.athena.get_query_results(QueryExecutionId=query_id, MaxResults=1)
        columns = result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        location = execution["ResultConfiguration"]["OutputLocation"]
        bucket, _, key = location.removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return frame_from_csv(body, columns)

    def execute(self, sql: str, params: Sequence = ()) -> int:
        execution = self.run(with_literals(sql, params))
        result = self.athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"], MaxResults=1)
        return int(result.get("UpdateCount", 0))

    def execute_many(self, statements: Sequence[tuple[str, Sequence]]) -> None:
        for sql, params in statements:  # no transactions on Athena: each commits on its own
            self.execute(sql, params)

    def run(self, sql: str, params: Sequence = ()) -> dict:
        """Start the query and wait for it: its QueryExecution once SUCCEEDED, else WarehouseError."""
        request: dict = {
            "QueryString": sql,
            "QueryExecutionContext": {"Catalog": CATALOG, "Database": self.database},
            "WorkGroup": self.workgroup,
        }
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        if params:
            request["ExecutionParameters"] = [trino_literal(value) for value in params]
        query_id = self.athena.start_query_execution(**request)["QueryExecutionId"]
        deadline = time.monotonic() + self.timeout_seconds
        delay = FIRST_POLL_SECONDS
        while True:
            execution = self.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution["Status"]
            if status["State"] == "SUCCEEDED":
                return execution
            if status["State"] in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage", "")
                error = MissingRelation if reason.startswith(MISSING) else WarehouseError
                raise error(f"{reason or status['State']} (Athena query {query_id})")
            if time.monotonic() + delay > deadline:
                self.athena.stop_query_execution(QueryExecutionId=query_id)
                raise WarehouseError(
                    f"Athena query {query_id} still {status['State']} after {self.timeout_seconds:g}s: stopped"
                )
            time.sleep(delay)
            delay = min(delay * 2, MAX_POLL_SECONDS)


def trino_literal(value: object) -> str:
    """A scalar Python value as a Trino literal: what an ExecutionParameter holds."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, Decimal):
        return f"DECIMAL '{value}'"
    if isinstance(value, numbers.Real):
        text = repr(float(value))
        if text in ("nan", "inf", "-inf"):
            raise ValueError(f"{value} has no Trino literal")
        return text if "e" in text else f"{text}E0"  # an exponent makes it DOUBLE, not DECIMAL
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no Trino literal for a {type(value).__name__}: parameters are scalars")


# A quoted string or name (kept as it is), or a ? placeholder.
_PLACEHOLDER_OR_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")


def with_literals(sql: str, params: Sequence) -> str:
    """``sql`` with each ``?`` outside quotes replaced by its value's Trino literal, in order."""
    values = iter(params)
    missing = object()

    def literal(match: re.Match) -> str:
        if match.group() != "?":
            return match.group()
        value = next(values, missing)
        if value is missing:
            raise ValueError(f"more ? placeholders than the {len(params)} parameters")
        return trino_literal(value)

    text = _PLACEHOLDER_OR_QUOTED.sub(literal, sql)
    if next(values, missing) is not missing:
        raise ValueError(f"fewer ? placeholders than the {len(params)} parameters")
    return text


def frame_from_csv(body: bytes, columns: list[dict]) -> pd.DataFrame:
    """A SELECT's result CSV (header row, every value quoted, NULL an empty unquoted field) as a
    DataFrame with DuckDB's ``.df()`` dtypes, given the query's ColumnInfo."""
    kinds = [info["Type"].lower() for info in columns]
    positional = [f"c{i}" for i in range(len(columns))]  # names may repeat; positions do not
    table = pa_csv.read_csv(
        pa.py_buffer(body or b"\n"),
        read_options=pa_csv.ReadOptions(column_names=positional, skip_rows=1),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: _arrow_type(kind) for name, kind in zip(positional, kinds, strict=True)},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["true"],
            false_values=["false"],
        ),
    )
    for info, kind in zip(columns, kinds, strict=True):
        if kind in NESTED and table.num_rows:  # no rows, no text to misread: `select … where 1 = 0` names columns
            raise WarehouseError(
                f"column {info['Name']} is an Athena {kind}: select it as cast({info['Name']} as json)"
            )
    return pd.DataFrame(
        {i: _series(table.column(i), kind) for i, kind in enumerate(kinds)}, index=pd.RangeIndex(table.num_rows)
    ).set_axis([info["Name"] for info in columns], axis=1)


def _arrow_type(kind: str) -> pa.DataType:
    if kind in INTEGERS:
        return INTEGERS[kind][0]
    if kind in FLOATS:
        return FLOATS[kind]
    return {"boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us")}.get(kind, pa.string())


def _series(column: pa.ChunkedArray, kind: str) -> pd.Series:
    if kind in INTEGERS or kind == "boolean":
        plain, nullable = INTEGERS[kind][1:] if kind in INTEGERS else ("bool", "boolean")
        if column.null_count:
            return pd.Series(column.to_pylist(), dtype=nullable)
        return pd.Series(column.to_numpy(), dtype=plain)
    if kind in FLOATS:
        return pd.Series(column.to_numpy(), dtype="float32" if FLOATS[kind] == pa.float32() else "float64")
    if kind in ("date", "timestamp"):
        return pd.Series(column.cast(pa.timestamp("us")).to_numpy(), dtype="datetime64[us]")
    if kind == "timestamp with time zone":  # "2026-11-20 10:00:00.000 UTC"
        return pd.Series([_zoned(value) for value in column.to_pylist()], dtype="datetime64[us, UTC]")
    if kind == "json":
        return parse_json(pd.Series(column.to_pylist(), dtype=object))
    if len(column) == 0:
        return pd.Series([], dtype=object)  # as DuckDB's .df() gives an empty text column
    return pd.Series(column.to_pylist(), dtype="str")


def _zoned(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    moment, _, zone = text.rpartition(" ")
    return pd.Timestamp(moment).tz_localize(zone).tz_convert("UTC")


SMOKE_SQL = (
    "select 1 as one, '' as empty_text, cast(null as varchar) as missing, "
    "timestamp '2026-01-01 00:00:00.123' as at_time, ? as parameter"
)


def smoke(conn_id: str | None = None) -> int:
    """A tiny query through the connection's Athena, then the tables of the database; prints both."""
    warehouse = AthenaWarehouse.from_connection(conn_id)
    print(f"Athena through connection {conn_id or settings.ATHENA_CONN_ID}: database {warehouse.database}, "
          f"workgroup {warehouse.workgroup}, results {warehouse.output_location or '(the workgroup’s)'}")  # fmt: skip
    started = time.monotonic()
    frame = warehouse.query_df(SMOKE_SQL, ["it's here"])
    print(frame.to_string(index=False))
    print("dtypes:", ", ".join(f"{name} {dtype}" for name, dtype in frame.dtypes.items()))
    row = frame.iloc[0]
    if row["empty_text"] != "" or not pd.isna(row["missing"]):
        raise SystemExit("NULL and '' came back alike: the result CSV was not read as Athena writes it")
    tables = warehouse.query_df(
        "select count(*) as tables from information_schema.tables where table_schema = ?", [warehouse.database]
    )
    print(f"{tables['tables'].iloc[0]} tables in {warehouse.database}; {time.monotonic() - started:.1f}s. OK")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["smoke"])
    parser.add_argument("--conn-id", help=f"the Airflow AWS connection (default {settings.ATHENA_CONN_ID})")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return smoke(args.conn_id)
    except (BotoCoreError, ClientError, WarehouseError) as err:
        raise SystemExit(
            f"Athena smoke test failed: {err}\nCheck the connection's region and credentials, the workgroup and "
            "C360_ATHENA_S3_STAGING_DIR (or the workgroup's result location): docs/aws.md"
        ) from None


if __name__ == "__main__":
    raise SystemExit(main())
