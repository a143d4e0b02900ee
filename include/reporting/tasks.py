"""The build DAG's dashboard task."""

from __future__ import annotations

from include import intervals, settings
from include.reporting.dashboard import write_report
from include.warehouse.seam import warehouse


def write_dashboard(interval: dict[str, str]) -> str:
    """The run's static HTML dashboard under var/reports/ (engagement-latest.html is the newest),
    from the warehouse of dbt's target."""
    start, end = intervals.from_dbt_vars(interval)
    return str(write_report(warehouse(), settings.VAR_DIR / "reports", start, end))
