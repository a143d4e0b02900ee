"""A local endpoint that speaks the Amazon Athena query API over the local DuckDB warehouse.

moto's Athena answers every query with canned rows, so the embedded stack runs this server
instead. It speaks Athena's JSON 1.1 protocol (``X-Amz-Target: AmazonAthena.<Operation>``),
validates each request against botocore's own service model, and serves StartQueryExecution,
GetQueryExecution, GetQueryResults and StopQueryExecution: real boto3 clients talk to it over
HTTP, so ``include/warehouse/athena.py`` is exactly the code that talks to AWS.

As Athena does, it runs each query asynchronously (QUEUED → RUNNING → SUCCEEDED | FAILED |
CANCELLED), writes a SELECT's rows to ``<OutputLocation>/<QueryExecutionId>.csv`` in S3 (the
stack's S3 server) as Athena's CSV (a header row, every value double-quoted, NULL an empty
unquoted field, arrays and maps as Trino's display text), pages GetQueryResults (at most 1,000
rows a page, the column labels first), reports UpdateCount for writes, and refuses what Athena
refuses: several statements, transactions, queries over 262,144 characters, a wrong number of
ExecutionParameters, ExecutionParameters in a DELETE, UPDATE or MERGE.

The query is Trino SQL: sqlglot translates it to DuckDB's (``read="athena"``) once the
ExecutionParameters are in. Names map to the warehouse's schemas as dbt lays them out per target:
the Athena database ``<database>`` is DuckDB's ``main`` and ``<database>_<layer>`` is
``main_<layer>``; a name DuckDB already knows (``main_staging``) passes as it is. The DuckDB file
is opened for each query (read-only unless the query writes), so dbt and the tasks can open it
between queries; one query runs at a time. Known gap: ``/`` between integer columns divides as
DuckDB does (Trino truncates), unless sqlglot can see both sides are integers.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import botocore.session
import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlglot
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from trino_sql_validator import validate

from local.http_endpoint import HttpEndpoint

TARGET_PREFIX = "AmazonAthena."
OPERATIONS = ("StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution")
MAX_QUERY_LENGTH = 262_144
MAX_RESULTS = 1000
CATALOG = "awsdatacatalog"
ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
READS = (exp.Query, exp.Describe, exp.Show)
WRITES = {exp.Insert: "INSERT", exp.Delete: "DELETE", exp.Update: "UPDATE", exp.Merge: "MERGE"}
# DuckDB's result types as Athena names them in ColumnInfo.
TYPES = {
    "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "TINYINT": "tinyint",
    "HUGEINT": "decimal", "UBIGINT": "decimal", "UINTEGER": "bigint", "USMALLINT": "integer",
    "UTINYINT": "smallint", "DOUBLE": "double", "FLOAT": "real", "BOOLEAN": "boolean", "VARCHAR": "varchar",
    "UUID": "varchar", "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp", "TIMESTAMP_NS": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "BLOB": "varbinary", "JSON": "json", "LIST": "array", "ARRAY": "array", "MAP": "map", "STRUCT": "row",
}  # fmt: skip


class ApiError(Exception):
    """An error the API returns to the client, named as in the service model."""

    def __init__(self, code: str, message: str, athena_code: str = "INVALID_INPUT"):
        super().__init__(message)
        self.code, self.message, self.athena_code = code, message, athena_code


class QueryFailed(Exception):
    """The query failed: its execution ends FAILED with this reason, Athena's error name first."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")


# -- values as Athena writes them ------------------------------------------------------------------
def athena_type(duck_type: duckdb.typing.DuckDBPyType) -> str:
    text = str(duck_type)
    if text == "JSON":
        return "json"
    if text.startswith("DECIMAL"):
        return "decimal"
    return TYPES.get(duck_type.id.upper(), TYPES.get(text, "varchar"))


