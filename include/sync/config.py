"""What the sync is configured by: the object types and their order, the pool, the guards, SyncSettings.

Imported when the DAG files are parsed (the task ids, the pool): nothing heavy here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

from include import settings

# In dependency order: UnifiedProfile creates the profiles the others attach to.
OBJECT_TYPES = ("UnifiedProfile", "EngagementSummary", "MarketingAssignedOffers", "InteractionHistory")
PROFILE_TYPE = "UnifiedProfile"
PROFILE_KEY = "profile_id"  # the key every object type names its profile by
SYNC_POOL = "customer_profiles_api"  # one slot: one task at a time calls the APIs (and writes the state)
DELETE_GUARD_FLOOR = 100  # this many deletions per run are always allowed
EXPIRY_MARGIN = timedelta(days=7)


@dataclass(frozen=True)
class SyncSettings:
    requests_per_second: float = 100.0  # Customer Profiles; no published quota, so a setting
    ses_requests_per_second: float = 10.0
    concurrency: int = 16
    max_attempts: int = 3
    max_rejected_share: float = 0.05
    max_delete_share: float = 0.2
    checkpoint_seconds: float = 1.0  # DuckDB: one local transaction, ~0.2 s per 1,000 objects, beside the sends
    # Athena: a checkpoint is ~4 queries of seconds each, and each an Iceberg commit (a snapshot, small
    # files): at most 2 a minute, and a killed run sends at most the last 30 s again (docs/design.md).
    athena_checkpoint_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> SyncSettings:
        """``C360_SYNC_<FIELD>`` overrides each field, e.g. C360_SYNC_REQUESTS_PER_SECOND=50 (read at each call)."""
        defaults = {f.name: f.default for f in fields(cls)}
        overrides = settings.sync_overrides(list(defaults))
        return cls(**{name: type(defaults[name])(raw) for name, raw in overrides.items()})
