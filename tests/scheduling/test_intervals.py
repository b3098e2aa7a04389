import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medbook.scheduling import Interval, merge, subtract

SINGAPORE = ZoneInfo("Asia/Singapore")
DAY_START = datetime(2025, 1, 6, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY_START + timedelta(hours=hour, minutes=minute)


def span(start_hour: float, end_hour: float) -> Interval:
    return Interval(DAY_START + timedelta(hours=start_hour), DAY_START + timedelta(hours=end_hour))


def test_an_interval_may_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Interval(at(10), at(9))


def test_an_empty_interval_is_allowed() -> None:
    assert Interval(at(9), at(9)).is_empty


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2025, 1, 6, 9), at(10))


def test_clinic_time_is_held_as_the_same_instant_in_utc() -> None:
    interval = Interval(
        datetime(2025, 1, 6, 9, tzinfo=SINGAPORE), datetime(2025, 1, 6, 10, tzinfo=SINGAPORE)
    )

    assert interval.start.tzinfo is UTC
    assert interval == Interval(at(1), at(2))


def test_overlapping_intervals_overlap() -> None:
    assert span(9, 10).overlaps(span(9.5, 11))
    assert span(9.5, 11).overlaps(span(9, 10))
    assert span(9, 12).overlaps(span(10, 11))


def test_touching_intervals_do_not_overlap() -> None:
    assert not span(9, 10).overlaps(span(10, 11))
    assert not span(10, 11).overlaps(span(9, 10))


def test_an_empty_interval_overlaps_nothing() -> None:
    assert not span(10, 10).overlaps(span(9, 11))
    assert not span(9, 11).overlaps(span(10, 10))


def test_contains_includes_both_edges() -> None:
    assert span(9, 12).contains(span(9, 12))
    assert span(9, 12).contains(span(10, 11))
    assert not span(9, 12).contains(span(8.5, 10))
    assert not span(9, 12).contains(span(11, 12.5))


def test_merge_sorts_and_joins_overlapping_and_touching_intervals() -> None:
    merged = merge([span(13, 14), span(9, 10), span(9.5, 11), span(11, 12), span(15, 15)])

    assert merged == [span(9, 12), span(13, 14)]


def test_merge_keeps_an_interval_swallowed_by_another() -> None:
    assert merge([span(9, 17), span(10, 11)]) == [span(9, 17)]


def test_a_cut_in_the_middle_splits_the_base() -> None:
    assert subtract([span(9, 17)], [span(12, 13)]) == [span(9, 12), span(13, 17)]


def test_cuts_at_the_edges_trim_the_base() -> None:
    assert subtract([span(9, 17)], [span(8, 10), span(16, 18)]) == [span(10, 16)]


def test_a_cut_covering_everything_leaves_nothing() -> None:
    assert subtract([span(9, 12), span(13, 14)], [span(8, 18)]) == []


def test_subtract_without_cuts_returns_the_merged_base() -> None:
    assert subtract([span(11, 12), span(9, 11)], []) == [span(9, 12)]


def test_one_cut_can_trim_several_base_intervals() -> None:
    assert subtract([span(9, 11), span(12, 14)], [span(10, 13)]) == [span(9, 10), span(13, 14)]


minute_spans = st.lists(
    st.tuples(st.integers(0, 120), st.integers(0, 30)).map(
        lambda start_and_length: (start_and_length[0], start_and_length[0] + start_and_length[1])
    ),
    max_size=8,
)


def minute_interval(start: int, end: int) -> Interval:
    return Interval(DAY_START + timedelta(minutes=start), DAY_START + timedelta(minutes=end))


def covered_minutes(intervals: list[tuple[int, int]]) -> set[int]:
    return {minute for start, end in intervals for minute in range(start, end)}


def as_minutes(intervals: list[Interval]) -> list[tuple[int, int]]:
    return [
        ((i.start - DAY_START) // timedelta(minutes=1), (i.end - DAY_START) // timedelta(minutes=1))
        for i in intervals
    ]


def assert_sorted_apart_and_non_empty(intervals: list[Interval]) -> None:
    assert all(not interval.is_empty for interval in intervals)
    assert all(a.end < b.start for a, b in itertools.pairwise(intervals))


@settings(max_examples=200, deadline=None)
@given(spans=minute_spans)
def test_merge_covers_exactly_the_same_minutes(spans: list[tuple[int, int]]) -> None:
    merged = merge(minute_interval(*s) for s in spans)

    assert_sorted_apart_and_non_empty(merged)
    assert covered_minutes(as_minutes(merged)) == covered_minutes(spans)


@settings(max_examples=200, deadline=None)
@given(base=minute_spans, cuts=minute_spans)
def test_subtract_covers_exactly_the_base_minutes_outside_the_cuts(
    base: list[tuple[int, int]], cuts: list[tuple[int, int]]
) -> None:
    pieces = subtract([minute_interval(*s) for s in base], [minute_interval(*s) for s in cuts])

    assert_sorted_apart_and_non_empty(pieces)
    assert covered_minutes(as_minutes(pieces)) == covered_minutes(base) - covered_minutes(cuts)
