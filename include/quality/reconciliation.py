"""Landing's counts beside the warehouse's: the frame the landing_reconciliation suite validates.

Each stream-hour's manifest says what landing read, landed and quarantined; the warehouse's
``landing_reconciliation`` rows say what the build found. A side missing counts as 0.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from include.landing.partitions import read_manifest


def manifest_counts(s3, raw_bucket: str, streams: list[str], hours: list[datetime]) -> pd.DataFrame:
    """Landed and quarantined counts per stream and hour, from the landing manifests."""
    rows = []
    for stream in streams:
        for hour in hours:
            manifest = read_manifest(s3, raw_bucket, stream, hour)
            if manifest is None:
                continue
            rows.append(
                {
                    "stream": stream,
                    "ingest_hour": hour.replace(tzinfo=None),
                    "manifest_landed": manifest["landed"],
                    "manifest_quarantined": manifest["quarantined"],
                }
            )
    return pd.DataFrame(rows, columns=["stream", "ingest_hour", "manifest_landed", "manifest_quarantined"])


def reconciliation_frame(manifests: pd.DataFrame, warehouse: pd.DataFrame) -> pd.DataFrame:
    """Manifests joined to the warehouse's landing_reconciliation rows; a side missing counts as 0."""
    frame = manifests.merge(warehouse, on=["stream", "ingest_hour"], how="outer")
    counts = [
        "manifest_landed",
        "manifest_quarantined",
        "raw_records",
        "events",
        "distinct_events",
        "new_events",
        "canonical_events",
        "quarantined_records",
    ]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    return frame
