"""Properties of slot search, checked against a brute-force oracle on random clinics.

Every generated time is a whole minute and every zone used has whole-minute offsets, so
every instant that could be a grid start is a whole minute: the oracle simply tries them all.
"""

import functools
import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from medbook.scheduling import (
    Interval,
    Slot,
    SlotRules,
    WeeklyRule,
    WorkingWindow,
    blocked_interval,
    find_slots,
    is_bookable,
    working_windows,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # its clocks move by only 30 minutes
ZONES = [
    ZoneInfo("UTC"),
    ZoneInfo("Asia/Singapore"),
    ZoneInfo("Asia/Kolkata"),  # +05:30
    ZoneInfo("Asia/Kathmandu"),  # +05:45
    LONDON,
    NEW_YORK,
    LORD_HOWE,
]
# Zones and first days whose generated days include one of the zone's clock changes.
CLOCK_CHANGES = [
    (NEW_YORK, date(2025, 3, 8)),  # forward on the 9th
    (LONDON, date(2025, 3, 29)),  # forward on the 30th
    (LORD_HOWE, date(2025, 4, 5)),  # back on the 6th
    (LORD_HOWE, date(2025, 10, 4)),  # forward on the 5th
    (LONDON, date(2025, 10, 25)),  # back on the 26th
    (NEW_YORK, date(2025, 11, 1)),  # back on the 2nd
]
FIRST_DAYS = [first_day for _, first_day in CLOCK_CHANGES] + [date(2025, 6, 2)]
DAYS_GENERATED = 3
ROOMS: list[Hashable | None] = [None, "room-1", "room-2"]
ONE_MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
# Grids that divide a day, from fine to coarse.
GRIDS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 240]


@dataclass(frozen=True)
class Clinic:
    """One practitioner's situation at one clinic, and where to look for slots."""

    tz: ZoneInfo
    horizon: Interval
    windows: list[WorkingWindow]
    busy: list[Interval]
    busy_by_room: dict[Hashable, list[Interval]]
    rules: SlotRules
    now: datetime
    search_from: datetime
    search_to: datetime
    other_starts: list[datetime] = field(default_factory=list)

    def find(
        self, search_from: datetime | None = None, search_to: datetime | None = None
    ) -> list[Slot]:
        return find_slots(
            self.rules,
            self.tz,
            self.windows,
            self.busy,
            self.busy_by_room,
            self.now,
            search_from or self.search_from,
            search_to or self.search_to,
        )

    def is_bookable(self, start: datetime) -> Slot | None:
        return is_bookable(
            start, self.rules, self.tz, self.windows, self.busy, self.busy_by_room, self.now
        )


def horizon_for(first_day: date) -> Interval:
    # Wide enough to hold every local date generated in any zone offset from -5 to +11.
    midnight = datetime.combine(first_day, time(0), tzinfo=UTC)
    return Interval(midnight - timedelta(days=1), midnight + timedelta(days=DAYS_GENERATED + 1))


def zones_and_first_days() -> st.SearchStrategy[tuple[ZoneInfo, date]]:
    return st.sampled_from(CLOCK_CHANGES) | st.tuples(
        st.sampled_from(ZONES), st.sampled_from(FIRST_DAYS)
    )


# Strategies are cached where their arguments allow: hypothesis re-validates every newly
# built strategy, and rebuilding them for each example was most of this file's run time.
@functools.cache
def minute_in(horizon: Interval, step: timedelta = ONE_MINUTE) -> st.SearchStrategy[datetime]:
    last = (horizon.end - horizon.start) // step
    return st.integers(0, last).map(lambda steps: horizon.start + steps * step)


@functools.cache
def moment_in(horizon: Interval) -> st.SearchStrategy[datetime]:
    # Every zone used is a whole number of quarter hours from UTC, so quarter hours are
    # often grid starts: limits then fall exactly on slots and off-by-ones show.
    return minute_in(horizon) | minute_in(horizon, step=timedelta(minutes=15))


