"""The check Athena SQL is held to: every model `dbt compile --target athena` produces and every
statement the Python side sends to Athena parses as Trino SQL and calls only functions and types in
Trino's documented catalog. trino-sql-validator reports an unknown name (a DuckDB-only one such as
strftime or list_sort) as a warning, since a deployed Trino may add plugin functions; Athena adds
none we use, so here a warning fails like an error."""

from __future__ import annotations

from trino_sql_validator import validate


def trino_problems(sql: str) -> list[str]:
    """Why `sql` is not Trino SQL as Athena runs it (empty when it is)."""
    result = validate(sql, dialect="trino", jinja="reject")  # rendered SQL: a Jinja tag left in is an error
    return [str(problem) for problem in (result.error, *result.warnings) if problem]