def render(value: Any) -> str | None:
    """A value as Athena's result text; None (SQL NULL) stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # Athena's timestamps are milliseconds
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return f"{text} UTC" if value.tzinfo else text
    if isinstance(value, date | clock_time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray):
        return " ".join(f"{byte:02x}" for byte in value)
    if isinstance(value, list):  # Trino's text of an array: [a, b]
        return "[" + ", ".join("null" if v is None else render(v) for v in value) + "]"
    if isinstance(value, dict):  # of a map or a row: {k=v}
        return "{" + ", ".join(f"{k}={'null' if v is None else render(v)}" for k, v in value.items()) + "}"
    return str(value)


def athena_csv(header: list[str], rows: list[list[str | None]]) -> bytes:
    def quoted(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    return "".join(",".join(map(quoted, row)) + "\n" for row in [header, *rows]).encode()


def read_athena_csv(body: bytes, width: int) -> list[list[str | None]]:
    """Every row of a result CSV (its header first) as text, NULL as None."""
    if not body:
        return []
    names = [f"c{i}" for i in range(width)]
    table = pa_csv.read_csv(
        pa.py_buffer(body),
        read_options=pa_csv.ReadOptions(column_names=names),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return [list(row.values()) for row in table.to_pylist()]


# -- Trino SQL to DuckDB's ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Translation:
    sql: str
    statement_type: str  # DML | DDL | UTILITY
    substatement_type: str
    read_only: bool


VALIDATOR_COMPLEXITY_LIMIT = "maximum SQL statement complexity exceeded"


def trino_problems(sql: str) -> list[str]:
    """Why ``sql`` is not Trino SQL as Athena runs it (empty when it is): a syntax error, or a
    function or type outside Trino's documented catalog. trino-sql-validator reports an unknown
    name (a DuckDB-only one such as strftime or list_sort) as a warning, since a deployed Trino may
    add plugin functions; Athena adds none we use, so a warning counts as a problem."""
    result = validate(sql, dialect="trino", jinja="reject")  # rendered SQL: a Jinja tag left in is an error
    error = result.error
    if error and error.message.endswith(VALIDATOR_COMPLEXITY_LIMIT):
        # The validator's own parser limit, not Trino's (Athena's is the query's length, checked
        # in translate): a sync's batch of thousands of literal rows, whose shape the same
        # statement with fewer rows is checked in.
        error = None
    return [str(problem) for problem in (error, *result.warnings) if problem]


def translate(query: str, database: str, parameters: list[str], athena_database: str) -> Translation:
    """The query as DuckDB SQL, ExecutionParameters in place and names mapped to the warehouse's
    schemas (``athena_database`` is the one dbt builds in: its name is ``main`` in DuckDB). SQL
    DuckDB would run but Athena would not fails here as it would there."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryFailed("INVALID_INPUT", f"Query exceeds the maximum length of {MAX_QUERY_LENGTH} characters")
    if problems := trino_problems(query):
        raise QueryFailed("SYNTAX_ERROR", "; ".join(problems))
    try:
        statements = [tree for tree in sqlglot.parse(query, read="athena") if tree is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as err:
        raise QueryFailed("SYNTAX_ERROR", str(err).splitlines()[0]) from err
    if len(statements) != 1:
        raise QueryFailed("INVALID_SQL", "Only one sql statement is allowed.")
    (tree,) = statements
    if isinstance(tree, exp.Transaction | exp.Commit | exp.Rollback):
        raise QueryFailed("NOT_SUPPORTED", "Athena does not support transactions")
    if isinstance(tree, exp.Command):
        raise QueryFailed("NOT_SUPPORTED", f"the local endpoint cannot run {tree.name.upper()} statements")

    if parameters and isinstance(tree, exp.Delete | exp.Update | exp.Merge):
        raise QueryFailed(
            "NOT_SUPPORTED", "Execution parameters are supported only in SELECT, INSERT INTO, CTAS and UNLOAD queries"
        )
    placeholders = list(tree.find_all(exp.Placeholder, bfs=False))  # in the order they are written
    if len(placeholders) != len(parameters):
        raise QueryFailed(
            "INVALID_PARAMETER_USAGE",
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(parameters)}",
        )
    for placeholder, literal in zip(placeholders, parameters, strict=True):
        try:
            placeholder.replace(sqlglot.parse_one(literal, read="athena"))
        except sqlglot.errors.ParseError as err:
            raise QueryFailed("INVALID_PARAMETER_USAGE", f"{literal!r} is not a literal") from err

    def schema(name: str) -> str:
        name = name.lower()
        if name == athena_database.lower():
            return "main"
        if name.startswith(athena_database.lower() + "_"):
            return "main" + name[len(athena_database) :]
        return name

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.name or (not table.db and table.name.lower() in ctes):
            continue
        if table.catalog and table.catalog.lower() != CATALOG:
            raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{table.catalog}' does not exist")
        table.set("catalog", None)
        table.set("db", exp.to_identifier(schema(table.db or database), quoted=True))

    if isinstance(tree, READS):
        kind = ("DML", "SELECT") if isinstance(tree, exp.Query) else ("UTILITY", type(tree).__name__.upper())
    elif type(tree) in WRITES:
        kind = ("DML", WRITES[type(tree)])
    elif isinstance(tree, exp.Create) and tree.expression is not None:
        kind = ("DDL", "CREATE_TABLE_AS_SELECT")
    else:
        kind = ("DDL", f"{type(tree).__name__.upper()}_{str(tree.args.get('kind') or 'TABLE').upper()}")
    try:  # types known statically (literals, casts) let sqlglot keep Trino's integer division
        duckdb_sql = annotate_types(tree).sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as err:
        raise QueryFailed("NOT_SUPPORTED", str(err)) from err
    return Translation(duckdb_sql, *kind, read_only=isinstance(tree, READS))


