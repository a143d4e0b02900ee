"""The build DAG's dashboard task."""

from __future__ import annotations

from include import intervals, settings
from include.reporting.dashboard import write_report
from include.warehouse.connection import connect


def write_dashboard(interval: dict[str, str]) -> str:
    """The run's static HTML dashboard under var/reports/ (engagement-latest.html is the newest)."""
    start, end = intervals.from_dbt_vars(interval)
    with connect(read_only=True) as con:
        return str(write_report(con, settings.VAR_DIR / "reports", start, end))
