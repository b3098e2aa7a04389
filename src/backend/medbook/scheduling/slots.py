"""Bookable slots: starts on the grid whose blocked time fits working time and clashes with none."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from medbook.scheduling.availability import WorkingWindow
from medbook.scheduling.intervals import Interval, merge, require_aware, subtract

# Generic so callers can pass e.g. dict[UUID, list[Interval]]: Mapping is invariant in its
# key type, so Mapping[Hashable, ...] would reject it.
RoomId = TypeVar("RoomId", bound=Hashable)

_ONE_DAY = timedelta(days=1)
# datetime's resolution: the last instant before an exclusive bound.
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SlotRules:
    """A service's booking rules: how long it takes and when it may be booked."""

    duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    # Slot starts fall on multiples of this from local midnight in the clinic's timezone.
    grid: timedelta = timedelta(minutes=15)
    min_notice: timedelta = timedelta(0)
    max_ahead: timedelta = timedelta(days=60)

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise ValueError(f"duration must be positive, got {self.duration}")
        if self.buffer_before < timedelta(0) or self.buffer_after < timedelta(0):
            raise ValueError("buffers must not be negative")
        if self.grid <= timedelta(0) or _ONE_DAY % self.grid != timedelta(0):
            raise ValueError(f"grid must be positive and divide a day evenly, got {self.grid}")
        if self.min_notice < timedelta(0):
            raise ValueError(f"min_notice must not be negative, got {self.min_notice}")
        if self.max_ahead < self.min_notice:
            raise ValueError(
                f"max_ahead ({self.max_ahead}) must not be less than min_notice ({self.min_notice})"
            )


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable start, in UTC, and everything a booking made from it will occupy."""

    start: datetime
    end: datetime
    blocked: Interval
    room_id: Hashable | None


def blocked_interval(start: datetime, rules: SlotRules) -> Interval:
    """The time a booking starting at `start` occupies: the appointment and its buffers."""
    start = require_aware(start, "start")
    return Interval(start - rules.buffer_before, start + rules.duration + rules.buffer_after)


def find_slots(
    rules: SlotRules,
    tz: ZoneInfo,
    windows: Sequence[WorkingWindow],
    busy: Sequence[Interval],
    busy_by_room: Mapping[RoomId, Sequence[Interval]],
    now: datetime,
    search_from: datetime,
    search_to: datetime,
) -> list[Slot]:
    """Every bookable slot for one practitioner at one clinic starting in [search_from, search_to).

    A slot's blocked interval lies inside one working window and overlaps nothing in `busy`
    (the practitioner's bookings, holds and blocks, buffers included) nor, when the window
    has a room, in that room's busy intervals. Starts lie on the service's grid in clinic
    time and within its notice and look-ahead limits. Sorted by start, one slot per start:
    where windows in different rooms overlap, a start goes to the earliest-starting window
    in which it is free.
    """
    now = require_aware(now, "now")
    earliest = max(require_aware(search_from, "search_from"), now + rules.min_notice)
    latest = min(now + rules.max_ahead, require_aware(search_to, "search_to") - _TICK)
    if latest < earliest:
        return []

    # Every blocked interval we could offer lies in `reach`; nothing outside it matters.
    reach = Interval(earliest - rules.buffer_before, latest + rules.duration + rules.buffer_after)
    nearby_windows = sorted(
        (window for window in windows if window.interval.overlaps(reach)),
        key=lambda window: window.interval,
    )
    conflicts = _Conflicts(busy, busy_by_room, reach)

    slots: list[Slot] = []
    for window in nearby_windows:
        for free in subtract([window.interval], conflicts.within(window)):
            first = max(free.start + rules.buffer_before, earliest)
            last = min(free.end - rules.duration - rules.buffer_after, latest)
            slots.extend(
                _slot(start, rules, window.room_id)
                for start in _grid_starts(first, last, rules.grid, tz)
            )
    return _one_per_start(slots)


def is_bookable(
    start: datetime,
    rules: SlotRules,
    tz: ZoneInfo,
    windows: Sequence[WorkingWindow],
    busy: Sequence[Interval],
    busy_by_room: Mapping[RoomId, Sequence[Interval]],
    now: datetime,
) -> Slot | None:
    """The slot starting exactly at `start` if `find_slots` would offer it, else None.

    It is `find_slots` over a one-microsecond search, so the two cannot disagree; the narrow
    search skips every window and busy interval away from `start`.
    """
    start = require_aware(start, "start")
    found = find_slots(rules, tz, windows, busy, busy_by_room, now, start, start + _TICK)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class _BusyTimeline:
    """Disjoint busy intervals in order, with their ends listed apart for bisection."""

    intervals: list[Interval]
    starts: list[datetime]
    ends: list[datetime]

    @classmethod
    def of(cls, busy: list[Interval]) -> _BusyTimeline:
        merged = merge(busy)
        return cls(merged, [i.start for i in merged], [i.end for i in merged])

    def within(self, window: Interval) -> list[Interval]:
        """The busy intervals that overlap `window`."""
        first = bisect_right(self.ends, window.start)
        past_last = bisect_left(self.starts, window.end)
        return self.intervals[first:past_last]


class _Conflicts:
    """Busy time near the search: the practitioner's, plus each room's, merged once per room."""

    def __init__(
        self,
        busy: Sequence[Interval],
        busy_by_room: Mapping[RoomId, Sequence[Interval]],
        reach: Interval,
    ) -> None:
        self._reach = reach
        self._practitioner_busy = [interval for interval in busy if interval.overlaps(reach)]
        self._busy_by_room: dict[Hashable, Sequence[Interval]] = {
            room_id: intervals for room_id, intervals in busy_by_room.items()
        }
        self._timelines: dict[Hashable | None, _BusyTimeline] = {}

    def within(self, window: WorkingWindow) -> list[Interval]:
        """Busy intervals that overlap the window, for the practitioner and its room, sorted."""
        if window.room_id not in self._timelines:
            self._timelines[window.room_id] = _BusyTimeline.of(
                self._practitioner_busy + self._room_busy(window.room_id)
            )
        return self._timelines[window.room_id].within(window.interval)

    def _room_busy(self, room_id: Hashable | None) -> list[Interval]:
        if room_id is None:
            return []
        room_busy = self._busy_by_room.get(room_id, ())
        return [interval for interval in room_busy if interval.overlaps(self._reach)]


def _slot(start: datetime, rules: SlotRules, room_id: Hashable | None) -> Slot:
    end = start + rules.duration
    return Slot(
        start, end, Interval(start - rules.buffer_before, end + rules.buffer_after), room_id
    )


def _one_per_start(slots: list[Slot]) -> list[Slot]:
    # The sort is stable, so among equal starts the earliest window's slot stays first.
    slots.sort(key=lambda slot: slot.start)
    unique: list[Slot] = []
    for slot in slots:
        if not unique or unique[-1].start != slot.start:
            unique.append(slot)
    return unique


def _grid_starts(
    first: datetime, last: datetime, grid: timedelta, tz: ZoneInfo
) -> Iterator[datetime]:
    """UTC instants in [first, last] whose wall-clock time in `tz` is a multiple of `grid`.

    While the zone's UTC offset holds still the grid starts are evenly spaced; at a clock
    change the spacing restarts from the new offset (an hour's shift need not be a multiple
    of a 90-minute grid). Assumes no zone changes its offset twice within one day, which
    holds for every zone in the tz database.
    """
    run_start = first
    while run_start <= last:
        offset = _utc_offset(run_start, tz)
        run_end = _last_instant_with_offset(run_start, min(last, run_start + _ONE_DAY), offset, tz)
        start = _align_up(run_start, offset, grid)
        while start <= run_end:
            yield start
            start += grid
        run_start = run_end + _TICK


def _align_up(moment: datetime, offset: timedelta, grid: timedelta) -> datetime:
    # `grid` divides a day, so the wall-clock time of day is on the grid exactly when
    # the local time counted from any local midnight, such as the epoch's, is.
    past_grid_line = (moment + offset - _EPOCH) % grid
    if past_grid_line == timedelta(0):
        return moment
    return moment + (grid - past_grid_line)


def _last_instant_with_offset(
    run_start: datetime, bound: datetime, offset: timedelta, tz: ZoneInfo
) -> datetime:
    """The last instant in [run_start, bound] still at `offset`, bisecting for a clock change."""
    if _utc_offset(bound, tz) == offset:
        return bound
    still_old, already_new = run_start, bound
    while already_new - still_old > _TICK:
        middle = still_old + (already_new - still_old) // 2
        if _utc_offset(middle, tz) == offset:
            still_old = middle
        else:
            already_new = middle
    return still_old


def _utc_offset(moment: datetime, tz: ZoneInfo) -> timedelta:
    offset = moment.astimezone(tz).utcoffset()
    if offset is None:
        raise ValueError(f"timezone {tz} has no UTC offset at {moment}")
    return offset
