"""The one interface the Python tasks read the warehouse through, on DuckDB or Athena alike.

``warehouse()`` picks the engine by the setting that picks dbt's target (``C360_DBT_TARGET``:
"local" → DuckDB, "athena" → Athena), so the gate, the dashboard and the summaries read the
tables the build just wrote. A ``Warehouse``:

- ``relation(model)``: the quoted relation of a dbt model, from the manifest compiled for the
  target (relations.py): Python names models, never schemas;
- ``query_df(sql, params)``: a SELECT's rows as a DataFrame, dtypes as DuckDB's ``.df()`` gives
  them (below), so a frame does not depend on the engine;
- ``execute(sql, params)``: a statement that writes; returns the rows it affected;
- ``execute_many(statements)``: writes in order, each ``(sql, params)``: on DuckDB one
  transaction; on Athena, which has none, one statement after another (each commits alone,
  so a caller orders them for what a stop between two may leave).

The SQL is the same text on both engines: plain ANSI selects over ``relation(model)`` with
``?`` placeholders for scalar values. What only one engine can say belongs in a dbt model.
Arrays, maps and rows are selected as ``cast(column as json)`` (Athena's result text of them is
ambiguous); JSON columns come back parsed, as Python lists and dicts, from either engine.

Frame conventions (DuckDB's ``.df()``; the Athena implementation matches them): integers at
their width, nullable (``Int64``…) only when a NULL is present; booleans likewise; DECIMAL as
float64; DATE and TIMESTAMP as ``datetime64[us]``; strings as ``str`` with NULL apart from ''.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd

from include import settings
from include.warehouse import relations

# How DuckDB words a name that does not resolve (a CatalogException).
MISSING_NAMES = ("Table with name", "Schema with name")


class WarehouseError(Exception):
    """A statement the warehouse refused or that failed; the message is the engine's."""


class MissingRelation(WarehouseError):
    """The statement names a table or schema the warehouse does not have (not built yet)."""


class Warehouse(Protocol):
    engine: str

    def relation(self, model: str) -> str: ...

    def query_df(self, sql: str, params: Sequence = ()) -> pd.DataFrame: ...

    def execute(self, sql: str, params: Sequence = ()) -> int: ...

    def execute_many(self, statements: Sequence[tuple[str, Sequence]]) -> None: ...


def warehouse(target: str | None = None) -> Warehouse:
    """The warehouse of dbt's target (``settings.DBT_TARGET`` unless ``target`` names one)."""
    target = target or settings.DBT_TARGET
    if target == "local":
        return DuckDBWarehouse()
    if target == "athena":
        from include.warehouse.athena import AthenaWarehouse

        return AthenaWarehouse.from_connection()
    raise ValueError(f"C360_DBT_TARGET={target!r}: the warehouse is 'local' (DuckDB) or 'athena'")


class DuckDBWarehouse:
    """The local DuckDB file, opened for each statement (read-only for selects), so dbt and the
    other tasks can open it between statements."""

    engine = "duckdb"

    def __init__(self, path: Path | None = None, manifest: Path | None = None):
        self.path = path or settings.WAREHOUSE_PATH
        self.manifest = manifest or settings.DBT_MANIFEST_PATH

    def relation(self, model: str) -> str:
        return relations.relation(model, self.manifest)

    def query_df(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        import duckdb

        from include.warehouse.connection import connect

        try:
            with connect(read_only=True, path=self.path) as con:
                cursor = con.execute(sql, list(params))
                json_columns = [name for name, kind, *_ in cursor.description if str(kind) == "JSON"]
                frame = cursor.df()
        except duckdb.Error as err:
            raise _error(err) from err
        for name in json_columns:
            frame[name] = parse_json(frame[name])
        return frame

    def execute(self, sql: str, params: Sequence = ()) -> int:
        import duckdb

        from include.warehouse.connection import connect

        try:
            with connect(path=self.path) as con:
                rows = con.execute(sql, list(params)).fetchall()
        except duckdb.Error as err:
            raise _error(err) from err
        return int(rows[0][0]) if rows else 0  # DML answers one row, its count; DDL none

    def execute_many(self, statements: Sequence[tuple[str, Sequence]]) -> None:
        import duckdb

        from include.warehouse.connection import connect

        try:
            with connect(path=self.path) as con:
                con.execute("begin")
                for sql, params in statements:
                    con.execute(sql, list(params))
                con.execute("commit")  # closed without it, DuckDB rolls the transaction back
        except duckdb.Error as err:
            raise _error(err) from err


def _error(err: Exception) -> WarehouseError:
    message = str(err)
    missing = type(err).__name__ == "CatalogException" and any(name in message for name in MISSING_NAMES)
    return (MissingRelation if missing else WarehouseError)(message)


def parse_json(column: pd.Series) -> pd.Series:
    """JSON text → Python values (object dtype); NULL stays None."""
    values = [json.loads(value) if isinstance(value, str) else None for value in column]
    return pd.Series(values, index=column.index, dtype=object, name=column.name)


def records(frame: pd.DataFrame) -> list[dict]:
    """The frame's rows as dicts of plain Python values: missing values (NaN, NA, NaT) are None."""
    rows = frame.astype(object).to_dict("records")
    return [{key: None if _missing(value) else value for key, value in row.items()} for row in rows]


def _missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))
