from collections.abc import Hashable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from medbook.scheduling import Interval, WeeklyRule, WorkingWindow, working_windows

SINGAPORE = ZoneInfo("Asia/Singapore")
LONDON = ZoneInfo("Europe/London")
MONDAY = date(2025, 1, 6)
TUESDAY = date(2025, 1, 7)
WEDNESDAY = date(2025, 1, 8)
ROOM_1 = "room-1"
ROOM_2 = "room-2"


def rule(
    weekday: int,
    start: time,
    end: time,
    valid_from: date = date(2024, 1, 1),
    valid_until: date | None = None,
    room_id: Hashable | None = None,
) -> WeeklyRule:
    return WeeklyRule(weekday, start, end, valid_from, valid_until, room_id)


def sgt(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SINGAPORE)


def window(start: datetime, end: datetime, room_id: Hashable | None = None) -> WorkingWindow:
    return WorkingWindow(Interval(start, end), room_id)


def test_singapore_morning_hours_become_utc_at_plus_eight() -> None:
    monday_mornings = rule(0, time(9), time(12))

    windows = working_windows([monday_mornings], SINGAPORE, MONDAY, MONDAY)

    assert windows == [
        window(datetime(2025, 1, 6, 1, tzinfo=UTC), datetime(2025, 1, 6, 4, tzinfo=UTC))
    ]
    assert windows[0].interval.start.tzinfo is UTC


def test_a_rule_applies_only_on_its_weekday() -> None:
    tuesdays = rule(1, time(9), time(12))

    windows = working_windows([tuesdays], SINGAPORE, MONDAY, WEDNESDAY)

    assert windows == [window(sgt(TUESDAY, 9), sgt(TUESDAY, 12))]


def test_rule_dates_are_inclusive_at_both_ends() -> None:
    # Mondays 6, 13, 20 and 27 January; the rule covers the 13th to the 20th.
    mondays = rule(
        0, time(9), time(10), valid_from=date(2025, 1, 13), valid_until=date(2025, 1, 20)
    )

    windows = working_windows([mondays], SINGAPORE, date(2025, 1, 1), date(2025, 1, 31))

    assert [w.interval.start for w in windows] == [
        sgt(date(2025, 1, 13), 9),
        sgt(date(2025, 1, 20), 9),
    ]


def test_an_open_ended_rule_runs_to_the_end_of_the_search() -> None:
    mondays = rule(0, time(9), time(10), valid_from=date(2025, 1, 13), valid_until=None)

    windows = working_windows([mondays], SINGAPORE, date(2025, 1, 1), date(2025, 2, 28))

    assert len(windows) == 7  # 13 Jan to 24 Feb


def test_a_closed_day_has_no_windows() -> None:
    weekdays = [rule(weekday, time(9), time(17)) for weekday in range(5)]

    windows = working_windows([*weekdays], SINGAPORE, MONDAY, WEDNESDAY, closed_days={TUESDAY})

    assert [w.interval.start for w in windows] == [sgt(MONDAY, 9), sgt(WEDNESDAY, 9)]


def test_time_off_splits_a_window_and_both_pieces_keep_the_room() -> None:
    monday_in_room_1 = rule(0, time(9), time(17), room_id=ROOM_1)
    dentist_appointment = Interval(sgt(MONDAY, 12), sgt(MONDAY, 13, 30))

    windows = working_windows(
        [monday_in_room_1], SINGAPORE, MONDAY, MONDAY, time_off=[dentist_appointment]
    )

    assert windows == [
        window(sgt(MONDAY, 9), sgt(MONDAY, 12), ROOM_1),
        window(sgt(MONDAY, 13, 30), sgt(MONDAY, 17), ROOM_1),
    ]


def test_time_off_covering_the_whole_day_leaves_nothing() -> None:
    monday = rule(0, time(9), time(17))
    leave = Interval(sgt(MONDAY, 0), sgt(TUESDAY, 0))

    assert working_windows([monday], SINGAPORE, MONDAY, MONDAY, time_off=[leave]) == []