def failure(err: duckdb.Error) -> QueryFailed:
    """A DuckDB error as Athena names its kind."""
    message = str(err).splitlines()[0]
    kind = type(err).__name__
    if kind == "CatalogException":
        missing = {"Table with name": "TABLE_NOT_FOUND", "Schema with name": "SCHEMA_NOT_FOUND",
                   "Function with name": "FUNCTION_NOT_FOUND"}  # fmt: skip
        name = next((athena for duck, athena in missing.items() if duck in message), "GENERIC_USER_ERROR")
    else:
        name = {"ParserException": "SYNTAX_ERROR", "BinderException": "COLUMN_NOT_FOUND",
                "ConversionException": "INVALID_CAST_ARGUMENT", "InterruptException": "USER_CANCELLED",
                "ConstraintException": "CONSTRAINT_VIOLATION"}.get(kind, "GENERIC_INTERNAL_ERROR")  # fmt: skip
    return QueryFailed(name, message)


# -- query executions ------------------------------------------------------------------------------
@dataclass
class Execution:
    query_id: str
    query: str
    database: str
    catalog: str
    work_group: str
    output_location: str
    parameters: list[str]
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    state: str = "QUEUED"
    reason: str | None = None
    statement_type: str | None = None
    substatement_type: str | None = None
    columns: list[dict] = field(default_factory=list)
    update_count: int | None = None

    def describe(self) -> dict:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.state == "FAILED":
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1100, "Retryable": False,
                                     "ErrorMessage": self.reason}  # fmt: skip
        end = self.completed or time.time()
        described = {
            "QueryExecutionId": self.query_id,
            "Query": self.query,
            "QueryExecutionContext": {"Database": self.database, "Catalog": self.catalog},
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "Status": status,
            "Statistics": {
                "EngineExecutionTimeInMillis": int((end - (self.started or end)) * 1000),
                "TotalExecutionTimeInMillis": int((end - self.submitted) * 1000),
                "DataScannedInBytes": 0,
            },
            "WorkGroup": self.work_group,
            "EngineVersion": ENGINE_VERSION,
        }
        if self.statement_type:
            described |= {"StatementType": self.statement_type, "SubstatementType": self.substatement_type}
        if self.parameters:
            described["ExecutionParameters"] = self.parameters
        return described


