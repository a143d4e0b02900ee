"""Which hours a build run covers."""

from datetime import UTC, datetime
from types import SimpleNamespace

from include.orchestration import build


def _event(*hours):
    return SimpleNamespace(extra={"hours": list(hours)} if hours else None)


def test_a_build_covers_every_hour_its_events_report():
    events = [_event("2026-11-20T10:00:00+00:00"), _event("2026-11-20T12:00:00+00:00", "2026-11-20T03:00:00+00:00")]
    assert build.interval_for_run({}, [*events, _event()], (None, None)) == {
        "c360__interval_start": "2026-11-20 03:00:00",
        "c360__interval_end": "2026-11-20 13:00:00",
    }


class RecordedEvents:
    """inlet_events[asset].after(…).before(…) of the Task SDK, over a list of (asset, time, event)."""

    def __init__(self, recorded):
        self.recorded = recorded

    def __getitem__(self, asset):
        return _Window([(at, event) for name, at, event in self.recorded if name == asset])


class _Window(list):
    def after(self, since):
        return _Window([(at, e) for at, e in self if at >= datetime.fromisoformat(since)])

    def before(self, until):
        return [e for at, e in self if at <= datetime.fromisoformat(until)]


def test_a_build_also_covers_the_events_of_the_catch_up_window_before_it_was_triggered():
    triggered_at = datetime(2026, 11, 22, 8, tzinfo=UTC)
    dropped, stale, later = _event("2026-11-20T05:00:00+00:00"), _event("2026-11-19T00:00:00+00:00"), _event("x")
    inlet = RecordedEvents([
        ("raw_customers", triggered_at - build.CATCH_UP / 2, dropped),
        ("raw_ses", triggered_at - build.CATCH_UP * 2, stale),
        ("raw_ses", triggered_at + build.CATCH_UP, later),
    ])  # fmt: skip
    triggering = {"raw_ses": [_event("2026-11-20T10:00:00+00:00")]}

    events = build.build_events(triggering, inlet, ["raw_ses", "raw_customers"], triggered_at)

    assert events == [triggering["raw_ses"][0], dropped]
    assert build.interval_for_run({}, events, (None, None)) == {
        "c360__interval_start": "2026-11-20 05:00:00",
        "c360__interval_end": "2026-11-20 11:00:00",
    }
