"""The erased-subject register: keyed hashes of every identifier erasure removed, so the person stays erased.

One S3 object in the raw bucket, ``_erasure/erased_subjects.json``: landing already holds an S3
client, it is one small GET per stream-hour on DuckDB and Athena alike, and it outlives any
rebuild of the warehouse. It holds, per erased identifier (``kind:normalised value``), its HMAC
under the erasure hash key (``request.keyed_hash``) and the request that erased it; never a
value. A check of the key sits beside them: a register written under another key cannot
recognise anyone, so reading it with a rotated key is refused rather than silently useless.

Readers: landing quarantines a record holding an erased identifier (``erased_subject``,
``include/landing/records.py``); the SES suppression sync keeps an erased address suppressed
(``include/sync/ses_suppression.py``). Both judge values as erasure matches them
(``matching.identifier_values``), so a record is recognised by exactly what erasure would remove.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from include.erasure.matching import Identifier, identifier_values
from include.erasure.request import hash_key, keyed_hash

REGISTER_KEY = "_erasure/erased_subjects.json"
_KEY_CHECK = ("register", "key check")


class RegisterKeyMismatch(RuntimeError):
    """The register was written under another erasure hash key."""


class ErasedSubjects:
    """The register as read: whether a value holds an erased identifier."""

    def __init__(self, hashes: dict[str, str], key: bytes | None):
        self.hashes, self._key = hashes, key
        self._seen: dict[Identifier, bool] = {}  # landing meets the same values again and again

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def _erased(self, identifier: Identifier) -> bool:
        if identifier not in self._seen:
            self._seen[identifier] = keyed_hash(self._key, *identifier) in self.hashes
        return self._seen[identifier]

    def holds(self, value: Any) -> bool:
        """Whether ``value`` (a record, JSON text, a line) holds an identifier of an erased person."""
        return bool(self.hashes) and any(self._erased(found) for found in identifier_values(value))

    def holds_address(self, address: str) -> bool:
        return bool(self.hashes) and self._erased(("email", address.strip().lower()))


def _read(s3, bucket: str) -> dict | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=REGISTER_KEY)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def load(s3, bucket: str) -> ErasedSubjects:
    """The register in ``bucket``; empty (and no key read) when nobody was erased."""
    stored = _read(s3, bucket)
    if not stored or not stored["subjects"]:
        return ErasedSubjects({}, None)
    key = hash_key()
    if stored["key_check"] != keyed_hash(key, *_KEY_CHECK):
        raise RegisterKeyMismatch(
            f"s3://{bucket}/{REGISTER_KEY} was written under another C360_ERASURE_HASH_KEY: restore that key "
            "(a rotated key cannot recognise the people erased before)"
        )
    return ErasedSubjects(stored["subjects"], key)


def add(s3, bucket: str, identifiers: Iterable[Identifier], request_id: str) -> int:
    """Register ``identifiers`` as erased by ``request_id``; returns how many were new. Erasures run
    one at a time (erase_person: max_active_runs=1), so read-modify-write is safe."""
    key = hash_key()
    stored = _read(s3, bucket) or {"key_check": keyed_hash(key, *_KEY_CHECK), "subjects": {}}
    if stored["key_check"] != keyed_hash(key, *_KEY_CHECK):
        raise RegisterKeyMismatch(f"s3://{bucket}/{REGISTER_KEY} was written under another C360_ERASURE_HASH_KEY")
    subjects = stored["subjects"]
    new = {keyed_hash(key, kind, value) for kind, value in identifiers} - subjects.keys()
    subjects.update(dict.fromkeys(new, request_id))
    body = json.dumps({"key_check": stored["key_check"], "subjects": dict(sorted(subjects.items()))}, indent=1)
    s3.put_object(Bucket=bucket, Key=REGISTER_KEY, Body=body.encode())
    return len(new)
