"""Diff-based push of the warehouse to Amazon Connect Customer Profiles.

What is sent
- Each object type (include/sync/templates.py) is one target: an object is sent when its
  content hash (object JSON + template) differs from its last successful push, or when that
  push is within a week of its ExpirationDays. Objects that left the query are deleted
  (DeleteProfileObject). UnifiedProfile goes first and alone creates profiles; the other
  types attach to them (AllowProfileCreation false), and an object whose profile was never
  pushed waits, logged, for a later run.

Merges: MergeProfiles, not re-keying
A profile_id that leaves unified_profiles was either merged into another (profile_merges,
change_kind 'merge') or is gone (erased, or split with no part keeping the id). For a merge
we call MergeProfiles(main = the surviving profile, merged = the old one) and then delete
the old id's own objects, which the merge moved over. Re-keying (DeleteProfile on the old
profile, push under the new id) would be simpler, but a Customer Profiles profile holds
more than we push: contact records, cases and other integrations' objects attached to the
old profile would be lost; MergeProfiles moves them. Customer Profiles has its own
ProfileIds, so ours are mapped to theirs with SearchProfiles on the ``profile_id`` key
(after a merge the old key points to the surviving profile, so a retried merge finds both
ids equal and goes on). A profile gone without a merge is deleted with DeleteProfile.

The request rate: include/sync/rate_limit.py; state, retries and guards: include/sync/engine.py.
"""

from __future__ import annotations

import contextlib

from botocore.exceptions import BotoCoreError, ClientError

from include.sync.config import PROFILE_KEY, PROFILE_TYPE, SyncSettings
from include.sync.engine import Item, Outcome, Sync, failure
from include.sync.state import STATE, StateRow, pushed_profiles
from include.sync.templates import ObjectType, load_object_type, over_models
from include.warehouse.seam import Warehouse, records

# A batch's per-item result carries an HTTP status. Throttled: not the object's fault (no attempt);
# unauthenticated or forbidden: the account's (the run stops, as for a refused request).
ITEM_THROTTLED = 429
ITEM_UNAVAILABLE = frozenset({401, 403})


class ProfileObjects:
    """Objects of one type: BatchPutProfileObject (10 per request, a result per item), DeleteProfileObject."""

    batch_size = 10

    def __init__(self, client, domain: str, object_type: ObjectType):
        self.client, self.domain, self.type = client, domain, object_type
        self.object_type = object_type.name
        self.expires_after = object_type.expires_after

    def put(self, items: list[Item]) -> list[Outcome]:
        request = [{"Id": str(i), "Object": item.body} for i, item in enumerate(items)]
        try:
            response = self.client.batch_put_profile_object(
                DomainName=self.domain, ObjectTypeName=self.object_type, Items=request
            )
        except (ClientError, BotoCoreError) as err:
            return [failure(item.key, "put", err) for item in items]
        outcomes = {
            int(ok["Id"]): Outcome(items[int(ok["Id"])].key, "put", True, unique_key=ok["ProfileObjectUniqueKey"])
            for ok in response.get("Successful", [])
        }
        for bad in response.get("Failed", []):
            i, code = int(bad["Id"]), bad["Code"]
            outcomes[i] = Outcome(
                items[i].key,
                "put",
                False,
                None,
                str(code),
                bad["Message"],
                transient=code == ITEM_THROTTLED or code >= 500,
                unavailable=code in ITEM_UNAVAILABLE,
            )
        return [
            outcomes.get(i, Outcome(item.key, "put", False, None, "NoResult", "the response did not mention this item"))
            for i, item in enumerate(items)
        ]

    def profile_of(self, profile_id: str) -> str | None:
        """Customer Profiles' ProfileId for our profile_id (its PROFILE key), or None."""
        found = self.client.search_profiles(DomainName=self.domain, KeyName=PROFILE_KEY, Values=[profile_id])
        ids = sorted(item["ProfileId"] for item in found["Items"])
        return ids[0] if ids else None

    def _delete_object(self, cp_profile_id: str, object_type: str, unique_key: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceNotFoundException):  # already gone: fine
            self.client.delete_profile_object(
                DomainName=self.domain,
                ProfileId=cp_profile_id,
                ObjectTypeName=object_type,
                ProfileObjectUniqueKey=unique_key,
            )

    def removal(self, row: StateRow) -> str:
        return "delete"

    def remove(self, row: StateRow, action: str) -> Outcome:
        try:
            cp_profile_id = self.profile_of(row.profile_id)
            if cp_profile_id is not None:  # else the profile, and the object with it, is gone
                self._delete_object(cp_profile_id, self.object_type, row.unique_key)
        except (ClientError, BotoCoreError) as err:
            return failure(row.object_key, "delete", err)
        return Outcome(row.object_key, "delete", True)