@functools.cache
@st.composite
def intervals_in(
    draw: st.DrawFn, horizon: Interval, longest: timedelta, shortest: timedelta = ONE_MINUTE
) -> Interval:
    start = draw(minute_in(horizon))
    length = draw(st.integers(shortest // ONE_MINUTE, longest // ONE_MINUTE)) * ONE_MINUTE
    return Interval(start, start + length)


@st.composite
def service_rules(draw: st.DrawFn) -> SlotRules:
    min_notice = draw(st.sampled_from([0, 0, 60]) | st.integers(0, 48 * 60)) * ONE_MINUTE
    return SlotRules(
        duration=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90]) | st.integers(1, 120))
        * ONE_MINUTE,
        buffer_before=draw(st.sampled_from([0, 0, 5, 10]) | st.integers(0, 20)) * ONE_MINUTE,
        buffer_after=draw(st.sampled_from([0, 0, 5, 10]) | st.integers(0, 20)) * ONE_MINUTE,
        grid=draw(st.sampled_from(GRIDS)) * ONE_MINUTE,
        min_notice=min_notice,
        max_ahead=min_notice
        + draw(
            st.just(timedelta(days=60))
            | st.integers(0, 8 * 24 * 60).map(lambda count: count * ONE_MINUTE)
            | st.integers(0, 8 * 24 * 4).map(lambda count: count * timedelta(minutes=15))
        ),
    )


SERVICE_RULES = service_rules()


