"""The build DAG's dashboard task."""

from __future__ import annotations

from include import intervals, settings
from include.reporting import dashboard as report
from include.warehouse import connection as warehouse


def write_dashboard(interval: dict[str, str]) -> str:
    """The run's static HTML dashboard under var/reports/ (engagement-latest.html is the newest)."""
    start, end = intervals.from_dbt_vars(interval)
    with warehouse.connect(read_only=True) as con:
        return str(report.write_report(con, settings.VAR_DIR / "reports", start, end))
