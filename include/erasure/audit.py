"""The person out of the tables builds keep, the ``erasure_audit`` row, and what to rebuild.

A table dbt builds from the raw zone loses the person when it is rebuilt from the erased raw
zone (the erase_person DAG's ``rebuild`` task group: ``rebuild_interval``). What no build
rewrites holds the person until deleted here, by their keys, with plain SQL both engines run
through the warehouse seam (Iceberg tables on Athena): the sync's state and log (object keys:
a profile id, ``<profile id>|…``, an address) and ``profile_merges`` (history: old and new
profile ids). The audit row (the ``erasure_audit`` model) counts what each place removed, and
holds a keyed hash of the identifier (``request.identifier_hash``), never the value.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from include.erasure.resolution import Person
from include.intervals import HOUR, dbt_vars
from include.warehouse.seam import MissingRelation, Warehouse, records

AUDIT_TABLE = "erasure_audit"
# Rows of another sync object keyed by the profile: "<profile id>|<channel>|<message id>", …
KEY_SEPARATOR = "|"


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
    warehouse_rows: int = 0  # deleted by key from the tables builds keep
    warehouse_tables: str = "{}"  # JSON: table -> rows deleted by key
    rebuilt_interval_start: str | None = None  # what the rebuild covers: dbt's interval vars
    rebuilt_interval_end: str | None = None


# The audit model's column types (its contract: a test holds the two equal), for the casts that
# type each written value: a NULL in VALUES has no type of its own.
AUDIT_TYPES = {"int": "bigint", "str": "varchar", "datetime": "timestamp(6)", "str | None": "varchar"}


def recorded(wh: Warehouse, request_id: str) -> dict | None:
    """The request's audit row, if it was carried out (its timestamps as ISO text)."""
    try:
        found = records(wh.query_df(f"select * from {wh.relation(AUDIT_TABLE)} where request_id = ?", [request_id]))
    except MissingRelation:  # no build has made the table yet: nothing was carried out
        return None
    if not found:
        return None
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in found[0].items()}


def _in(values: list[str]) -> str:
    return f"({', '.join('?' * len(values))})"


def _escaped(value: str) -> str:
    """``value`` as a LIKE pattern's literal text (escape character ``!``)."""
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def key_deletes(wh: Warehouse, person: Person) -> dict[str, tuple[str, list]]:
    """Per table builds keep, the DELETE of the person's rows, selected by their keys only."""
    profiles = sorted(person.profile_ids)
    keys = sorted(person.emails | person.phones | person.ids | person.profile_ids)
    if not keys:
        return {}
    prefixed = "".join(" or object_key like ? escape '!'" for _ in profiles)
    prefixes = [_escaped(p + KEY_SEPARATOR) + "%" for p in profiles]
    deletes = {
        "customer_profiles_sync_state": (
            f"delete from {{}} where object_key in {_in(keys)}{prefixed}"
            + (f" or profile_id in {_in(profiles)}" if profiles else ""),
            [*keys, *prefixes, *profiles],
        ),
        "customer_profiles_sync_log": (
            f"delete from {{}} where object_key in {_in(keys)}{prefixed}",
            [*keys, *prefixes],
        ),
    }
    if profiles:
        deletes["profile_merges"] = (
            f"delete from {{}} where old_profile_id in {_in(profiles)} or new_profile_id in {_in(profiles)}",
            [*profiles, *profiles],
        )
    return {table: (sql.format(wh.relation(table)), params) for table, (sql, params) in deletes.items()}


def rebuild_interval(wh: Warehouse, hours: list[datetime]) -> dict[str, str] | None:
    """The build interval that rebuilds every table from the erased raw zone (``hours``: those the
    erasure changed, UTC): from the first of them to the end of the last hour built
    (``landing_reconciliation`` has a row for each), so the hourly marts' changed partitions are
    rewritten and every state-of-the-world table sees all it saw before. None when no hour changed."""
    if not hours:
        return None
    try:
        built = wh.query_df(f"select max(ingest_hour) as last_hour from {wh.relation('landing_reconciliation')}")
        last_built = [moment.to_pydatetime().replace(tzinfo=UTC) for moment in built["last_hour"].dropna()]
    except MissingRelation:  # landed, never built
        last_built = []
    return dbt_vars(min(hours), max(hours + last_built) + HOUR)


def erase_warehouse(wh: Warehouse, person: Person, audit: AuditRow, hours: list[datetime]) -> AuditRow:
    """Delete the person's rows from the tables builds keep, then write the audit row with the
    interval the DAG's rebuild covers. Each DELETE is idempotent and the audit row comes last,
    so a retry after a stop finishes the job (the rows a first try deleted are not counted again)."""
    removed = {}
    for table, (sql, params) in key_deletes(wh, person).items():
        if deleted := wh.execute(sql, params):
            removed[table] = deleted
    audit.warehouse_rows = sum(removed.values())
    audit.warehouse_tables = json.dumps(removed, sort_keys=True)
    if interval := rebuild_interval(wh, hours):
        audit.rebuilt_interval_start, audit.rebuilt_interval_end = interval.values()
    row = asdict(audit)
    kinds = {name: AUDIT_TYPES[kind] for name, kind in AuditRow.__annotations__.items()}
    wh.execute(
        f"insert into {wh.relation(AUDIT_TABLE)} ({', '.join(row)}) "
        f"values ({', '.join(f'cast(? as {kinds[name]})' for name in row)})",
        list(row.values()),
    )
    return audit
