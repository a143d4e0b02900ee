"""The SES account-level suppression list kept equal to ``suppression_list``.

Same engine, state, log and run tables as the Customer Profiles sync (object type
``SesSuppressedDestination``, keyed by the lower-cased address): an address is put with
PutSuppressedDestination when it is new or its reason changed.

Removals: an address *we* put that leaves ``suppression_list`` (a mapping fix that no
longer counts its bounce as permanent, or an erasure) is deleted with
DeleteSuppressedDestination, so the list keeps matching the warehouse. Addresses SES added
itself or that someone added by hand are never in our state, so they are never touched;
and the mass-deletion guard refuses a run in which the list would lose more than
``max_delete_share`` of what we put (a broken build must not un-suppress everybody).
"""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
from botocore.exceptions import BotoCoreError, ClientError

from include.sync.config import SyncSettings
from include.sync.engine import Item, Outcome, Sync, content_hash, failure
from include.sync.state import StateRow
from include.sync.templates import over_models

OBJECT_TYPE = "SesSuppressedDestination"
# {suppression_list}: the model's relation (templates.over_models).
SOURCE_SQL = "select lower(email_address) as email_address, reason from {suppression_list} order by 1"


def items(con: duckdb.DuckDBPyConnection) -> list[Item]:
    result = []
    for address, reason in con.execute(over_models(SOURCE_SQL)).fetchall():
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


def sync_suppression_list(con: duckdb.DuckDBPyConnection, client, run_id: str, settings: SyncSettings) -> dict:
    return Sync(con, SuppressedDestinations(client), run_id, settings).run(items(con))