def test_overlapping_and_touching_rules_for_one_room_merge_into_one_window() -> None:
    rules = [
        rule(0, time(9), time(12), room_id=ROOM_1),
        rule(0, time(11), time(13), room_id=ROOM_1),
        rule(0, time(13), time(15), room_id=ROOM_1),
    ]

    windows = working_windows(rules, SINGAPORE, MONDAY, MONDAY)

    assert windows == [window(sgt(MONDAY, 9), sgt(MONDAY, 15), ROOM_1)]


def test_rules_for_different_rooms_stay_separate_and_sorted() -> None:
    rules = [
        rule(0, time(14), time(17), room_id=ROOM_2),
        rule(0, time(9), time(12), room_id=ROOM_1),
        rule(0, time(11), time(13), room_id=ROOM_2),
    ]

    windows = working_windows(rules, SINGAPORE, MONDAY, MONDAY)

    assert windows == [
        window(sgt(MONDAY, 9), sgt(MONDAY, 12), ROOM_1),
        window(sgt(MONDAY, 11), sgt(MONDAY, 13), ROOM_2),
        window(sgt(MONDAY, 14), sgt(MONDAY, 17), ROOM_2),
    ]


def test_a_backwards_range_of_days_has_no_windows() -> None:
    assert working_windows([rule(0, time(9), time(12))], SINGAPORE, TUESDAY, MONDAY) == []


def test_london_hours_follow_the_clocks_going_forward() -> None:
    # Clocks went forward on Sunday 30 March 2025: 09:00 is 09:00Z before and 08:00Z after.
    saturdays_and_mondays = [rule(5, time(9), time(12)), rule(0, time(9), time(12))]

    windows = working_windows(saturdays_and_mondays, LONDON, date(2025, 3, 29), date(2025, 3, 31))

    assert [(w.interval.start, w.interval.end) for w in windows] == [
        (datetime(2025, 3, 29, 9, tzinfo=UTC), datetime(2025, 3, 29, 12, tzinfo=UTC)),
        (datetime(2025, 3, 31, 8, tzinfo=UTC), datetime(2025, 3, 31, 11, tzinfo=UTC)),
    ]


def test_a_london_night_shift_over_the_clock_change_lasts_the_real_time() -> None:
    # 00:00-04:00 on the night the clocks go forward is three hours of real time.
    sunday_night = rule(6, time(0), time(4))

    windows = working_windows([sunday_night], LONDON, date(2025, 3, 30), date(2025, 3, 30))

    assert windows == [
        window(datetime(2025, 3, 30, 0, tzinfo=UTC), datetime(2025, 3, 30, 3, tzinfo=UTC))
    ]


def test_a_repeated_london_hour_is_read_as_its_first_occurrence() -> None:
    # Clocks went back at 02:00 BST on 26 October 2025, so 01:00-02:00 happened twice.
    sunday_early = rule(6, time(0), time(1, 30))

    windows = working_windows([sunday_early], LONDON, date(2025, 10, 26), date(2025, 10, 26))

    assert windows == [
        window(datetime(2025, 10, 25, 23, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC))
    ]


def test_a_rule_starting_in_a_skipped_hour_and_ending_soon_after_has_no_time() -> None:
    # 01:30 does not exist on 30 March 2025; read with fold=0 it is 01:30Z, after 02:15 BST.
    sunday = rule(6, time(1, 30), time(2, 15))

    assert working_windows([sunday], LONDON, date(2025, 3, 30), date(2025, 3, 30)) == []


@pytest.mark.parametrize(
    ("weekday", "start", "end", "valid_until", "message"),
    [
        (7, time(9), time(12), None, "weekday"),
        (-1, time(9), time(12), None, "weekday"),
        (0, time(12), time(9), None, "end after it starts"),
        (0, time(9), time(9), None, "end after it starts"),
        (0, time(22), time(2), None, "end after it starts"),
        (0, time(9, tzinfo=UTC), time(12, tzinfo=UTC), None, "wall-clock"),
        (0, time(9), time(12), date(2023, 12, 31), "valid until"),
    ],
)
def test_invalid_weekly_rules_are_rejected(
    weekday: int, start: time, end: time, valid_until: date | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WeeklyRule(weekday, start, end, date(2024, 1, 1), valid_until)
