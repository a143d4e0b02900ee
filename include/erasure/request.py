"""An erasure request: who it names, checked and normalised, and the audit's keyed hash of it.

A request names the person by exactly one identifier (an email, a phone, or a profile_id) and
carries its reference (``request_id``, a ticket id). The audit row holds a keyed hash
(HMAC-SHA256) of the identifier, never the value: phones and emails are guessable, so a plain
hash would itself be a trace.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from include import settings
from include.landing import sources

IDENTIFIER_KINDS = ("email", "phone", "profile_id")


class ErasureRequestError(ValueError):
    """The request cannot be carried out as given (retrying would not help)."""


@dataclass(frozen=True)
class Request:
    request_id: str
    kind: str  # email | phone | profile_id
    value: str  # normalised: email lower-cased, phone E.164


def parse_request(params: dict) -> Request:
    """Exactly one of email, phone (E.164, or national in ``phone_country``), profile_id; and a request_id."""
    given = {kind: str(params[kind]).strip() for kind in IDENTIFIER_KINDS if params.get(kind) not in (None, "")}
    if len(given) != 1:
        raise ErasureRequestError(f"give exactly one of {', '.join(IDENTIFIER_KINDS)}; got {sorted(given) or 'none'}")
    request_id = str(params.get("request_id") or "").strip()
    if not request_id:
        raise ErasureRequestError("request_id is required: the erasure request's reference, for the audit")
    ((kind, value),) = given.items()
    if kind == "email":
        value = value.lower()
        if "@" not in value:
            raise ErasureRequestError("email is not an email address")
    elif kind == "phone":
        region = str(params.get("phone_country") or settings.DEFAULT_PHONE_REGION).upper()
        normalised = json.loads(sources.normalise_phone(value, region))
        if normalised["phone_status"] != "valid":
            raise ErasureRequestError(f"phone is not a valid number (national numbers are read in {region})")
        value = normalised["phone_e164"]
    return Request(request_id, kind, value)


def hash_key() -> bytes:
    """The audit hash's key: ``C360_ERASURE_HASH_KEY`` (production: from the secrets backend), else
    a random key kept in ``var/`` beside the local warehouse, created on first use."""
    if key := settings.erasure_hash_key():
        return key.encode()
    path = settings.VAR_DIR / "erasure_hash.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()


def identifier_hash(request: Request, key: bytes) -> str:
    return hmac.new(key, f"{request.kind}:{request.value}".encode(), hashlib.sha256).hexdigest()
