"""The erase_person DAG's task bodies, in the order it runs them.

Customer Profiles first; then the lake and the warehouse in one task (``erase_from_lake_and_warehouse``),
which the DAG runs holding every slot of the ``raw_zone`` pool that landing tasks take one slot
of, so no landing runs while it does: a landing that read the landing bucket before the erasure
cannot write the person back into the raw zone after it. That task holds the warehouse's write
lock from its start, so no build changes what ``resolve`` reads while the buckets are erased,
and it first adds the person to the erased-subject register, so every landing after it
quarantines their records (``erased_subject``). Each task resolves the person from the
warehouse, so no identifier travels between tasks through XCom: only counts do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

from include import settings
from include.erasure import register
from include.erasure.audit import AUDIT_TABLE, AuditRow, erase_warehouse, recorded
from include.erasure.buckets import erase_landing, erase_raw_zone, rebuild_interval
from include.erasure.customer_profiles import erase_customer_profiles, suppressions_kept
from include.erasure.request import ErasureRequestError, hash_key, identifier_hash, parse_request
from include.erasure.resolution import resolve
from include.warehouse.connection import connect

log = logging.getLogger(__name__)


def check_request(params: dict) -> dict[str, int | str]:
    """Fails (for good) on a malformed request, a request id already carried out or naming the
    person, or an email or phone several profiles hold; says what was found."""
    request = parse_request(params)
    with connect(read_only=True) as con:
        if recorded(con, request.request_id) is not None:
            raise ErasureRequestError(f"request {request.request_id} was already carried out (see {AUDIT_TABLE})")
        person = resolve(con, request)
    if person.matcher().holds(request.request_id):
        raise ErasureRequestError("request_id names the person: the audit must not; use the ticket's reference")
    if not person.profile_ids:
        log.warning("no profile holds this %s: erasing the identifier alone wherever it appears", request.kind)
    found = {"kind": request.kind, "profiles": len(person.profile_ids), "identifiers": person.identifiers,
             "shared_identifiers_kept": len(person.shared)}  # fmt: skip
    log.info("erasure %s: %s", request.request_id, found)
    return found


def erase_from_customer_profiles(params: dict, client, ses_client) -> dict[str, int]:
    """Their profiles deleted; their addresses left on the SES suppression list, and counted."""
    request = parse_request(params)
    with connect(read_only=True) as con:
        person = resolve(con, request)
    return {
        "customer_profiles": erase_customer_profiles(client, settings.CUSTOMER_PROFILES_DOMAIN, person),
        "ses_suppressions_kept": suppressions_kept(ses_client, person),
    }


def erase_from_lake_and_warehouse(
    params: dict, found: dict, counts: dict[str, int], requested_at: datetime, s3
) -> dict:
    """Register the person, erase the landing bucket and the raw zone, then the warehouse with the
    audit row (one transaction). A retry after the audit row was written returns it."""
    request = parse_request(params)
    with connect() as con:
        if (done := recorded(con, request.request_id)) is not None:
            return done
        person = resolve(con, request)
        matcher = person.matcher()
        registered = register.add(s3, settings.RAW_BUCKET, matcher.identifiers, request.request_id)
        landed = erase_landing(s3, settings.LANDING_BUCKET, matcher)
        raw = erase_raw_zone(s3, settings.RAW_BUCKET, settings.LANDING_BUCKET, matcher)
        if interval := rebuild_interval(raw["hours"]):
            log.info("raw-zone hours changed: refresh the aggregates with build_warehouse %s", interval)
        audit = AuditRow(
            request_id=request.request_id,
            requested_at=requested_at.astimezone(UTC).replace(tzinfo=None),
            identifier_kind=request.kind,
            identifier_hash=identifier_hash(request, hash_key()),
            profiles=found["profiles"],
            identifiers=found["identifiers"],
            shared_identifiers_kept=found["shared_identifiers_kept"],
            registered=registered,
            landing_objects=landed["objects"],
            landing_lines=landed["lines"],
            raw_objects=raw["objects"],
            raw_rows=raw["rows"],
            raw_manifests=raw["manifests"],
            **counts,
        )
        audit = erase_warehouse(con, person, audit)
    summary = asdict(audit) | {"requested_at": audit.requested_at.isoformat()}
    if not (audit.profiles or audit.landing_lines or audit.raw_rows or audit.warehouse_rows):
        log.warning("erasure %s: nothing held this %s; audited", request.request_id, request.kind)
    log.info("erasure %s done: %s", request.request_id, summary)
    return summary
