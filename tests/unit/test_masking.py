"""Masking: what is left of an identifier, by its shape; free text with its identifiers masked."""

import pytest

from include.quality.masking import mask, mask_identifiers


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("john.smith@example.com", "j***@e***.com"),
        ("new.person@example", "n***@e***"),  # no top-level domain: nothing more to keep
        ("+447700900156", "+44********56"),
        ("07700 900156", "07*******56"),  # separators go; one * per hidden digit
        ("+0123", "+****"),  # too short to keep digits
        ("John Smith", "J***"),
        (["ana@example.com", "+12065550100"], ["a***@e***.com", "+12*******00"]),
        ("", ""),
        (None, None),
        (1790000000000, 1790000000000),  # numbers are no identifiers here: shown
    ],
)
def test_mask_keeps_only_the_shape(value, masked):
    assert mask(value) == masked


def test_mask_identifiers_masks_emails_and_e164_numbers_in_text_and_nothing_else():
    text = "PutSuppressedDestination <ana.b@example.co.uk> refused; sms to +447700900156 at 2026-11-20T01:00:00+00:00"
    assert mask_identifiers(text) == (
        "PutSuppressedDestination <a***@e***.uk> refused; sms to +44********56 at 2026-11-20T01:00:00+00:00"
    )
    assert mask_identifiers(mask_identifiers(text)) == mask_identifiers(text)  # masked text stays as it is