@st.composite
def weekly_rules(draw: st.DrawFn, first_day: date) -> WeeklyRule:
    # Mostly clinic hours, sometimes the small hours when clocks change.
    start_minute = draw(
        st.integers(7 * 60, 18 * 60) | st.integers(0, 4 * 60) | st.integers(0, 24 * 60 - 2)
    )
    end_minute = draw(st.integers(start_minute + 1, min(start_minute + 10 * 60, 24 * 60 - 1)))
    day = first_day + timedelta(days=draw(st.integers(0, DAYS_GENERATED - 1)))
    # Often exactly on the rule's own day, to check both ends are inclusive; sometimes the
    # day after, or ended the day before, to check the rule then stays out.
    valid_from = day - draw(st.sampled_from([7, 0, 0, -1])) * timedelta(days=1)
    valid_until = draw(
        st.none() | st.sampled_from([0, 0, 2, -1]).map(lambda days: day + days * timedelta(days=1))
    )
    return WeeklyRule(
        weekday=day.weekday(),
        start=time(start_minute // 60, start_minute % 60),
        end=time(end_minute // 60, end_minute % 60),
        valid_from=valid_from,
        valid_until=None if valid_until is None else max(valid_from, valid_until),
        room_id=draw(st.sampled_from(ROOMS)),
    )


@st.composite
def windows_from_templates(
    draw: st.DrawFn, tz: ZoneInfo, first_day: date, horizon: Interval
) -> list[WorkingWindow]:
    days = [first_day + timedelta(days=offset) for offset in range(DAYS_GENERATED)]
    return working_windows(
        draw(st.lists(weekly_rules(first_day), min_size=1, max_size=4)),
        tz,
        first_day,
        days[-1],
        closed_days=draw(st.sets(st.sampled_from(days), max_size=1)),
        time_off=draw(st.lists(time_off_on(tz, days), max_size=2)),
    )


@st.composite
def night_shifts(draw: st.DrawFn, tz: ZoneInfo, first_day: date) -> Interval:
    """A few hours from around local midnight: the hours in which clocks change."""
    day = first_day + timedelta(days=draw(st.integers(0, DAYS_GENERATED - 1)))
    return draw(nights_of(tz, day))


@st.composite
def nights_of(draw: st.DrawFn, tz: ZoneInfo, day: date) -> Interval:
    # In UTC before adding: adding to a clinic-time datetime would count wall-clock time.
    midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    start = midnight + draw(st.integers(-8, 8)) * timedelta(minutes=15)
    return Interval(start, start + draw(st.integers(60, 8 * 60)) * ONE_MINUTE)


@st.composite
def time_off_on(draw: st.DrawFn, tz: ZoneInfo, days: Sequence[date]) -> Interval:
    """Leave or an errand starting some time in one of the clinic's days."""
    day = draw(st.sampled_from(days))
    minute = draw(st.integers(0, 24 * 60 - 1))
    start = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz).astimezone(UTC)
    return Interval(start, start + draw(st.integers(1, 8 * 60)) * ONE_MINUTE)


@st.composite
def windows_given_directly(
    draw: st.DrawFn, tz: ZoneInfo, first_day: date, horizon: Interval
) -> list[WorkingWindow]:
    # Unlike working_windows output these may overlap, within a room and across rooms.
    windows = draw(
        st.lists(
            st.builds(
                WorkingWindow,
                intervals_in(horizon, timedelta(hours=10), shortest=timedelta(minutes=30))
                | night_shifts(tz, first_day),
                st.sampled_from(ROOMS),
            ),
            min_size=1,
            max_size=6,
        )
    )
    # A practitioner double-booked into two rooms: the same start may fit either window.
    doubled = draw(st.lists(st.sampled_from(windows), max_size=2))
    for window in doubled:
        shift = draw(st.integers(-4, 4)) * timedelta(minutes=15)
        interval = Interval(window.interval.start + shift, window.interval.end + shift)
        windows.append(WorkingWindow(interval, draw(st.sampled_from(ROOMS))))
    return windows


@st.composite
def would_be_slots(
    draw: st.DrawFn, tz: ZoneInfo, rules: SlotRules, windows: list[WorkingWindow]
) -> datetime:
    """A grid start whose blocked time usually fits a window: a slot, unless something is busy.

    Slots, existing bookings and limits meet here, so edge cases come up often.
    """
    window = draw(st.sampled_from(windows)).interval
    earliest = window.start + rules.buffer_before
    room = window.end - rules.duration - rules.buffer_after - earliest
    moment = earliest + draw(st.integers(0, max(0, room // ONE_MINUTE))) * ONE_MINUTE
    while not on_grid(moment, tz, rules.grid):
        moment += ONE_MINUTE
    return moment


def landmarks(
    tz: ZoneInfo, rules: SlotRules, windows: list[WorkingWindow], horizon: Interval
) -> st.SearchStrategy[datetime]:
    if not windows:
        return moment_in(horizon)
    return would_be_slots(tz, rules, windows)


def busy_time(
    horizon: Interval, landmark: st.SearchStrategy[datetime]
) -> st.SearchStrategy[Interval]:
    """An existing booking or hold with its own service's buffers, or a plain block."""
    booking = st.builds(blocked_interval, landmark | minute_in(horizon), SERVICE_RULES)
    block = intervals_in(horizon, timedelta(hours=3))
    return booking | block


@st.composite
def clinics(draw: st.DrawFn) -> Clinic:
    tz, first_day = draw(zones_and_first_days())
    horizon = horizon_for(first_day)
    rules = draw(SERVICE_RULES)
    windows = draw(
        windows_from_templates(tz, first_day, horizon)
        | windows_given_directly(tz, first_day, horizon)
    )
    landmark = landmarks(tz, rules, windows, horizon)
    room_landmarks = {
        room: landmarks(tz, rules, [w for w in windows if w.room_id == room], horizon)
        for room in ROOMS
    }
    # Limits often fall exactly on a would-be slot, so off-by-ones at the edges show.
    search_from = draw(st.just(horizon.start) | moment_in(horizon) | landmark)
    search_to = draw(st.just(horizon.end) | moment_in(horizon) | landmark)
    now = draw(
        st.just(horizon.start)
        | moment_in(horizon)
        | landmark.map(lambda start: start - rules.min_notice)
        | landmark.map(lambda start: start - rules.max_ahead)
    )
    return Clinic(
        tz=tz,
        horizon=horizon,
        windows=windows,
        busy=draw(st.lists(busy_time(horizon, landmark), max_size=6)),
        busy_by_room={
            room: draw(st.lists(busy_time(horizon, room_landmarks[room]), max_size=3))
            for room in ROOMS
            if room is not None
        },
        rules=rules,
        now=now,
        search_from=search_from,
        search_to=search_to,
        other_starts=draw(
            st.lists(landmark | minute_in(horizon) | just_off_a_minute(horizon), max_size=10)
        ),
    )


def just_off_a_minute(horizon: Interval) -> st.SearchStrategy[datetime]:
    return minute_in(horizon).map(lambda start: start + timedelta(seconds=30))


def clashes(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


def lies_within(inner: Interval, outer: Interval) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def on_grid(start: datetime, tz: ZoneInfo, grid: timedelta) -> bool:
    local = start.astimezone(tz)
    time_of_day = timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    return time_of_day % grid == timedelta(0)


def room_busy(clinic: Clinic, room_id: Hashable | None) -> Sequence[Interval]:
    return clinic.busy_by_room.get(room_id, []) if room_id is not None else []


def fits(clinic: Clinic, blocked: Interval, window: WorkingWindow) -> bool:
    if not lies_within(blocked, window.interval):
        return False
    if any(clashes(blocked, busy) for busy in clinic.busy):
        return False
    return not any(clashes(blocked, busy) for busy in room_busy(clinic, window.room_id))


def within_limits(
    clinic: Clinic, start: datetime, search_from: datetime, search_to: datetime
) -> bool:
    rules = clinic.rules
    return (
        search_from <= start < search_to
        and start >= clinic.now + rules.min_notice
        and start <= clinic.now + rules.max_ahead
    )


def oracle(
    clinic: Clinic, search_from: datetime, search_to: datetime
) -> dict[datetime, Hashable | None]:
    """Every bookable start, by trying each minute, with the room of the first window it fits.

    "First" is the earliest-starting window, ties kept in the order given.
    """
    windows = sorted(
        clinic.windows, key=lambda window: (window.interval.start, window.interval.end)
    )
    rules = clinic.rules
    offered: dict[datetime, Hashable | None] = {}
    # Every start inside any window: a window drawn near the horizon's end may run past it.
    start = min([clinic.horizon.start, *(window.interval.start for window in windows)])
    last = max([clinic.horizon.end, *(window.interval.end for window in windows)])
    while start < last:
        if within_limits(clinic, start, search_from, search_to) and on_grid(
            start, clinic.tz, rules.grid
        ):
            blocked = Interval(
                start - rules.buffer_before, start + rules.duration + rules.buffer_after
            )
            for window in windows:
                if fits(clinic, blocked, window):
                    offered[start] = window.room_id
                    break
        start += ONE_MINUTE
    return offered


@settings(max_examples=80, deadline=None)
@given(clinic=clinics())
def test_every_offered_slot_is_free_in_working_time_on_the_grid_and_in_limits(
    clinic: Clinic,
) -> None:
    slots = clinic.find()
    rules = clinic.rules

    for slot in slots:
        assert slot.start.tzinfo is UTC
        assert slot.end == slot.start + rules.duration
        assert slot.blocked == Interval(
            slot.start - rules.buffer_before, slot.end + rules.buffer_after
        )
        assert any(
            window.room_id == slot.room_id and lies_within(slot.blocked, window.interval)
            for window in clinic.windows
        ), "outside every working window of its room"
        assert not any(clashes(slot.blocked, busy) for busy in clinic.busy)
        assert not any(clashes(slot.blocked, busy) for busy in room_busy(clinic, slot.room_id))
        assert on_grid(slot.start, clinic.tz, rules.grid)
        assert slot.start >= clinic.now + rules.min_notice
        assert slot.start <= clinic.now + rules.max_ahead
        assert clinic.search_from <= slot.start < clinic.search_to
    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts)), "not sorted, or a start offered twice"


@settings(max_examples=80, deadline=None)
@given(clinic=clinics())
def test_every_bookable_start_is_offered_in_the_first_room_it_fits(clinic: Clinic) -> None:
    slots = clinic.find()

    expected = oracle(clinic, clinic.search_from, clinic.search_to)
    assert {slot.start: slot.room_id for slot in slots} == expected


@settings(max_examples=80, deadline=None)
@given(clinic=clinics())
def test_is_bookable_agrees_with_find_slots(clinic: Clinic) -> None:
    # is_bookable has no search range; search well past everything generated to match it.
    everything = Interval(
        clinic.horizon.start - timedelta(days=1), clinic.horizon.end + timedelta(days=1)
    )
    offered = {slot.start: slot for slot in clinic.find(everything.start, everything.end)}

    for slot in offered.values():
        assert clinic.is_bookable(slot.start) == slot
    for start in clinic.other_starts:
        assert clinic.is_bookable(start) == offered.get(start)


@settings(max_examples=45, deadline=None)
@given(clinic=clinics(), data=st.data())
def test_limits_and_bookings_bite_exactly_at_their_edges(
    clinic: Clinic, data: st.DataObject
) -> None:
    """Move each limit onto an offered slot, then one microsecond past it."""
    # Start with limits that hide little, so most clinics offer a slot to work from.
    clinic = replace(
        clinic,
        now=clinic.horizon.start - clinic.rules.min_notice,
        search_from=clinic.horizon.start,
        search_to=clinic.horizon.end,
    )
    slots = clinic.find()
    assume(slots)
    slot = data.draw(st.sampled_from(slots))
    start, blocked, rules = slot.start, slot.blocked, clinic.rules

    def offered(changed: Clinic) -> dict[datetime, Slot]:
        return {slot.start: slot for slot in changed.find()}

    def offers(changed: Clinic) -> bool:
        return start in offered(changed)

    assert offers(replace(clinic, search_from=start))
    assert not offers(replace(clinic, search_from=start + TICK))
    assert offers(replace(clinic, search_to=start + TICK))
    assert not offers(replace(clinic, search_to=start))
    assert offers(replace(clinic, now=start - rules.min_notice))
    assert not offers(replace(clinic, now=start - rules.min_notice + TICK))
    assert offers(replace(clinic, now=start - rules.max_ahead))
    assert not offers(replace(clinic, now=start - rules.max_ahead - TICK))

    # Bookings that only touch the blocked time leave the slot; a microsecond of overlap
    # at either end, buffers included, takes it away.
    touching = [
        Interval(blocked.start - ONE_MINUTE, blocked.start),
        Interval(blocked.end, blocked.end + ONE_MINUTE),
    ]
    assert offered(replace(clinic, busy=[*clinic.busy, *touching])).get(start) == slot
    first_tick = Interval(blocked.start, blocked.start + TICK)
    last_tick = Interval(blocked.end - TICK, blocked.end)
    assert not offers(replace(clinic, busy=[*clinic.busy, first_tick]))
    assert not offers(replace(clinic, busy=[*clinic.busy, last_tick]))
    if slot.room_id is not None:
        room_taken = dict(clinic.busy_by_room)
        room_taken[slot.room_id] = [*room_taken.get(slot.room_id, []), blocked]
        # Another room's window may still offer the start, but not this room.
        moved = offered(replace(clinic, busy_by_room=room_taken)).get(start)
        assert moved is None or moved.room_id != slot.room_id


@settings(max_examples=60, deadline=None)
@given(clock_change=st.sampled_from(CLOCK_CHANGES), rules=SERVICE_RULES, data=st.data())
def test_a_night_with_a_clock_change_offers_every_local_grid_start(
    clock_change: tuple[ZoneInfo, date], rules: SlotRules, data: st.DataObject
) -> None:
    tz, first_day = clock_change
    change_day = first_day + timedelta(days=1)
    night = data.draw(nights_of(tz, change_day))
    horizon = horizon_for(first_day)
    clinic = Clinic(
        tz=tz,
        horizon=horizon,
        windows=[WorkingWindow(night, None)],
        busy=[],
        busy_by_room={},
        rules=replace(rules, min_notice=timedelta(0), max_ahead=timedelta(days=60)),
        now=horizon.start,
        search_from=horizon.start,
        search_to=horizon.end,
    )

    slots = clinic.find()

    assert {slot.start: slot.room_id for slot in slots} == oracle(
        clinic, horizon.start, horizon.end
    )


def covering_rooms(
    rules: Sequence[WeeklyRule],
    days: Sequence[date],
    closed_days: set[date],
    time_off: Sequence[Interval],
    local: datetime,
) -> set[Hashable | None]:
    """Rooms whose rules have the practitioner at work at `local`, read off the wall clock."""
    if any(off.start <= local < off.end for off in time_off):
        return set()
    day = local.date()
    if day not in days or day in closed_days:
        return set()
    return {
        rule.room_id
        for rule in rules
        if rule.weekday == day.weekday()
        and rule.valid_from <= day
        and (rule.valid_until is None or day <= rule.valid_until)
        and rule.start <= local.time() < rule.end
    }


@settings(max_examples=60, deadline=None)
@given(zone_and_first_day=zones_and_first_days(), data=st.data())
def test_working_windows_cover_exactly_the_templated_hours(
    zone_and_first_day: tuple[ZoneInfo, date], data: st.DataObject
) -> None:
    tz, first_day = zone_and_first_day
    horizon = horizon_for(first_day)
    days = [first_day + timedelta(days=offset) for offset in range(DAYS_GENERATED)]
    rules = data.draw(st.lists(weekly_rules(first_day), min_size=1, max_size=4))
    closed_days = data.draw(st.sets(st.sampled_from(days), max_size=1))
    time_off = data.draw(st.lists(time_off_on(tz, days), min_size=1, max_size=2))

    windows = working_windows(rules, tz, days[0], days[-1], closed_days, time_off)

    assert [w.interval.start for w in windows] == sorted(w.interval.start for w in windows)
    for room in ROOMS:
        own = [w.interval for w in windows if w.room_id == room]
        assert all(a.end < b.start for a, b in itertools.pairwise(own)), "not merged"
    day = timedelta(days=1)
    minutes_per_day = day // ONE_MINUTE
    # The clinic's clock each minute from a day before the horizon to a day after it.
    clock = [
        (horizon.start - day + minute * ONE_MINUTE).astimezone(tz)
        for minute in range((horizon.end - horizon.start + 2 * day) // ONE_MINUTE)
    ]
    for minute in range(minutes_per_day, len(clock) - minutes_per_day):
        local = clock[minute]
        # Around a clock change the wall clock is ambiguous; the example tests pin that down.
        if (
            clock[minute - minutes_per_day].utcoffset()
            != clock[minute + minutes_per_day].utcoffset()
        ):
            continue
        working_in = {w.room_id for w in windows if w.interval.start <= local < w.interval.end}
        assert working_in == covering_rooms(rules, days, closed_days, time_off, local)
