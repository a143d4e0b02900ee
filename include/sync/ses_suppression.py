"""The SES account-level suppression list kept equal to ``suppression_list``.

Same engine, state, log and run tables as the Customer Profiles sync (object type
``SesSuppressedDestination``, keyed by the lower-cased address): an address is put with
PutSuppressedDestination when it is new or its reason changed.

Removals: an address *we* put that leaves ``suppression_list`` (a mapping fix that no
longer counts its bounce as permanent) is deleted with DeleteSuppressedDestination, so the
list keeps matching the warehouse. Addresses SES added itself or that someone added by hand
are never in our state, so they are never touched; and the mass-deletion guard refuses a run
in which the list would lose more than ``max_delete_share`` of what we put (a broken build
must not un-suppress everybody).

An erased person's address (in the erased-subject register, include/erasure/register.py) is
never removed, though the warehouse no longer lists it: erasure leaves it suppressed so they
cannot be mailed again. It leaves our state and items instead, unsent and unlogged (our tables
must not hold it), and stays on the list as SES's own; the run counts it, ``erased_kept``.
"""

from __future__ import annotations

import json
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError

from include.erasure.register import ErasedSubjects
from include.sync.config import SyncSettings
from include.sync.engine import Item, Outcome, Sync, content_hash, failure
from include.sync.state import STATE, StateRow, delete_state
from include.sync.templates import over_models
from include.warehouse.seam import Warehouse, records

OBJECT_TYPE = "SesSuppressedDestination"
# {suppression_list}: the model's relation (templates.over_models).
SOURCE_SQL = "select lower(email_address) as email_address, reason from {suppression_list} order by 1"


def items(wh: Warehouse) -> list[Item]:
    result = []
    for row in records(wh.query_df(over_models(SOURCE_SQL, wh))):
        address, reason = row["email_address"], row["reason"]
        body = json.dumps({"EmailAddress": address, "Reason": reason}, sort_keys=True)
        result.append(Item(address, None, body, content_hash(OBJECT_TYPE, body)))
    return result


class SuppressedDestinations:
    """PutSuppressedDestination / DeleteSuppressedDestination, one address per request."""

    object_type = OBJECT_TYPE
    batch_size = 1
    expires_after: timedelta | None = None  # entries stay until deleted

    def __init__(self, client):
        self.client = client

    def put(self, batch: list[Item]) -> list[Outcome]:
        (item,) = batch
        body = json.loads(item.body)
        try:
            self.client.put_suppressed_destination(EmailAddress=body["EmailAddress"], Reason=body["Reason"])
        except (ClientError, BotoCoreError) as err:
            return [failure(item.key, "put", err)]
        return [Outcome(item.key, "put", True)]

    def removal(self, row: StateRow) -> str:
        return "delete"

    def remove(self, row: StateRow, action: str) -> Outcome:
        try:
            self.client.delete_suppressed_destination(EmailAddress=row.object_key)
        except self.client.exceptions.NotFoundException:
            pass  # already off the list: what we wanted
        except (ClientError, BotoCoreError) as err:
            return failure(row.object_key, "delete", err)
        return Outcome(row.object_key, "delete", True)


def forget_erased(wh: Warehouse, erased: ErasedSubjects) -> int:
    """Drop the state rows of erased addresses, touching nothing in SES: so no run removes them."""
    keys = wh.query_df(f"select object_key from {wh.relation(STATE)} where object_type = ?", [OBJECT_TYPE])
    erased_keys = [key for key in keys["object_key"] if erased.holds_address(key)]
    wh.execute_many(delete_state(wh, "object_key", erased_keys, OBJECT_TYPE))
    return len(erased_keys)


def sync_suppression_list(wh: Warehouse, client, run_id: str, settings: SyncSettings, erased: ErasedSubjects) -> dict:
    """``erased``: the erased-subject register; its addresses are kept suppressed, outside our state."""
    kept = forget_erased(wh, erased)
    wanted = [item for item in items(wh) if not erased.holds_address(item.key)]
    return Sync(wh, SuppressedDestinations(client), run_id, settings).run(wanted) | {"erased_kept": kept}
