"""The person out of Amazon Connect Customer Profiles; their addresses kept on the SES suppression list.

Their addresses stay suppressed on purpose: deleting them would let the person be mailed again
(the suppression is what they asked for, or what their bounces earned). The erased-subject
register keeps the sync from removing them later (include/sync/ses_suppression.py).
"""

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


def suppressions_kept(ses_client, person: Person) -> int:
    """How many of their emails the SES account-level suppression list holds (and keeps)."""
    kept = 0
    for email in sorted(person.emails):
        try:
            ses_client.get_suppressed_destination(EmailAddress=email)
            kept += 1
        except ses_client.exceptions.NotFoundException:
            pass
    return kept
