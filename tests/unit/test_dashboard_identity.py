"""The dashboard's identity section: the newest build's cluster statistics up to the interval's end,
and the largest profiles' strongest and weakest links by record key."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from include.reporting.dashboard import write_report
from tests.unit.test_report import END, START, Dashboard, make_warehouse


class Table(HTMLParser):
    """The text of each body cell of one data-table, a line break read as " / "."""

    def __init__(self, html: str, name: str) -> None:
        super().__init__()
        self.name = name
        self.rows: list[list[str]] = []
        self._inside = self._in_body = self._in_cell = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._inside = dict(attrs).get("data-table") == self.name
        elif self._inside and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._in_cell = True
            self.rows[-1].append("")
        elif self._in_cell and tag == "br":
            self.rows[-1][-1] += " / "

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("identity")
    return write_report(make_warehouse(out / "warehouse.duckdb"), out, START, END).read_text()


def test_counts_are_the_build_of_the_interval_not_a_later_one(page: str) -> None:
    cards = Dashboard(page).cards
    assert (cards["Profiles"], cards["Source records"], cards["Largest profile (records)"]) == ("9", "31", "12")
    assert (cards["Merges recorded"], cards["Splits recorded"], cards["Records moved"]) == ("2", "1", "5")


def test_size_distribution_and_matched_by_charts(page: str) -> None:
    bars = Dashboard(page).bars
    # 1, 2, 3–5, 6–10, 11–50, over 50: an empty bucket still has its bar.
    assert bars["profile-sizes"] == ["4", "2", "1", "1", "1", "0"]
    assert bars["records-by-matched-by"] == ["1", "20", "6"]
    assert ">over 50<" in page and ">same_email<" in page


def test_largest_profiles_strongest_and_weakest_links(page: str) -> None:
    # Largest first; profiles without links between source records (p-small, p-pair2) have no row;
    # a pair split into two profiles belongs to neither.
    assert Table(page, "largest-profiles-links").rows == [
        ["p-big", "12", "3", "crm:crm:1 – crm:crm:2 / model", "30.50", "crm:crm:3 – crm:crm:9 / same_email", "-3.00"],
        ["p-mid", "7", "1", *["crm:crm:4 – loyalty:loyalty:5 / must_link", "20.00"] * 2],
        ["p-pair", "2", "1", "crm:crm:6 – crm:crm:8 / model", "8.50", "crm:crm:6 – crm:crm:8 / model", "8.50"],
    ]


def test_without_the_identity_marts_the_section_says_so(tmp_path: Path) -> None:
    warehouse = make_warehouse(
        tmp_path / "warehouse.duckdb", skip=("profile_cluster_statistics", "profile_link_evidence")
    )
    page = write_report(warehouse, tmp_path, START, END).read_text()
    dashboard = Dashboard(page)
    note = "No data: table profile_cluster_statistics is not in the warehouse."
    assert dashboard.no_data["profile-sizes"] == dashboard.no_data["records-by-matched-by"] == note
    assert dashboard.cards["Profiles"] == "no data"
    assert "No data: unified_profiles or profile_link_evidence is not in the warehouse." in page
