"""The Airflow pools the DAGs' tasks run in, declared once; ``python -m include.orchestration.pools``
creates or updates them in the metadata database of the environment it runs in.

Every place that needs them runs that: ``make airflow``, the team stack's ``airflow-init``
(docker-compose.yaml), ``make run`` (local/run.py) and the local Airflow services
(local/airflow_services.py); a deployment runs it once, after ``airflow db migrate``.
"""

from __future__ import annotations

import argparse
from typing import NamedTuple

from include.sync.config import SYNC_POOL

# Landing tasks take one slot each; erasure's lake-and-warehouse task takes them all, so the two
# never run at once (include/erasure/tasks.py says why that matters).
RAW_ZONE_POOL = "raw_zone"


class PoolSpec(NamedTuple):
    slots: int
    description: str


POOLS = {
    # One slot: the sync tasks' API rate ceiling (include/sync/rate_limit.py) holds for the
    # account, and one task at a time writes the sync tables.
    SYNC_POOL: PoolSpec(1, "Customer Profiles and SES API calls"),
    # Room for every stream of a landing run and then some; erasure holds all of it.
    RAW_ZONE_POOL: PoolSpec(16, "Writers of the raw zone: landing tasks (1 slot), erasure (every slot)"),
}


def create_pools() -> list[str]:
    """Create each pool, or set its slots and description where it exists; returns their names."""
    from airflow.models.pool import Pool

    for name, spec in POOLS.items():
        Pool.create_or_update_pool(name, spec.slots, spec.description, include_deferred=False)
    return list(POOLS)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    print(f"pools ready: {', '.join(create_pools())}")


if __name__ == "__main__":
    main()