class UnifiedProfiles(ProfileObjects):
    """The profile objects; a profile that left the warehouse is merged (profile_merges) or deleted."""

    def __init__(
        self,
        client,
        domain: str,
        object_type: ObjectType,
        merged_into: dict[str, str],
        objects_of: dict[str, list[tuple[str, str]]],
    ):
        super().__init__(client, domain, object_type)
        self.merged_into = merged_into  # old profile_id -> the live profile_id it ended up in
        self.objects_of = objects_of  # profile_id -> [(object type, unique key)] we pushed for it

    def removal(self, row: StateRow) -> str:
        into = self.merged_into.get(row.object_key)
        return f"merge:{into}" if into else "delete_profile"

    def remove(self, row: StateRow, action: str) -> Outcome:
        operation = action.split(":")[0]
        try:
            old = self.profile_of(row.object_key)
            if old is None:  # never created, or already removed by someone else
                return Outcome(row.object_key, operation, True)
            if operation == "delete_profile":
                self.client.delete_profile(DomainName=self.domain, ProfileId=old)
                return Outcome(row.object_key, operation, True)
            into = action.removeprefix("merge:")
            main = self.profile_of(into)
            if main is None:  # its push failed: wait for it
                return Outcome(
                    row.object_key, operation, False, None, "MergeTargetNotPushed", f"{into} is not pushed", True
                )
            if main != old:  # equal when an earlier try merged and then failed on the deletes
                self.client.merge_profiles(DomainName=self.domain, MainProfileId=main, ProfileIdsToBeMerged=[old])
            for object_type, unique_key in self.objects_of.get(row.object_key, []):
                self._delete_object(main, object_type, unique_key)  # the old id's objects, moved by the merge
        except (ClientError, BotoCoreError) as err:
            return failure(row.object_key, operation, err)
        return Outcome(row.object_key, operation, True)


# Merge records, oldest first; at the same time, the move of most records last (it wins).
# {profile_merges}: the model's relation (templates.over_models).
MERGES_SQL = """
select old_profile_id, new_profile_id from {profile_merges} where change_kind = 'merge'
order by recorded_for, moved_records, new_profile_id desc
"""


def merge_targets(wh: Warehouse, live: set[str]) -> dict[str, str]:
    """old profile_id -> the live profile it was merged into, following chains (a→b, then b→c)."""
    rows = records(wh.query_df(over_models(MERGES_SQL, wh)))
    # The latest record wins; at a tie, the biggest move.
    latest = {row["old_profile_id"]: row["new_profile_id"] for row in rows}
    resolved = {}
    for old in latest:
        seen, current = {old}, latest[old]
        while current not in live and current in latest and current not in seen:
            seen.add(current)
            current = latest[current]
        if current in live:
            resolved[old] = current
    return resolved


def sync_object_type(wh: Warehouse, client, domain: str, name: str, run_id: str, settings: SyncSettings) -> dict:
    """One object type: push what changed, remove what left (for UnifiedProfile: merge or delete profiles)."""
    object_type = load_object_type(name)
    items = object_type.items(wh)
    if name == PROFILE_TYPE:
        live = {item.key for item in items}
        objects_of: dict[str, list[tuple[str, str]]] = {}
        pushed = wh.query_df(
            f"select profile_id, object_type, unique_key from {wh.relation(STATE)} "
            "where unique_key is not null and profile_id is not null order by profile_id, object_type, unique_key"
        )
        for row in records(pushed):
            if row["profile_id"] not in live:
                objects_of.setdefault(row["profile_id"], []).append((row["object_type"], row["unique_key"]))
        target = UnifiedProfiles(client, domain, object_type, merge_targets(wh, live), objects_of)
        return Sync(wh, target, run_id, settings).run(items)
    profiles = pushed_profiles(wh)
    return Sync(wh, ProfileObjects(client, domain, object_type), run_id, settings).run(
        items, waiting=lambda item: item.profile_id not in profiles
    )
