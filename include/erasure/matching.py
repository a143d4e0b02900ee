"""Whether a value names the person: identifiers matched exactly, field by field, and in text only when long.

Structured data (a JSON line, a CSV row, a raw-zone row) is walked value by
value, JSON held in a string included, and each value is compared after its type's
normalisation (``identifier_values``):

- an email: trimmed and lower-cased; also found inside text (a URL's ``%40`` decoded), where
  its own characters bound it, so ``xana@…`` or ``ana@example.com.au`` are other addresses;
- a phone: a string of phone characters with 7 to 15 digits, read as E.164 (with its ``+``,
  in the default region, or as digits after a country code, as WhatsApp writes them);
- an id (loyalty, CRM, source record, record key, profile id): the exact string, or a JSON
  integer equal to it, only in an id field (``id``, ``*_id``, ``*Id``, ``*_key``, ``*_ids``).
  So erasing CRM id ``42`` leaves ``10:42:00``, ``0.42`` and ``"points_balance":42`` alone.

Free text (a message body, a URL, a line that is not JSON) is searched as well, but only for
identifiers long enough not to occur by chance: every email, phones of at least
``MIN_PHONE_DIGITS`` national digits, ids of at least ``MIN_TEXT_ID_CHARS`` characters,
each bounded by characters that could not continue it. Shorter ones are found as whole values only.

``candidate_pattern`` is a cheap superset of all that (every identifier between
non-identifier characters), one regular expression: it skips the objects and lines the exact
walk need not judge.

The erased-subject register (register.py) hashes the same ``identifier_values``, so landing
recognises a returning person by exactly the values erasure removes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import phonenumbers

from include import settings

MIN_PHONE_DIGITS = 7  # a phone's national significant number, for text search and requests
MIN_TEXT_ID_CHARS = 6  # an id searched inside text (and a requested profile_id)

_PHONE_SEPARATORS = "[ ().-]{0,2}"  # between digits: "(206) 247-8200", "+44 7400 123456"
_PHONE_SHAPED = re.compile(r"\+?[0-9 ().\-]{7,24}")
_EMAIL_IN_TEXT = re.compile(r"[a-z0-9._+\-]+@[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)+")
_ID_FIELD = re.compile(r"(?i:^(?:id|ids|key)$|_(?:id|ids|key)$)|[a-z0-9](?:Id|ID|Ids|IDs|Key)$")
# Identifier = (kind, normalised value): ("email", "ana@example.com"), ("phone", "+12062478200"), ("id", "C42").
Identifier = tuple[str, str]


def is_id_field(name: str) -> bool:
    return _ID_FIELD.search(name) is not None


@lru_cache(maxsize=1 << 16)
def phone_values(text: str) -> frozenset[str]:
    """The E.164 numbers a phone-shaped string can be: as written (with its '+', or national in the
    default region) and, for bare digits, after a country code."""
    digits = re.sub(r"[^0-9]", "", text)
    if not 7 <= len(digits) <= 15:
        return frozenset()
    readings = [(text, None)] if text.startswith("+") else [(text, settings.DEFAULT_PHONE_REGION), ("+" + digits, None)]
    found = set()
    for number_text, region in readings:
        try:
            number = phonenumbers.parse(number_text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return frozenset(found)


def _parsed_json(text: str) -> Any:
    """``text`` as a JSON object or array, if it is one (JSON held in a string: SNS, WhatsApp, raw rows)."""
    if text[:1] not in ("{", "["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def identifier_values(value: Any, field: str = "") -> Iterator[Identifier]:
    """Every identifier ``value`` holds as a value (emails also inside text), normalised; ``field``:
    the name the value sits under (ids count only in id fields)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from identifier_values(key)  # a map keyed by address
            yield from identifier_values(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from identifier_values(item, field)
    elif isinstance(value, str):
        text = value.strip()
        if (parsed := _parsed_json(text)) is not None:
            yield from identifier_values(parsed, field)
            return
        if is_id_field(field) and text:
            yield "id", text
        if "@" in text or "%40" in text:
            for email in _EMAIL_IN_TEXT.findall(text.lower().replace("%40", "@")):
                yield "email", email
        if _PHONE_SHAPED.fullmatch(text):
            for e164 in phone_values(text):
                yield "phone", e164
    elif isinstance(value, int) and not isinstance(value, bool) and is_id_field(field):
        yield "id", str(value)


def _phone_pattern(e164: str) -> str:
    """The number with or without its country code (and '+'), or with a national trunk 0, any spacing."""
    number = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(number)
    return rf"(?:\+?{number.country_code}{_PHONE_SEPARATORS})?(?:0{_PHONE_SEPARATORS})?" + _PHONE_SEPARATORS.join(
        national
    )


def _national_digits(e164: str) -> int:
    return len(phonenumbers.national_significant_number(phonenumbers.parse(e164)))


def build_pattern(emails: set[str], phones: set[str], ids: set[str]) -> str | None:
    """One regular expression over lower-cased text: each identifier between characters that could not continue it."""
    parts = []
    if phones:
        alternatives = "|".join(_phone_pattern(p) for p in sorted(phones))
        parts.append(rf"(?:^|[^0-9])(?:{alternatives})(?:[^0-9]|$)")
    if emails:
        # Also URL-encoded, as in a click-tracking link.
        variants = sorted({e.lower() for e in emails} | {e.lower().replace("@", "%40") for e in emails})
        alternatives = "|".join(re.escape(e) for e in variants)
        parts.append(rf"(?:^|[^a-z0-9._+\-])(?:{alternatives})(?:$|[^a-z0-9_.\-]|\.$|\.[^a-z0-9])")
    if ids:
        alternatives = "|".join(re.escape(i.lower()) for i in sorted(ids))
        parts.append(rf"(?:^|[^a-z0-9])(?:{alternatives})(?:[^a-z0-9]|$)")
    return "|".join(parts) or None


class Matcher:
    """The person's identifiers: ``holds`` judges a value exactly, ``could_hold`` skips text cheaply."""

    def __init__(self, emails: set[str], phones: set[str], ids: set[str]):
        self.identifiers: frozenset[Identifier] = frozenset(
            {("email", e.lower()) for e in emails} | {("phone", p) for p in phones} | {("id", i) for i in ids}
        )
        # The superset (any length, any context).
        self.candidate_pattern = build_pattern(emails, phones, ids)
        self._candidate = re.compile(self.candidate_pattern) if self.candidate_pattern else None
        # Free text: emails, and phones and ids long enough not to occur by chance.
        text_pattern = build_pattern(
            emails,
            {p for p in phones if _national_digits(p) >= MIN_PHONE_DIGITS},
            {i for i in ids if len(i) >= MIN_TEXT_ID_CHARS},
        )
        self._in_text = re.compile(text_pattern) if text_pattern else None

    def could_hold(self, text: str) -> bool:
        """Whether ``text`` might name the person (a superset of ``holds``: no false negatives)."""
        return self._candidate is not None and self._candidate.search(text.lower()) is not None

    def holds(self, value: Any, field: str = "") -> bool:
        """Whether ``value`` names the person: an identifier as a value, or a long one inside its text."""
        if not self.identifiers:
            return False
        if any(found in self.identifiers for found in identifier_values(value, field)):
            return True
        return self._in_text is not None and any(self._in_text.search(text.lower()) for text in _texts(value))


def _texts(value: Any) -> Iterator[str]:
    """Every string in ``value``, JSON held in strings walked into."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str):
        parsed = _parsed_json(value.strip())
        yield from (_texts(parsed) if parsed is not None else [value])
