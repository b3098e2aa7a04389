"""When a practitioner's template has them working inside a period: the few days `first_hours`
looks at give the same answer as expanding every day of the period (the oracle)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from medbook.clinics.service import first_hours
from medbook.scheduling import Interval, WeeklyRule, working_windows

ZONES = [ZoneInfo("Asia/Singapore"), ZoneInfo("Europe/London"), ZoneInfo("Asia/Kathmandu")]
BASE = datetime(2030, 3, 1, tzinfo=UTC)


@st.composite
def rules(draw: st.DrawFn) -> WeeklyRule:
    start = draw(st.integers(0, 22 * 60))
    length = draw(st.integers(15, 24 * 60 - start - 1))
    valid_from = date(2030, 3, 1) + timedelta(days=draw(st.integers(-10, 40)))
    valid_days = draw(st.none() | st.integers(0, 20))
    return WeeklyRule(
        draw(st.integers(0, 6)),
        time(start // 60, start % 60),
        time((start + length) // 60, (start + length) % 60),
        valid_from,
        None if valid_days is None else valid_from + timedelta(days=valid_days),
    )


def oracle(
    template: list[WeeklyRule], tz: ZoneInfo, start: datetime, end: datetime
) -> Interval | None:
    period = Interval(start, end)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    inside = [
        Interval(max(w.interval.start, start), min(w.interval.end, end))
        for w in working_windows(template, tz, first, last)
        if w.interval.overlaps(period)
    ]
    return min(inside, default=None)


@settings(max_examples=300, deadline=None)
@given(
    template=st.lists(rules(), max_size=5),
    zone=st.sampled_from(ZONES),
    offset_minutes=st.integers(0, 30 * 24 * 60),
    length_minutes=st.integers(1, 35 * 24 * 60),
)
def test_first_hours_agree_with_every_day_expanded(
    template: list[WeeklyRule], zone: ZoneInfo, offset_minutes: int, length_minutes: int
) -> None:
    start = BASE + timedelta(minutes=offset_minutes)
    end = start + timedelta(minutes=length_minutes)

    assert first_hours(template, zone, start, end) == oracle(template, zone, start, end)


def test_a_long_period_is_answered_from_a_few_days() -> None:
    # Mondays 09:00-12:00 from 2030: a thousand years of time off still finds the first Monday.
    monday = WeeklyRule(0, time(9), time(12), date(2030, 1, 1), None)
    start = datetime(2029, 12, 31, 15, tzinfo=UTC)  # Monday 23:00 in Singapore: after hours

    found = first_hours([monday], ZoneInfo("Asia/Singapore"), start, start.replace(year=2999))

    assert found == Interval(
        datetime(2030, 1, 7, 1, tzinfo=UTC), datetime(2030, 1, 7, 4, tzinfo=UTC)
    )
