"""The person's identifiers as one regular expression, run the same way over lines, objects and rows.

Python and DuckDB (RE2) both run it over lower-cased text, so a line, an object and a warehouse
row are judged the same way. Identifiers are matched whole (an id is not matched inside a
longer id), and a phone in any formatting (E.164, WhatsApp's digits, national with spaces or
brackets).
"""

from __future__ import annotations

import re

import phonenumbers

_PHONE_SEPARATORS = "[ ().-]{0,2}"  # between digits: "(206) 247-8200", "+44 7400 123456"


def _phone_pattern(e164: str) -> str:
    """The number with or without its country code (and '+'), or with a national trunk 0, any spacing."""
    number = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(number)
    return rf"(?:\+?{number.country_code}{_PHONE_SEPARATORS})?(?:0{_PHONE_SEPARATORS})?" + _PHONE_SEPARATORS.join(
        national
    )


def build_pattern(emails: set[str], phones: set[str], ids: set[str]) -> str | None:
    """One regular expression over lower-cased text, valid for Python's re and DuckDB's RE2 (no lookaround):
    each identifier between characters that could not continue it."""
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
    def __init__(self, pattern: str | None):
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern else None

    def mentions(self, text: str) -> bool:
        return self._regex is not None and self._regex.search(text.lower()) is not None
