"""The person out of the warehouse, with the ``erasure_audit`` row, in one transaction.

Every row of every base table in every schema with one of the person's profile ids or record
keys, or whose text mentions an identifier, is deleted. The audit row counts what each place
removed and holds a keyed hash of the identifier (``request.identifier_hash``), never the value.
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
    ses_suppressions: int = 0
    landing_objects: int = 0
    landing_lines: int = 0
    raw_objects: int = 0
    raw_rows: int = 0
    raw_manifests: int = 0
    warehouse_rows: int = 0
    warehouse_tables: str = "{}"  # JSON: table -> rows removed


_AUDIT_TYPES = {"int": "bigint", "str": "varchar", "datetime": "timestamp"}
_KEY_COLUMNS = ("profile_id", "old_profile_id", "new_profile_id", "record_key")


def ensure_audit_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{f.name} {_AUDIT_TYPES[f.type]}" for f in fields(AuditRow))
    con.execute(f"create table if not exists {AUDIT_TABLE} ({columns}, primary key (request_id))")


def already_done(con: duckdb.DuckDBPyConnection, request_id: str) -> bool:
    if f"main.{AUDIT_TABLE}" not in table_names(con):
        return False
    return con.execute(f"select count(*) from {AUDIT_TABLE} where request_id = ?", [request_id]).fetchone()[0] > 0


def erase_warehouse(con: duckdb.DuckDBPyConnection, person: Person, audit: AuditRow) -> AuditRow:
    """Delete the person's rows from every base table and write the audit row, in one transaction."""
    pattern = person.matcher().pattern
    ensure_audit_table(con)
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_catalog = current_database() and table_name != ? order by 1, 2",
        [AUDIT_TABLE],
    ).fetchall()
    keys = sorted(person.profile_ids | person.record_keys)
    removed = {}
    con.execute("begin")
    try:
        for schema, table in tables:
            columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()}  # fmt: skip
            key_columns = [c for c in _KEY_COLUMNS if c in columns]
            # The targeted keys, and the safety net: the whole row as text mentions an identifier.
            conditions = [f't."{c}" in (select unnest($keys::varchar[]))' for c in key_columns]
            conditions.append("regexp_matches(lower(t::varchar), $pattern)")
            params = {"pattern": pattern} | ({"keys": keys} if key_columns else {})
            (n,) = con.execute(
                f'delete from "{schema}"."{table}" as t where {" or ".join(conditions)}', params
            ).fetchone()
            if n:
                removed[f"{schema}.{table}" if schema != "main" else table] = n
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
