"""Which hours a build run covers: its triggering landings, and every landing no passed build covered."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from include.orchestration import build

TRIGGERED_AT = datetime(2026, 11, 22, 8, tzinfo=UTC)
LANDED, VALIDATED = "raw_zone_landed", "validated_marts"


def _event(*hours):
    return SimpleNamespace(extra={"hours": list(hours)} if hours else None)


def test_a_build_covers_every_hour_its_events_report():
    events = [_event("2026-11-20T10:00:00+00:00"), _event("2026-11-20T12:00:00+00:00", "2026-11-20T03:00:00+00:00")]
    assert build.interval_for_run({}, [*events, _event()], (None, None)) == {
        "c360__interval_start": "2026-11-20 03:00:00",
        "c360__interval_end": "2026-11-20 13:00:00",
    }


def landing(run: str, ago: timedelta, *hours: str):
    """A raw_zone_landed event of landing run ``run``, ``ago`` before the build was triggered."""
    return SimpleNamespace(source_run_id=run, timestamp=TRIGGERED_AT - ago, extra={"hours": list(hours)})


def passed(run: str, ago: timedelta):
    """A validated_marts event: build ``run`` passed its gate ``ago`` before the build was triggered."""
    return SimpleNamespace(source_run_id=run, source_dag_id="build_warehouse", timestamp=TRIGGERED_AT - ago)


class RecordedEvents:
    """inlet_events[asset].after(…).before(…) of the Task SDK, over a list of (asset, event)."""

    def __init__(self, recorded):
        self.recorded = recorded

    def __getitem__(self, asset):
        return _Window([event for name, event in self.recorded if name == asset])


class _Window(list):
    def after(self, since):
        return _Window([e for e in self if e.timestamp >= datetime.fromisoformat(since)])

    def before(self, until):
        return _Window([e for e in self if e.timestamp <= datetime.fromisoformat(until)])


class Covered(dict):
    """What each build recorded it covers (resolve_interval's XCom), by run; counts the reads."""

    reads = 0

    def __call__(self, validated):
        self.reads += 1
        return self.get(validated.source_run_id)


HOUR = timedelta(hours=1)


def test_a_build_also_covers_every_landing_of_the_catch_up_window_no_passed_build_covered():
    built = landing("land_1", 10 * HOUR, "2026-11-22T01:00:00+00:00")
    failed = landing("land_2", 8 * HOUR, "2026-11-22T02:00:00+00:00")  # its build failed the gate
    dropped = landing("land_3", HOUR, "2026-11-22T06:00:00+00:00")  # Airflow dropped its trigger
    stale = landing("land_0", build.CATCH_UP + HOUR, "2026-11-19T00:00:00+00:00")
    later = landing("land_5", -HOUR, "2026-11-22T09:00:00+00:00")
    triggering = landing("land_4", timedelta(0), "2026-11-22T07:00:00+00:00")
    inlet = RecordedEvents(
        [(LANDED, event) for event in (stale, built, failed, dropped, triggering, later)]
        + [(VALIDATED, passed("build_1", 9 * HOUR))]
    )
    covered = Covered(build_1=[build.landing_key(built)])

    events = build.build_events({LANDED: [triggering]}, inlet, LANDED, VALIDATED, TRIGGERED_AT, covered)

    assert events == [triggering, failed, dropped]
    interval = build.interval_for_run({}, events, (None, None))
    assert interval == {"c360__interval_start": "2026-11-22 02:00:00", "c360__interval_end": "2026-11-22 08:00:00"}
    assert build.covered(events, interval) == [build.landing_key(e) for e in (triggering, failed, dropped)]


def test_a_failed_build_s_landings_are_covered_by_every_next_build_until_one_passes():
    first = landing("land_1", 3 * HOUR, "2026-11-22T04:00:00+00:00")
    second = landing("land_2", 2 * HOUR, "2026-11-22T05:00:00+00:00")
    third = landing("land_3", HOUR, "2026-11-22T06:00:00+00:00")
    # build_1 covered the first and failed; build_2 covered the first two and passed.
    covered = Covered(build_1=[build.landing_key(first)], build_2=[build.landing_key(e) for e in (first, second)])
    recorded = [(LANDED, first), (LANDED, second), (LANDED, third)]

    assert build.unbuilt([first, second], [], covered) == [first, second]
    inlet = RecordedEvents([*recorded, (VALIDATED, passed("build_2", HOUR + HOUR / 2))])
    assert build.build_events({}, inlet, LANDED, VALIDATED, TRIGGERED_AT, covered) == [third]


def test_passed_builds_are_read_newest_first_and_no_further_than_an_uncovered_landing():
    landings = [landing(f"land_{n}", (10 - n) * HOUR, f"2026-11-22T0{n}:00:00+00:00") for n in range(6)]
    builds = [passed(f"build_{n}", (10 - n) * HOUR - HOUR / 2) for n in range(6)]
    # Each build covered its own landing and every earlier one: the newest holds them all.
    covered = Covered({f"build_{n}": [build.landing_key(e) for e in landings[: n + 1]] for n in range(6)})

    assert build.unbuilt(landings, builds, covered) == []
    assert covered.reads == 1


def test_a_person_s_range_covers_the_landings_all_of_whose_hours_it_holds():
    inside = landing("land_1", 2 * HOUR, "2026-11-22T04:00:00+00:00", "2026-11-22T05:00:00+00:00")
    across = landing("land_2", HOUR, "2026-11-22T05:00:00+00:00", "2026-11-22T06:00:00+00:00")
    params = {"interval_start": "2026-11-22T04:00:00Z", "interval_end": "2026-11-22T06:00:00Z"}

    interval = build.interval_for_run(params, [inside, across], (None, None))

    assert interval == {"c360__interval_start": "2026-11-22 04:00:00", "c360__interval_end": "2026-11-22 06:00:00"}
    assert build.covered([inside, across], interval) == [build.landing_key(inside)]
