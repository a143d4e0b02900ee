"""The person out of Amazon Connect Customer Profiles and the SES account-level suppression list."""

from __future__ import annotations

from include.erasure.resolution import Person
from include.sync.config import PROFILE_KEY


def erase_customer_profiles(client, domain: str, person: Person) -> int:
    """DeleteProfile of every Customer Profiles profile that one of the person's profile ids names."""
    found: set[str] = set()
    for profile_id in sorted(person.profile_ids):
        try:
            items = client.search_profiles(DomainName=domain, KeyName=PROFILE_KEY, Values=[profile_id])["Items"]
        except client.exceptions.ResourceNotFoundException:  # no domain: nothing was ever pushed
            return 0
        found |= {item["ProfileId"] for item in items}
    deleted = 0
    for cp_profile_id in sorted(found):
        try:
            client.delete_profile(DomainName=domain, ProfileId=cp_profile_id)
            deleted += 1
        except client.exceptions.ResourceNotFoundException:
            pass  # deleted meanwhile: what we wanted
    return deleted


def erase_suppressions(ses_client, person: Person) -> int:
    """Their emails off the SES account-level suppression list."""
    deleted = 0
    for email in sorted(person.emails):
        try:
            ses_client.delete_suppressed_destination(EmailAddress=email)
            deleted += 1
        except ses_client.exceptions.NotFoundException:
            pass
    return deleted
