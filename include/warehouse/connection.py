"""The local DuckDB warehouse file: connections to it (the seam's DuckDB side, erasure, make run's
summary) and its httpfs extension, installed from a wheel."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from include import settings


def extension_directory() -> Path:
    return settings.duckdb_extension_dir()


def install_httpfs() -> Path:
    """Install DuckDB's httpfs from the duckdb-extension-httpfs wheel: no download at run time."""
    import duckdb_extension_httpfs

    wheel_dir = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    target = extension_directory()
    con = duckdb.connect(config={"extension_directory": str(target)})
    con.execute(f"INSTALL '{wheel_dir / 'httpfs.duckdb_extension'}'")
    con.close()
    return target


@contextmanager
def connect(read_only: bool = False, path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB file itself: for what is DuckDB-only still (the sync's and erasure's tables).
    Reads of the marts go through the warehouse seam (seam.py), which follows dbt's target."""
    con = duckdb.connect(str(path or settings.WAREHOUSE_PATH), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["install-extensions"])
    parser.parse_args(argv)
    print(f"httpfs installed under {install_httpfs()}")


if __name__ == "__main__":
    main()
