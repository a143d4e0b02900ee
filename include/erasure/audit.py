"""The person out of the warehouse, with the ``erasure_audit`` row, in one transaction.

Every row of every base table in every schema that names the person is deleted: judged column
by column as a line is (``Matcher.holds`` over the row as JSON, so a JSON or list column by its
values; ids only in id columns such as profile_id, record_key, source_record_id), after one
regular expression over the row's JSON text has picked the rows that might (``could_hold``'s
pattern, which DuckDB runs). The audit row counts what each place removed and what was kept,
and holds a keyed hash of the identifier (``request.identifier_hash``), never the value.
DuckDB only (rowid, to_json): Athena's Hive tables cannot delete rows; there the erased raw
zone is rebuilt (docs/operations.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime

import duckdb

from include.erasure.resolution import Person, table_names

AUDIT_TABLE = "erasure_audit"


@dataclass
class AuditRow:
    request_id: str
    requested_at: datetime
    identifier_kind: str
    identifier_hash: str
    profiles: int = 0
    identifiers: int = 0
    shared_identifiers_kept: int = 0
    customer_profiles: int = 0
    ses_suppressions_kept: int = 0  # their addresses left on the SES suppression list, on purpose
    registered: int = 0  # identifiers newly in the erased-subject register
    landing_objects: int = 0
    landing_lines: int = 0
    raw_objects: int = 0
    raw_rows: int = 0
    raw_manifests: int = 0
    warehouse_rows: int = 0
    warehouse_tables: str = "{}"  # JSON: table -> rows removed


_AUDIT_TYPES = {"int": "bigint", "str": "varchar", "datetime": "timestamp"}


def ensure_audit_table(con: duckdb.DuckDBPyConnection) -> None:
    """Created, or given the columns it lacks (an audit table from before a column existed keeps its rows)."""
    columns = [f"{f.name} {_AUDIT_TYPES[f.type]}" for f in fields(AuditRow)]
    con.execute(f"create table if not exists {AUDIT_TABLE} ({', '.join(columns)}, primary key (request_id))")
    for column in columns:
        con.execute(f"alter table {AUDIT_TABLE} add column if not exists {column}")


def recorded(con: duckdb.DuckDBPyConnection, request_id: str) -> dict | None:
    """The request's audit row, if it was carried out (its timestamps as ISO text)."""
    if f"main.{AUDIT_TABLE}" not in table_names(con):
        return None
    result = con.execute(f"select * from {AUDIT_TABLE} where request_id = ?", [request_id])
    row = result.fetchone()
    if row is None:
        return None
    names = [column[0] for column in result.description]
    values = (value.isoformat() if isinstance(value, datetime) else value for value in row)
    return dict(zip(names, values, strict=True))


def erase_warehouse(con: duckdb.DuckDBPyConnection, person: Person, audit: AuditRow) -> AuditRow:
    """Delete the person's rows from every base table and write the audit row, in one transaction."""
    matcher = person.matcher()
    ensure_audit_table(con)
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_catalog = current_database() and table_name != ? order by 1, 2",
        [AUDIT_TABLE],
    ).fetchall()
    removed = {}
    con.execute("begin")
    try:
        for schema, table in tables:
            candidates = con.execute(
                f'select rowid, to_json(t)::varchar from "{schema}"."{table}" as t '
                "where regexp_matches(lower(to_json(t)::varchar), $pattern)",
                {"pattern": matcher.candidate_pattern},
            ).fetchall()
            rowids = [rowid for rowid, row in candidates if matcher.holds(json.loads(row))]
            if rowids:
                con.execute(
                    f'delete from "{schema}"."{table}" where rowid in (select unnest($rowids::bigint[]))',
                    {"rowids": rowids},
                )
                removed[f"{schema}.{table}" if schema != "main" else table] = len(rowids)
        audit.warehouse_rows = sum(removed.values())
        audit.warehouse_tables = json.dumps(removed, sort_keys=True)
        row = asdict(audit)
        con.execute(
            f"insert into {AUDIT_TABLE} ({', '.join(row)}) values ({', '.join('?' * len(row))})", list(row.values())
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return audit
