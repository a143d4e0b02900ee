"""An erasure request: who it names, checked and normalised, and the audit's keyed hash of it.

A request names the person by exactly one identifier (an email, a phone, or a profile_id) and
carries its reference (``request_id``, a ticket id). The audit row holds a keyed hash
(HMAC-SHA256) of the identifier, never the value: phones and emails are guessable, so a plain
hash would itself be a trace. The erased-subject register (register.py) keeps the person's
identifiers hashed with the same key, ``keyed_hash``.

An identifier shorter than its kind's minimum is refused: an email that is not one, a phone of
fewer than ``MIN_PHONE_DIGITS`` national digits, a profile_id of fewer than
``MIN_TEXT_ID_CHARS`` characters (matching.py says why those lengths).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

import phonenumbers

from include import settings
from include.erasure.matching import MIN_PHONE_DIGITS, MIN_TEXT_ID_CHARS
from include.landing import sources

IDENTIFIER_KINDS = ("email", "phone", "profile_id")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


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
        if not _EMAIL.fullmatch(value):
            raise ErasureRequestError("email is not an email address (name@domain.tld)")
    elif kind == "phone":
        region = str(params.get("phone_country") or settings.DEFAULT_PHONE_REGION).upper()
        normalised = json.loads(sources.normalise_phone(value, region))
        if normalised["phone_status"] != "valid":
            raise ErasureRequestError(f"phone is not a valid number (national numbers are read in {region})")
        value = normalised["phone_e164"]
        if len(phonenumbers.national_significant_number(phonenumbers.parse(value))) < MIN_PHONE_DIGITS:
            raise ErasureRequestError(f"phone has fewer than {MIN_PHONE_DIGITS} national digits: too short to erase by")
    elif len(value) < MIN_TEXT_ID_CHARS:
        raise ErasureRequestError(f"profile_id is shorter than {MIN_TEXT_ID_CHARS} characters: no profile id is")
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


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``kind:value``: the audit's and the register's trace of an identifier."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def identifier_hash(request: Request, key: bytes) -> str:
    return keyed_hash(key, request.kind, request.value)
