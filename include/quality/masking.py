"""Identifiers masked before they reach a validation result, a data docs page, a log line or an alert.

An email keeps its first letter, its domain's first letter and its top-level domain
(``j***@e***.com``); a phone number its leading ``+``, first two and last two digits, one ``*``
per hidden digit (``+44********56``); other text its first letter (``j***``). Imported by every
DAG file (through the alerts): nothing but ``re`` here.
"""

from __future__ import annotations

import re

# Where free text (an exception's message) may name someone: an address, an E.164 number.
_EMAIL_IN_TEXT = re.compile(r"[^\s@'\"<>()\[\],;:]+@[^\s@'\"<>()\[\],;:]+")
_E164_IN_TEXT = re.compile(r"\+\d{6,15}\b")
_NUMBER = re.compile(r"\+?[\d\s()./-]+")


def _email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    _, dot, top_level = domain.rpartition(".")
    return f"{local[:1]}***@{domain[:1]}***{dot}{top_level if dot else ''}"


def _number(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    plus = "+" if value.lstrip().startswith("+") else ""
    if len(digits) < 6:  # too short to keep any digit and still hide the number
        return plus + "*" * len(digits)
    return f"{plus}{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"


def mask(value):
    """One value that may name someone, masked by its shape; text inside lists too. None stays None
    (a null is what a not-null check reports) and so do numbers and times (no identifier is one)."""
    if isinstance(value, (list, tuple)):
        return [mask(item) for item in value]
    if not isinstance(value, str) or value == "":
        return value
    if "@" in value:
        return _email(value)
    if _NUMBER.fullmatch(value) and any(c.isdigit() for c in value):
        return _number(value)
    return f"{value[:1]}***"


def mask_identifiers(text: str) -> str:
    """Free text with every email- or E.164-shaped part masked; masked text comes back unchanged."""
    text = _EMAIL_IN_TEXT.sub(lambda match: _email(match[0]), text)
    return _E164_IN_TEXT.sub(lambda match: _number(match[0]), text)
