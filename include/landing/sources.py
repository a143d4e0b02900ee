"""Source-system records: their shapes, the customer columns, and phone normalisation.

The batches (``customers`` as CSV or JSON lines; ``bookings``, ``loyalty``, ``clickstream``,
``service_interactions`` as JSON lines; formats in docs/input-formats.md) each have ids that name a
record, a time of its own and, but for clickstream, an object holding the person. Source
records get ``normalised``: their phone in E.164 with its type and country (``phonenumbers``,
offline), which SQL engines cannot compute. Checking a record against its shape is
``records.check_record``'s.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from typing import Any, NamedTuple

import phonenumbers

from include import settings
from include.landing.partitions import compact_json

CUSTOMER_COLUMNS = (
    "source_system", "customer_id", "first_name", "last_name", "email", "phone", "birth_date",
    "address_line1", "address_line2", "city", "postal_code", "state", "country", "loyalty_id", "updated_at",
)  # fmt: skip
CUSTOMER_KEYS = frozenset(CUSTOMER_COLUMNS)


class SourceShape(NamedTuple):
    ids: tuple[str, ...]  # fields that together name the record: all required
    time: str  # the record's own time: required, ISO-8601
    person: str | None  # the object holding the person's phone and country ("" = the record itself)
    markers: frozenset[str]  # keys only this type has (route() tells types apart by them)


# In route() order: a customer record has no key of the types before it.
SOURCES = {
    "bookings": SourceShape(
        ("source_system", "booking_id"), "booked_at", "traveller",
        frozenset({"booking_id", "booked_at", "traveller", "itinerary"}),
    ),
    "service_interactions": SourceShape(
        ("interaction_id",), "started_at", "customer", frozenset({"interaction_id", "started_at", "conversation"})
    ),
    "loyalty": SourceShape(
        ("loyalty_id",), "updated_at", "member", frozenset({"member", "program", "tier", "points_balance"})
    ),
    "clickstream": SourceShape(
        ("event_id",), "event_timestamp", None,
        frozenset({"event_id", "event_type", "event_timestamp", "session_id", "page_url"}),
    ),
    "customers": SourceShape(
        ("source_system", "customer_id"), "updated_at", "",
        frozenset({"source_system", "customer_id", "first_name", "last_name", "email", "phone", "updated_at"}),
    ),
}  # fmt: skip

_PHONE_TYPE_NAMES = {value: name for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()}


@lru_cache(maxsize=1 << 20)
def normalise_phone(phone: str | None, region: str) -> str:
    """``normalised`` for a phone as received: compact JSON of phone_e164, phone_type (a
    PhoneNumberType name), phone_country (ISO region) and phone_status valid|invalid|missing.
    ``region`` is assumed for numbers without a country code. Cached: landing a batch meets
    the same numbers again and again, and parsing is most of a source record's cost."""
    e164 = kind = country = None
    if phone is None or not phone.strip():
        status = "missing"
    else:
        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            number = None
        # number_type is UNKNOWN exactly when is_valid_number is false: one metadata match, not two.
        number_type = phonenumbers.number_type(number) if number else phonenumbers.PhoneNumberType.UNKNOWN
        if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
            status = "invalid"
        else:
            status = "valid"
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            kind = _PHONE_TYPE_NAMES[number_type]
            country = phonenumbers.region_code_for_number(number)
    return compact_json({"phone_e164": e164, "phone_type": kind, "phone_country": country, "phone_status": status})


def phone_region(country: Any) -> str:
    """The record's country when it is an ISO-3166 alpha-2 code phonenumbers knows, else the default
    (``settings.DEFAULT_PHONE_REGION``)."""
    if isinstance(country, str) and len(country) == 2 and country.upper() in phonenumbers.SUPPORTED_REGIONS:
        return country.upper()
    return settings.DEFAULT_PHONE_REGION


def undocumented(key: str, value: Any) -> bool:
    """A customer's key outside the documented columns (kept under ``attributes``)."""
    return key not in CUSTOMER_KEYS and not (key == "attributes" and isinstance(value, dict))


def customer_body(values: dict) -> str:
    """A customer as the raw zone keeps it: the documented keys, any other key under ``attributes``."""
    given = values.get("attributes")
    attributes = (dict(given) if isinstance(given, dict) else {}) | {
        k: v for k, v in values.items() if undocumented(k, v)
    }
    body = {k: values.get(k) for k in CUSTOMER_COLUMNS} | ({"attributes": attributes} if attributes else {})
    return compact_json(body)


def is_customer_csv(key: str, text: str) -> bool:
    """By extension, else by a first line that is a CSV header naming customer_id."""
    if key.lower().endswith((".csv", ".csv.gz")):
        return True
    first = next((line for line in io.StringIO(text) if line.strip()), "")
    return not first.lstrip().startswith(("{", "[")) and "customer_id" in next(csv.reader([first]), [])
