"""When a practitioner works at a clinic: weekly templates expanded into UTC working windows."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from medbook.scheduling.intervals import Interval, merge, subtract


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """One row of a practitioner's weekly template at one clinic, in the clinic's local time."""

    weekday: int
    start: time
    end: time
    valid_from: date
    valid_until: date | None
    room_id: Hashable | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("rule times are local wall-clock times and must not carry a timezone")
        if self.end <= self.start:
            raise ValueError(
                f"rule must end after it starts on the same day, got {self.start}-{self.end}"
            )
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(f"rule valid until {self.valid_until}, before {self.valid_from}")

    def applies_on(self, day: date) -> bool:
        if day.weekday() != self.weekday or day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


@dataclass(frozen=True, slots=True)
class WorkingWindow:
    """A stretch of UTC time the practitioner works, and the room they work in."""

    interval: Interval
    room_id: Hashable | None


def working_windows(
    rules: Sequence[WeeklyRule],
    tz: ZoneInfo,
    first_day: date,
    last_day: date,
    closed_days: Collection[date] = (),
    time_off: Sequence[Interval] = (),
) -> list[WorkingWindow]:
    """Expand weekly rules over the local dates first_day..last_day into UTC working windows.

    Dates in `closed_days` (clinic closures, public holidays) get no windows. Rules for the
    same room that overlap or touch become one window; `time_off` is then cut out, possibly
    splitting a window into pieces that keep its room. The result is sorted by start.
    """
    closed = set(closed_days)
    shifts_by_room: dict[Hashable | None, list[Interval]] = {}
    day = first_day
    while day <= last_day:
        if day not in closed:
            for rule in rules:
                shift = _shift_on(rule, day, tz) if rule.applies_on(day) else None
                if shift is not None:
                    shifts_by_room.setdefault(rule.room_id, []).append(shift)
        day += timedelta(days=1)

    windows = [
        WorkingWindow(interval, room_id)
        for room_id, shifts in shifts_by_room.items()
        for interval in subtract(merge(shifts), time_off)
    ]
    windows.sort(key=lambda window: window.interval)
    return windows


def _shift_on(rule: WeeklyRule, day: date, tz: ZoneInfo) -> Interval | None:
    """The rule's hours on `day` in UTC, or None if a clock change leaves no time at all.

    Wall-clock times are read with fold=0: a time repeated when clocks go back means its
    first occurrence, and a time skipped when clocks go forward is read with the offset in
    force before the change (01:30 in a skipped 01:00-02:00 hour is the instant the clocks
    show 02:30). So a rule starting in a skipped hour and ending soon after it can come out
    with its end at or before its start; it then has no working time that day.
    """
    start = datetime.combine(day, rule.start.replace(fold=0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, rule.end.replace(fold=0), tzinfo=tz).astimezone(UTC)
    if end <= start:
        return None
    return Interval(start, end)
