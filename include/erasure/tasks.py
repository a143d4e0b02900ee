"""The erase_person DAG's task bodies, in the order it runs them.

Customer Profiles first; then the lake and the tables builds keep in one task
(``erase_from_lake_and_warehouse``), which the DAG runs holding every slot of the ``raw_zone`` pool
that landing tasks take one slot of, so no landing runs while it does: a landing that read the
landing bucket before the erasure cannot write the person back into the raw zone after it, and
no landing triggers a build meanwhile, so (with no build running when it starts: the DAG checks)
no build changes what ``resolve`` reads while the buckets are erased. It first adds the person
to the erased-subject register, so every landing after it quarantines their records
(``erased_subject``). Then the DAG's ``rebuild`` task group (dbt, as build_warehouse runs it)
rebuilds every table from the erased raw zone over the interval that task returns. Each task
resolves the person from the warehouse (through the seam, on DuckDB or Athena alike), so no
identifier travels between tasks through XCom: only counts and the interval do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

from include import settings
from include.erasure import register
from include.erasure.audit import AUDIT_TABLE, AuditRow, erase_warehouse, recorded
from include.erasure.buckets import changed_hours, erase_landing, erase_raw_zone
from include.erasure.customer_profiles import erase_customer_profiles, suppressions_kept
from include.erasure.request import ErasureRequestError, hash_key, identifier_hash, parse_request
from include.erasure.resolution import resolve
from include.warehouse.seam import warehouse

log = logging.getLogger(__name__)


def check_request(params: dict) -> dict[str, int | str]:
    """Fails (for good) on a malformed request, a request id already carried out or naming the
    person, or an email or phone several profiles hold; says what was found."""
    request = parse_request(params)
    wh = warehouse()
    if recorded(wh, request.request_id) is not None:
        raise ErasureRequestError(f"request {request.request_id} was already carried out (see {AUDIT_TABLE})")
    person = resolve(wh, request)
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
    person = resolve(warehouse(), parse_request(params))
    return {
        "customer_profiles": erase_customer_profiles(client, settings.CUSTOMER_PROFILES_DOMAIN, person),
        "ses_suppressions_kept": suppressions_kept(ses_client, person),
    }


def erase_from_lake_and_warehouse(
    params: dict, found: dict, counts: dict[str, int], requested_at: datetime, s3
) -> dict:
    """Register the person, erase the landing bucket and the raw zone, delete their rows from the
    tables builds keep and write the audit row; returns it, with the interval the DAG's rebuild
    covers (``rebuilt_interval_start`` / ``_end``: dbt's interval vars, None when no raw-zone hour
    changed). A retry after the audit row was written returns it."""
    request = parse_request(params)
    wh = warehouse()
    if (done := recorded(wh, request.request_id)) is not None:
        return done
    person = resolve(wh, request)
    matcher = person.matcher()
    registered = register.add(s3, settings.RAW_BUCKET, matcher.identifiers, request.request_id)
    landed = erase_landing(s3, settings.LANDING_BUCKET, matcher)
    raw = erase_raw_zone(s3, settings.RAW_BUCKET, settings.LANDING_BUCKET, matcher)
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
    audit = erase_warehouse(wh, person, audit, changed_hours(raw["hours"]))
    summary = asdict(audit) | {"requested_at": audit.requested_at.isoformat()}
    if not (audit.profiles or audit.landing_lines or audit.raw_rows or audit.warehouse_rows):
        log.warning("erasure %s: nothing held this %s; audited", request.request_id, request.kind)
    log.info("erasure %s done: %s", request.request_id, summary)
    return summary