class AthenaEndpoint(HttpEndpoint):
    """The HTTP server: validate, dispatch, and one query at a time on the warehouse file."""

    def __init__(
        self,
        warehouse: Path | str,
        s3,
        database: str,
        default_output_location: str,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.warehouse = Path(warehouse)
        self.s3 = s3  # where result CSVs are written and read back
        self.database = database  # the Athena database dbt builds in: DuckDB's main
        self.default_output_location = default_output_location  # the workgroup's result location
        self.requests: Counter[str] = Counter()
        self._executions: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._running: duckdb.DuckDBPyConnection | None = None
        self._queries = ThreadPoolExecutor(max_workers=1, thread_name_prefix="athena-query")
        self._model = botocore.session.get_session().get_service_model("athena")
        self._listen(host, port)

    def stop(self) -> None:
        super().stop()
        with self._lock:
            if self._running is not None:
                self._running.interrupt()
        self._queries.shutdown(wait=True, cancel_futures=True)

    # -- operations ----------------------------------------------------------------------------
    def StartQueryExecution(self, p: dict) -> dict:
        location = p.get("ResultConfiguration", {}).get("OutputLocation") or self.default_output_location
        if not location:
            raise ApiError("InvalidRequestException", "No output location provided.")
        context = p.get("QueryExecutionContext", {})
        query_id = str(uuid.uuid4())
        execution = Execution(
            query_id=query_id,
            query=p["QueryString"],
            database=context.get("Database", "default"),
            catalog=context.get("Catalog", CATALOG),
            work_group=p.get("WorkGroup", "primary"),
            output_location=f"{location.rstrip('/')}/{query_id}.csv",
            parameters=p.get("ExecutionParameters", []),
        )
        with self._lock:
            self._executions[query_id] = execution
        self._queries.submit(self._run, execution)
        return {"QueryExecutionId": query_id}

    def GetQueryExecution(self, p: dict) -> dict:
        return {"QueryExecution": self._execution(p["QueryExecutionId"]).describe()}

    def StopQueryExecution(self, p: dict) -> dict:
        execution = self._execution(p["QueryExecutionId"])
        with self._lock:
            if execution.state in ("QUEUED", "RUNNING"):
                running = execution.state == "RUNNING"
                execution.state, execution.reason, execution.completed = "CANCELLED", "Query cancelled", time.time()
                if running and self._running is not None:
                    self._running.interrupt()
        return {}

    def GetQueryResults(self, p: dict) -> dict:
        execution = self._execution(p["QueryExecutionId"])
        if execution.state != "SUCCEEDED":
            raise ApiError("InvalidRequestException", f"Query has not yet finished. Current state: {execution.state}")
        size = p.get("MaxResults", MAX_RESULTS)
        if size > MAX_RESULTS:
            raise ApiError("InvalidRequestException", f"MaxResults must be at most {MAX_RESULTS}")
        start = 0
        if token := p.get("NextToken"):
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError as err:
                raise ApiError("InvalidRequestException", "NextToken is not valid") from err
        rows = []
        if execution.columns:  # a SELECT: the rows are the result CSV's, the labels first, as Athena pages them
            bucket, _, key = execution.output_location.removeprefix("s3://").partition("/")
            rows = read_athena_csv(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), len(execution.columns))
        page = rows[start : start + size]
        result: dict[str, Any] = {
            "ResultSet": {
                "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page],
                "ResultSetMetadata": {"ColumnInfo": execution.columns},
            }
        }
        if execution.update_count is not None:
            result["UpdateCount"] = execution.update_count
        if start + size < len(rows):
            result["NextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return result

    def _execution(self, query_id: str) -> Execution:
        with self._lock:
            execution = self._executions.get(query_id)
        if execution is None:
            raise ApiError("InvalidRequestException", f"QUERY_NOT_FOUND: Query has not been found: {query_id}")
        return execution

    # -- running a query -----------------------------------------------------------------------
    def _run(self, execution: Execution) -> None:
        with self._lock:
            if execution.state != "QUEUED":
                return
            execution.state, execution.started = "RUNNING", time.time()
        try:
            translation = translate(execution.query, execution.database, execution.parameters, self.database)
            execution.statement_type = translation.statement_type
            execution.substatement_type = translation.substatement_type
            self._execute(execution, translation)
        except QueryFailed as err:
            self._finish(execution, "FAILED", str(err))
        except duckdb.Error as err:
            self._finish(execution, "FAILED", str(failure(err)))
        except Exception as err:  # noqa: BLE001 - the service's own failure, reported as Athena reports one
            self._finish(execution, "FAILED", f"GENERIC_INTERNAL_ERROR: {err}")
        else:
            self._finish(execution, "SUCCEEDED")

    def _execute(self, execution: Execution, translation: Translation) -> None:
        con = duckdb.connect(str(self.warehouse), read_only=translation.read_only)
        with self._lock:
            self._running = con
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute("set enable_progress_bar = false")
            cursor = con.execute(translation.sql)
            description = cursor.description or []
            fetched = cursor.fetchall() if description else []
        finally:
            with self._lock:
                self._running = None
            con.close()
        bucket, _, key = execution.output_location.removeprefix("s3://").partition("/")
        if not translation.read_only:  # a write: its count, and no rows
            if translation.statement_type == "DML" or translation.substatement_type == "CREATE_TABLE_AS_SELECT":
                execution.update_count = int(fetched[0][0]) if fetched else 0
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"")
            return
        execution.columns = [
            {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
             "Type": athena_type(duck_type), "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
             "CaseSensitive": athena_type(duck_type) == "varchar"}
            for name, duck_type, *_ in description
        ]  # fmt: skip
        body = athena_csv([c["Name"] for c in execution.columns], [[render(v) for v in row] for row in fetched])
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")

    def _finish(self, execution: Execution, state: str, reason: str | None = None) -> None:
        with self._lock:
            if execution.state == "CANCELLED":  # stopped while it ran: it stays cancelled
                return
            execution.state, execution.reason, execution.completed = state, reason, time.time()

    # -- HTTP ------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        target = next((value for key, value in headers.items() if key.lower() == "x-amz-target"), "")
        if method != "POST" or not target.startswith(TARGET_PREFIX):
            return 404, {"Content-Type": "text/plain"}, b"not an Athena request"
        operation = target.removeprefix(TARGET_PREFIX)
        self.requests[operation] += 1
        try:
            if operation not in OPERATIONS:
                raise ApiError("UnknownOperationException", f"{operation} is not supported by the local endpoint")
            try:
                params = json.loads(body or b"{}")
                validate_parameters(params, self._model.operation_model(operation).input_shape)
            except (json.JSONDecodeError, ParamValidationError) as err:
                raise ApiError("InvalidRequestException", str(err)) from err
            result = getattr(self, operation)(params)
        except ApiError as err:
            payload = {"__type": err.code, "Message": err.message, "AthenaErrorCode": err.athena_code}
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": err.code}
            return 400, headers, json.dumps(payload).encode()
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(result).encode()
