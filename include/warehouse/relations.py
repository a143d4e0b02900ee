"""Where each dbt model lives, read from dbt's manifest: Python names models, never schemas.

Locally a model sits in `main` or `main_<layer>`; on Athena in the target's Glue database and
`<database>_<layer>`. The manifest compiled for the target knows which, so the same code reads
both (`make dbt-manifest` compiles the local one; production compiles its own with the Athena target).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from include import settings


@functools.cache
def _relations(manifest: Path, modified: float) -> dict[str, str]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["name"]: f'"{node["schema"]}"."{node["alias"]}"'
        for node in nodes
        if node["resource_type"] in ("model", "seed", "snapshot")
    }


def relation(model: str, manifest: Path = settings.DBT_MANIFEST_PATH) -> str:
    """The quoted `"schema"."table"` of a dbt model or seed (the session's catalog holds it)."""
    try:
        relations = _relations(manifest, manifest.stat().st_mtime)
    except FileNotFoundError:
        raise FileNotFoundError(f"no dbt manifest at {manifest}: compile it with `make dbt-manifest`") from None
    if model not in relations:
        raise KeyError(f"{model!r} is not a model or seed of the dbt project ({manifest})")
    return relations[model]
