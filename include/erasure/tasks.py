"""The erase_person DAG's task bodies, in the order it runs them.

The warehouse goes last, because it is what ``resolve`` reads, so a retried task still finds
the person. Each task resolves the person again from the warehouse (unchanged until the last
task), so no identifier travels between tasks through XCom: only counts do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

from include import settings
from include.erasure.audit import AUDIT_TABLE, AuditRow, already_done, erase_warehouse
from include.erasure.buckets import erase_landing, erase_raw_zone, rebuild_interval
from include.erasure.customer_profiles import erase_customer_profiles, erase_suppressions
from include.erasure.request import ErasureRequestError, Request, hash_key, identifier_hash, parse_request
from include.erasure.resolution import Person, resolve
from include.warehouse.connection import connect

log = logging.getLogger(__name__)


def _resolved(params: dict) -> tuple[Request, Person]:
    request = parse_request(params)
    with connect(read_only=True) as con:
        return request, resolve(con, request)


def check_request(params: dict) -> dict[str, int | str]:
    """Fails (for good) on a malformed request, a request id already carried out or naming the
    person, or an email or phone several profiles hold; says what was found."""
    request = parse_request(params)
    with connect(read_only=True) as con:
        if already_done(con, request.request_id):
            raise ErasureRequestError(f"request {request.request_id} was already carried out (see {AUDIT_TABLE})")
        person = resolve(con, request)
    if person.matcher().mentions(request.request_id):
        raise ErasureRequestError("request_id names the person: the audit must not; use the ticket's reference")
    if not person.profile_ids:
        log.warning("no profile holds this %s: erasing the identifier alone wherever it appears", request.kind)
    found = {"kind": request.kind, "profiles": len(person.profile_ids), "identifiers": person.identifiers,
             "shared_identifiers_kept": len(person.shared)}  # fmt: skip
    log.info("erasure %s: %s", request.request_id, found)
    return found


def erase_from_customer_profiles(params: dict, client, ses_client) -> dict[str, int]:
    _, person = _resolved(params)
    return {
        "customer_profiles": erase_customer_profiles(client, settings.CUSTOMER_PROFILES_DOMAIN, person),
        "ses_suppressions": erase_suppressions(ses_client, person),
    }


def erase_from_buckets(params: dict, s3) -> dict:
    matcher = _resolved(params)[1].matcher()
    landed = erase_landing(s3, settings.LANDING_BUCKET, matcher)
    raw = erase_raw_zone(s3, settings.RAW_BUCKET, settings.LANDING_BUCKET, matcher)
    interval = rebuild_interval(raw["hours"])
    if interval:
        log.info("raw-zone hours changed: refresh the aggregates with build_warehouse %s", interval)
    return {
        "landing_objects": landed["objects"],
        "landing_lines": landed["lines"],
        "raw_objects": raw["objects"],
        "raw_rows": raw["rows"],
        "raw_manifests": raw["manifests"],
    }


def erase_from_warehouse(params: dict, found: dict, counts: dict[str, int], requested_at: datetime) -> dict:
    """The warehouse last, with the audit row: one transaction."""
    request = parse_request(params)
    with connect() as con:
        person = resolve(con, request)
        audit = AuditRow(
            request_id=request.request_id,
            requested_at=requested_at.astimezone(UTC).replace(tzinfo=None),
            identifier_kind=request.kind,
            identifier_hash=identifier_hash(request, hash_key()),
            profiles=found["profiles"],
            identifiers=found["identifiers"],
            shared_identifiers_kept=found["shared_identifiers_kept"],
            **counts,
        )
        audit = erase_warehouse(con, person, audit)
    summary = asdict(audit) | {"requested_at": audit.requested_at.isoformat()}
    if not (audit.profiles or audit.landing_lines or audit.raw_rows or audit.warehouse_rows):
        log.warning("erasure %s: nothing held this %s; audited", request.request_id, request.kind)
    log.info("erasure %s done: %s", request.request_id, summary)
    return summary
