"""Who a request names: every profile the identifier belongs to, and every identifier of those profiles.

``resolve`` finds the profiles (``profile_links`` through the normalised identity records,
``unified_profiles``, and ids merged into them in ``profile_merges``), then their emails,
phones, loyalty ids, CRM ids, source record ids, record keys and profile ids. An identifier
that records of *other* profiles hold too (a shared family phone) is not matched: erasing it
would erase someone else. A request by an email or phone that several profiles hold is
refused: it must name one profile_id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from include.erasure.matching import Matcher, build_pattern
from include.erasure.request import ErasureRequestError, Request

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    profile_ids: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()  # loyalty, CRM and source record ids, record keys, profile ids
    record_keys: frozenset[str] = frozenset()
    shared: frozenset[str] = frozenset()  # held by other profiles' records too: not matched

    @property
    def identifiers(self) -> int:
        return len(self.emails) + len(self.phones) + len(self.ids)

    def matcher(self) -> Matcher:
        return Matcher(build_pattern(set(self.emails), set(self.phones), set(self.ids)))


_NORMALISED = "main_intermediate.int_identity_records_normalised"
_SEED_SQL = {
    "email": f"""
        select links.profile_id from profile_links as links
        inner join {_NORMALISED} as records using (record_key) where records.email = $value
        union select profile_id from unified_profiles where list_contains(emails, $value)""",
    "phone": f"""
        select links.profile_id from profile_links as links
        inner join {_NORMALISED} as records using (record_key) where records.phone = $value
        union select profile_id from unified_profiles where list_contains(phones, $value)""",
    "profile_id": """
        select profile_id from profile_links where profile_id = $value
        union select profile_id from unified_profiles where profile_id = $value
        union select old_profile_id from profile_merges where old_profile_id = $value""",
}
# Every identifying value of a record, one row each.
_RECORD_VALUES = f"""
    select links.profile_id, records.record_key, records.source_kind, kind, value
    from profile_links as links
    inner join {_NORMALISED} as records using (record_key)
    cross join lateral (values
        ('email', records.email), ('phone', records.phone), ('id', records.loyalty_id),
        ('id', records.crm_customer_id),
        ('id', case when records.source_kind != 'engagement' then records.source_record_id end)
    ) as identifying (kind, value)
    where value is not null
"""


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    }


def resolve(con: duckdb.DuckDBPyConnection, request: Request) -> Person:
    """Every profile the identifier belongs to and every identifier of those profiles.

    With no profile found, the given identifier alone is erased (it may still sit in
    quarantined lines or sync state)."""
    tables = table_names(con)
    needed = {"main.profile_links", "main.unified_profiles", "main.profile_merges", _NORMALISED}
    given = {"email": set(), "phone": set(), "id": set()}
    given["id" if request.kind == "profile_id" else request.kind].add(request.value)
    if not needed <= tables:
        log.warning("the warehouse has no profiles yet (%s missing): erasing the given identifier only",
                    sorted(needed - tables))  # fmt: skip
        return _person(set(), given, set(), set())

    profiles = {p for (p,) in con.execute(_SEED_SQL[request.kind], {"value": request.value}).fetchall()}
    if len(profiles) > 1 and request.kind != "profile_id":
        # Identity resolution links records sharing a valid email or mobile, so several profiles
        # holding it are several people (a family phone): erasing all of them is not what was asked.
        raise ErasureRequestError(
            f"the {request.kind} belongs to {len(profiles)} profiles: erase by profile_id, one person at a time"
        )
    # Ids merged into one another are the same person's: follow merge history both ways.
    merges = con.execute(
        "select old_profile_id, new_profile_id from profile_merges where change_kind = 'merge'"
    ).fetchall()
    grown = True
    while grown:
        before = len(profiles)
        profiles |= {new for old, new in merges if old in profiles} | {old for old, new in merges if new in profiles}
        grown = len(profiles) > before

    con.execute("create or replace temp table erasure_profiles as select unnest($p::varchar[]) as profile_id",
                {"p": sorted(profiles)})  # fmt: skip
    values = con.execute(
        f"select record_key, kind, value from ({_RECORD_VALUES}) where profile_id in (select * from erasure_profiles)"
    ).fetchall()
    record_keys = {key for key, _, _ in values} | {
        key
        for (key,) in con.execute(
            "select record_key from profile_links where profile_id in (select * from erasure_profiles)"
        ).fetchall()
    }
    for _, kind, value in values:
        given[kind].add(value)
    # The same value on a record of someone else's profile: matching it would erase them too.
    mine = sorted({v for vs in given.values() for v in vs})
    shared = {
        value
        for (value,) in con.execute(
            f"select distinct value from ({_RECORD_VALUES}) "
            "where profile_id not in (select * from erasure_profiles) and value in (select unnest($v::varchar[]))",
            {"v": mine},
        ).fetchall()
    }
    return _person(profiles, given, record_keys, shared)


def _person(profiles: set[str], given: dict[str, set[str]], record_keys: set[str], shared: set[str]) -> Person:
    return Person(
        profile_ids=frozenset(profiles),
        emails=frozenset(given["email"] - shared),
        phones=frozenset(given["phone"] - shared),
        ids=frozenset((given["id"] | profiles | record_keys) - shared),
        record_keys=frozenset(record_keys),
        shared=frozenset(shared),
    )
