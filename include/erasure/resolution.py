"""Who a request names: every profile the identifier belongs to, and every identifier of those profiles.

``resolve`` finds the profiles (the identifying values of their linked records,
``profile_record_identifiers``; the addresses ``unified_profiles`` holds, ``profile_addresses``;
and ids merged into them in ``profile_merges``), then their emails, phones, loyalty ids, CRM
ids, source record ids, record keys and profile ids. An identifier that records of *other*
profiles hold too (a shared family phone) is not matched: erasing it would erase someone
else. A request by an email or phone that several profiles hold is refused: it must name one
profile_id.

The lookups are dbt models (dbt/models/marts/profiles/), read through the warehouse seam: plain
selects over each model's relation with ``?`` values, the same on DuckDB and Athena.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from include.erasure.matching import Matcher
from include.erasure.request import ErasureRequestError, Request
from include.warehouse.seam import MissingRelation, Warehouse

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
        return Matcher(set(self.emails), set(self.phones), set(self.ids))


# The models resolution reads; without any of them no build has made profiles yet.
MODELS = ("profile_record_identifiers", "profile_addresses", "profile_links", "unified_profiles", "profile_merges")
# The profiles a request's value names; {model}: each model's relation, ?: the value.
_SEED_SQL = {
    "email": """
        select profile_id from {profile_record_identifiers} where kind = 'email' and value = ?
        union select profile_id from {profile_addresses} where kind = 'email' and address = ?""",
    "phone": """
        select profile_id from {profile_record_identifiers} where kind = 'phone' and value = ?
        union select profile_id from {profile_addresses} where kind = 'phone' and address = ?""",
    "profile_id": """
        select profile_id from {profile_links} where profile_id = ?
        union select profile_id from {unified_profiles} where profile_id = ?
        union select old_profile_id from {profile_merges} where old_profile_id = ?""",
}


def _placeholders(values: list[str]) -> str:
    return ", ".join("?" * len(values))


def _rows(wh: Warehouse, sql: str, params: list) -> list[tuple]:
    return list(wh.query_df(sql, params).itertuples(index=False, name=None))


def resolve(wh: Warehouse, request: Request) -> Person:
    """Every profile the identifier belongs to and every identifier of those profiles.

    With no profile found, the given identifier alone is erased (it may still sit in
    quarantined lines or sync state)."""
    relations = {model: wh.relation(model) for model in MODELS}
    given = {"email": set(), "phone": set(), "id": set()}
    given["id" if request.kind == "profile_id" else request.kind].add(request.value)
    seed = _SEED_SQL[request.kind].format(**relations)
    try:
        profiles = {p for (p,) in _rows(wh, seed, [request.value] * seed.count("?"))}
        # Ids merged into one another are the same person's: follow merge history both ways.
        merges = _rows(
            wh,
            f"select old_profile_id, new_profile_id from {relations['profile_merges']} where change_kind = ?",
            ["merge"],
        )
    except MissingRelation as missing:
        log.warning("the warehouse has no profiles yet (%s): erasing the given identifier only", missing)
        return _person(set(), given, set(), set())
    if len(profiles) > 1 and request.kind != "profile_id":
        # Identity resolution links records sharing a valid email or mobile, so several profiles
        # holding it are several people (a family phone): erasing all of them is not what was asked.
        raise ErasureRequestError(
            f"the {request.kind} belongs to {len(profiles)} profiles: erase by profile_id, one person at a time"
        )
    grown = True
    while grown:
        before = len(profiles)
        profiles |= {new for old, new in merges if old in profiles} | {old for old, new in merges if new in profiles}
        grown = len(profiles) > before

    identifiers = relations["profile_record_identifiers"]
    chosen = sorted(profiles)
    values, record_keys = [], set()
    if chosen:
        values = _rows(
            wh,
            f"select record_key, kind, value from {identifiers} where profile_id in ({_placeholders(chosen)})",
            chosen,
        )
        links = _rows(
            wh,
            f"select record_key from {relations['profile_links']} where profile_id in ({_placeholders(chosen)})",
            chosen,
        )
        record_keys = {key for key, _, _ in values} | {key for (key,) in links}
    for _, kind, value in values:
        given[kind].add(value)
    # The same value on a record of someone else's profile: matching it would erase them too.
    mine = sorted({v for vs in given.values() for v in vs})
    others = f" and profile_id not in ({_placeholders(chosen)})" if chosen else ""
    shared = {
        value
        for (value,) in _rows(
            wh,
            f"select distinct value from {identifiers} where value in ({_placeholders(mine)}){others}",
            [*mine, *chosen],
        )
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
