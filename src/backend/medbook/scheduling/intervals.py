"""Half-open time intervals in UTC and the two set operations availability is built from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


def require_aware(moment: datetime, name: str) -> datetime:
    """Return `moment` in UTC, or raise ValueError if it carries no timezone."""
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """The half-open span [start, end) of real time, held in UTC.

    Both ends are normalised to UTC on construction. Python compares and subtracts two
    datetimes that share a ZoneInfo by wall clock, not by elapsed time, so an interval
    kept in clinic time would mis-measure any span crossing a daylight-saving change.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "start")
        end = require_aware(self.end, "end")
        if end < start:
            raise ValueError(f"interval ends before it starts: {start} > {end}")
        # Slot search builds many intervals already in UTC; skip the frozen-field writes then.
        if start is not self.start:
            object.__setattr__(self, "start", start)
        if end is not self.end:
            object.__setattr__(self, "end", end)

    @property
    def is_empty(self) -> bool:
        return self.start == self.end

    def overlaps(self, other: Interval) -> bool:
        """True if the two share some instant; touching intervals and empty ones do not."""
        return (
            self.start < other.end
            and other.start < self.end
            and self.start < self.end
            and other.start < other.end
        )

    def contains(self, other: Interval) -> bool:
        """True if every instant of `other` lies in this interval."""
        return self.start <= other.start and other.end <= self.end


def _bounds(interval: Interval) -> tuple[datetime, datetime]:
    return interval.start, interval.end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-empty intervals covering the same instants; overlapping or touching ones join."""
    merged: list[Interval] = []
    # Sorting on a key tuple, not the dataclass's own ordering: a week view merges thousands of
    # intervals, and Python-level __lt__ calls were most of its cost.
    present = [interval for interval in intervals if interval.start < interval.end]
    for interval in sorted(present, key=_bounds):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
            continue
        merged.append(interval)
    return merged


def subtract(base: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-empty pieces of `base` that no interval in `cuts` covers.

    One sweep over both sorted lists, so the cost is dominated by sorting them.
    """
    remaining_cuts = merge(cuts)
    pieces: list[Interval] = []
    first_cut = 0
    for stretch in merge(base):
        # Cuts are disjoint and sorted, and so are the stretches: a cut that ends before
        # this stretch starts cannot touch any later stretch either.
        while first_cut < len(remaining_cuts) and remaining_cuts[first_cut].end <= stretch.start:
            first_cut += 1
        pieces.extend(_pieces_outside(stretch, remaining_cuts, first_cut))
    return pieces


def _pieces_outside(stretch: Interval, cuts: list[Interval], first_cut: int) -> list[Interval]:
    pieces: list[Interval] = []
    cursor = stretch.start
    for index in range(first_cut, len(cuts)):
        cut = cuts[index]
        if cut.start >= stretch.end:
            break
        if cut.start > cursor:
            pieces.append(Interval(cursor, cut.start))
        cursor = max(cursor, cut.end)
    if cursor < stretch.end:
        pieces.append(Interval(cursor, stretch.end))
    return pieces
