from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from medbook.scheduling import (
    Interval,
    Slot,
    SlotRules,
    WorkingWindow,
    blocked_interval,
    find_slots,
    is_bookable,
)

SINGAPORE = ZoneInfo("Asia/Singapore")
KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
ROOM_1 = "room-1"
ROOM_2 = "room-2"
NO_BUSY_ROOMS: dict[str, list[Interval]] = {}
# Early enough that notice never bites unless a test says so.
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
# Shortly before the London clock changes, so they are within the default 60 days ahead.
SPRING = datetime(2025, 3, 1, tzinfo=UTC)
AUTUMN = datetime(2025, 10, 1, tzinfo=UTC)
CONSULTATION = SlotRules(duration=timedelta(minutes=15))


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def sgt(hour: int, minute: int = 0, day: int = 6) -> datetime:
    """Monday 6 January 2025 in Singapore, unless another January day is given."""
    return datetime(2025, 1, day, hour, minute, tzinfo=SINGAPORE)


def window(start: datetime, end: datetime, room_id: Hashable | None = None) -> WorkingWindow:
    return WorkingWindow(Interval(start, end), room_id)


def search(
    rules: SlotRules,
    windows: Sequence[WorkingWindow],
    busy: Sequence[Interval] = (),
    busy_by_room: Mapping[str, Sequence[Interval]] = NO_BUSY_ROOMS,
    now: datetime = LONG_AGO,
    tz: ZoneInfo = SINGAPORE,
    search_from: datetime = LONG_AGO,
    search_to: datetime = datetime(2025, 3, 1, tzinfo=UTC),
) -> list[Slot]:
    return find_slots(rules, tz, windows, busy, busy_by_room, now, search_from, search_to)


def local_starts(slots: list[Slot], tz: ZoneInfo = SINGAPORE) -> list[str]:
    return [slot.start.astimezone(tz).strftime("%H:%M") for slot in slots]


def test_starts_fall_on_the_quarter_hours_of_the_window() -> None:
    morning = window(sgt(9), sgt(10))

    slots = search(CONSULTATION, [morning])

    assert local_starts(slots) == ["09:00", "09:15", "09:30", "09:45"]


def test_slots_are_returned_in_utc() -> None:
    slots = search(CONSULTATION, [window(sgt(9), sgt(9, 15))])

    assert slots == [
        Slot(
            start=datetime(2025, 1, 6, 1, tzinfo=UTC),
            end=datetime(2025, 1, 6, 1, 15, tzinfo=UTC),
            blocked=Interval(
                datetime(2025, 1, 6, 1, tzinfo=UTC), datetime(2025, 1, 6, 1, 15, tzinfo=UTC)
            ),
            room_id=None,
        )
    ]
    assert slots[0].start.tzinfo is UTC


def test_a_window_off_the_grid_starts_at_the_next_grid_line() -> None:
    slots = search(CONSULTATION, [window(sgt(9, 5), sgt(10))])

    assert local_starts(slots) == ["09:15", "09:30", "09:45"]


def test_the_grid_counts_from_local_midnight_not_utc_midnight() -> None:
    # Kolkata is UTC+05:30, so an hourly local grid falls on the half hours in UTC.
    hourly = SlotRules(duration=minutes(30), grid=minutes(60))
    morning = window(
        datetime(2025, 1, 6, 9, tzinfo=KOLKATA), datetime(2025, 1, 6, 12, tzinfo=KOLKATA)
    )

    slots = search(hourly, [morning], tz=KOLKATA)

    assert [slot.start.strftime("%H:%M") for slot in slots] == ["03:30", "04:30", "05:30"]


def test_the_after_buffer_must_fit_in_the_window() -> None:
    with_clean_up = SlotRules(duration=minutes(15), buffer_after=minutes(5), grid=minutes(5))

    slots = search(with_clean_up, [window(sgt(9), sgt(12))])

    assert local_starts(slots)[-1] == "11:40"
    assert slots[-1].blocked == Interval(sgt(11, 40), sgt(12))


def test_the_before_buffer_must_fit_in_the_window() -> None:
    with_preparation = SlotRules(duration=minutes(15), buffer_before=minutes(10))

    slots = search(with_preparation, [window(sgt(9), sgt(10))])

    assert local_starts(slots) == ["09:15", "09:30", "09:45"]
    assert slots[0].blocked == Interval(sgt(9, 5), sgt(9, 30))


def test_a_booking_removes_exactly_the_starts_that_would_overlap_it() -> None:
    half_hour = SlotRules(duration=minutes(30))
    booking = Interval(sgt(10), sgt(10, 30))

    slots = search(half_hour, [window(sgt(9), sgt(11))], busy=[booking])

    # 09:30 ends as the booking begins and 10:30 starts as it ends: both still fit.
    assert local_starts(slots) == ["09:00", "09:15", "09:30", "10:30"]


def test_a_slot_buffer_may_not_overlap_a_booking() -> None:
    with_clean_up = SlotRules(duration=minutes(15), buffer_after=minutes(10))
    booking = Interval(sgt(10), sgt(10, 30))

    slots = search(with_clean_up, [window(sgt(9), sgt(11))], busy=[booking])

    assert "09:30" in local_starts(slots)
    assert "09:45" not in local_starts(slots)  # its clean-up would run into 10:00


def test_a_busy_room_removes_its_slots() -> None:
    room_booked_by_colleague = {ROOM_1: [Interval(sgt(9, 30), sgt(10))]}

    slots = search(
        CONSULTATION, [window(sgt(9), sgt(10), ROOM_1)], busy_by_room=room_booked_by_colleague
    )

    assert local_starts(slots) == ["09:00", "09:15"]
    assert {slot.room_id for slot in slots} == {ROOM_1}


def test_another_room_being_busy_does_not_matter() -> None:
    other_room_busy = {ROOM_2: [Interval(sgt(9), sgt(10))]}

    slots = search(CONSULTATION, [window(sgt(9), sgt(10), ROOM_1)], busy_by_room=other_room_busy)

    assert len(slots) == 4


def test_a_window_without_a_room_ignores_room_bookings() -> None:
    every_room_busy = {ROOM_1: [Interval(sgt(9), sgt(10))]}

    slots = search(CONSULTATION, [window(sgt(9), sgt(10))], busy_by_room=every_room_busy)

    assert len(slots) == 4


def test_a_slot_may_not_straddle_two_windows_of_the_same_room() -> None:
    # Windows from working_windows are already merged; two separate ones mean a gap.
    split_by_lunch = [window(sgt(9), sgt(12)), window(sgt(13), sgt(17))]
    two_hours = SlotRules(duration=minutes(120), grid=minutes(60))

    slots = search(two_hours, split_by_lunch)

    assert local_starts(slots) == ["09:00", "10:00", "13:00", "14:00", "15:00"]


def test_overlapping_windows_in_two_rooms_offer_each_start_once() -> None:
    both_rooms = [window(sgt(9, 30), sgt(11), ROOM_2), window(sgt(9), sgt(10), ROOM_1)]
    room_1_taken_at_nine_thirty = {ROOM_1: [Interval(sgt(9, 30), sgt(9, 45))]}

    slots = search(CONSULTATION, both_rooms, busy_by_room=room_1_taken_at_nine_thirty)

    # The earlier-starting window (room 1) wins where free; room 2 steps in where it is not.
    assert [
        (start, slot.room_id) for start, slot in zip(local_starts(slots), slots, strict=True)
    ] == [
        ("09:00", ROOM_1),
        ("09:15", ROOM_1),
        ("09:30", ROOM_2),
        ("09:45", ROOM_1),
        ("10:00", ROOM_2),
        ("10:15", ROOM_2),
        ("10:30", ROOM_2),
        ("10:45", ROOM_2),
    ]


def test_min_notice_hides_starts_too_soon() -> None:
    two_hours_notice = SlotRules(duration=minutes(15), min_notice=timedelta(hours=2))

    slots = search(two_hours_notice, [window(sgt(9), sgt(12))], now=sgt(9, 20))

    assert local_starts(slots)[0] == "11:30"


def test_a_start_exactly_at_the_notice_limit_is_offered() -> None:
    two_hours_notice = SlotRules(duration=minutes(15), min_notice=timedelta(hours=2))

    slots = search(two_hours_notice, [window(sgt(9), sgt(12))], now=sgt(9))

    assert local_starts(slots)[0] == "11:00"


def test_max_ahead_hides_starts_too_far_away() -> None:
    one_week_ahead = SlotRules(duration=minutes(15), max_ahead=timedelta(days=7))
    mondays = [window(sgt(9, day=day), sgt(10, day=day)) for day in (6, 13, 20)]

    slots = search(one_week_ahead, mondays, now=sgt(9, 30, day=6))

    # Now is Monday 09:30: the rest of this Monday and next Monday up to 09:30 inclusive.
    assert [slot.start.astimezone(SINGAPORE).strftime("%d %H:%M") for slot in slots] == [
        "06 09:30",
        "06 09:45",
        "13 09:00",
        "13 09:15",
        "13 09:30",
    ]


def test_the_search_includes_its_start_and_excludes_its_end() -> None:
    slots = search(CONSULTATION, [window(sgt(9), sgt(12))], search_from=sgt(10), search_to=sgt(11))

    assert local_starts(slots) == ["10:00", "10:15", "10:30", "10:45"]


def test_a_slot_starting_in_the_search_may_end_after_it() -> None:
    slots = search(
        CONSULTATION, [window(sgt(9), sgt(12))], search_from=sgt(10), search_to=sgt(10, 1)
    )

    assert slots[0].end == sgt(10, 15)


def test_starts_after_the_clocks_go_back_keep_the_local_grid() -> None:
    # London, 26 October 2025: 02:00 BST became 01:00 GMT. A 90-minute grid gives local
    # 00:00 and 01:30 BST, then 01:30 GMT: not 90 minutes of real time after 00:30Z.
    ninety = SlotRules(duration=minutes(30), grid=minutes(90))
    night = window(datetime(2025, 10, 25, 23, tzinfo=UTC), datetime(2025, 10, 26, 3, tzinfo=UTC))

    slots = search(
        ninety, [night], tz=LONDON, now=AUTUMN, search_to=datetime(2025, 11, 1, tzinfo=UTC)
    )

    assert [slot.start for slot in slots] == [
        datetime(2025, 10, 25, 23, tzinfo=UTC),
        datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
        datetime(2025, 10, 26, 1, 30, tzinfo=UTC),
    ]


def test_the_repeated_hour_offers_both_of_its_starts() -> None:
    hourly = SlotRules(duration=minutes(60), grid=minutes(60))
    night = window(datetime(2025, 10, 25, 23, tzinfo=UTC), datetime(2025, 10, 26, 3, tzinfo=UTC))

    slots = search(
        hourly, [night], tz=LONDON, now=AUTUMN, search_to=datetime(2025, 11, 1, tzinfo=UTC)
    )

    assert [slot.start.astimezone(LONDON).isoformat() for slot in slots] == [
        "2025-10-26T00:00:00+01:00",
        "2025-10-26T01:00:00+01:00",
        "2025-10-26T01:00:00+00:00",
        "2025-10-26T02:00:00+00:00",
    ]


def test_the_skipped_hour_offers_no_starts() -> None:
    # London, 30 March 2025: 01:00 GMT became 02:00 BST.
    hourly = SlotRules(duration=minutes(60), grid=minutes(60))
    night = window(datetime(2025, 3, 30, 0, tzinfo=UTC), datetime(2025, 3, 30, 3, tzinfo=UTC))

    slots = search(
        hourly, [night], tz=LONDON, now=SPRING, search_to=datetime(2025, 4, 1, tzinfo=UTC)
    )

    assert [slot.start.astimezone(LONDON).strftime("%H:%M") for slot in slots] == [
        "00:00",
        "02:00",
        "03:00",
    ]


def test_a_london_morning_after_the_change_is_an_hour_earlier_in_utc() -> None:
    morning = window(
        datetime(2025, 3, 31, 9, tzinfo=LONDON), datetime(2025, 3, 31, 9, 30, tzinfo=LONDON)
    )

    slots = search(
        CONSULTATION, [morning], tz=LONDON, now=SPRING, search_to=datetime(2025, 4, 1, tzinfo=UTC)
    )

    assert [slot.start for slot in slots] == [
        datetime(2025, 3, 31, 8, tzinfo=UTC),
        datetime(2025, 3, 31, 8, 15, tzinfo=UTC),
    ]


def test_blocked_interval_spans_the_buffers() -> None:
    rules = SlotRules(duration=minutes(30), buffer_before=minutes(5), buffer_after=minutes(10))

    assert blocked_interval(sgt(10), rules) == Interval(sgt(9, 55), sgt(10, 40))


def test_is_bookable_returns_the_slot_find_slots_offers() -> None:
    morning = [window(sgt(9), sgt(10), ROOM_1)]

    slot = is_bookable(sgt(9, 15), CONSULTATION, SINGAPORE, morning, [], NO_BUSY_ROOMS, LONG_AGO)

    assert slot is not None
    assert slot == search(CONSULTATION, morning)[1]


@pytest.mark.parametrize(
    ("start", "why"),
    [
        (sgt(9, 10), "off the grid"),
        (sgt(9, 15, day=6) + timedelta(seconds=1), "off the grid by a second"),
        (sgt(9, 30), "booked"),
        (sgt(9, 45), "runs past the window"),
        (sgt(8, 45), "before the window"),
        (sgt(9, 0), "too little notice"),
    ],
)
def test_is_bookable_refuses_a_start_find_slots_would_not_offer(start: datetime, why: str) -> None:
    with_clean_up = SlotRules(duration=minutes(15), buffer_after=minutes(5), min_notice=minutes(20))
    morning = [window(sgt(9), sgt(10))]
    booking = [Interval(sgt(9, 30), sgt(9, 45))]

    assert is_bookable(start, with_clean_up, SINGAPORE, morning, booking, {}, sgt(8, 45)) is None, (
        why
    )


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        search(CONSULTATION, [], now=datetime(2025, 1, 6, 9))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration": timedelta(0)}, "duration"),
        ({"duration": minutes(-15)}, "duration"),
        ({"buffer_before": minutes(-1)}, "buffers"),
        ({"buffer_after": minutes(-1)}, "buffers"),
        ({"grid": timedelta(0)}, "grid"),
        ({"grid": minutes(7)}, "grid"),
        ({"grid": timedelta(days=2)}, "grid"),
        ({"min_notice": minutes(-1)}, "min_notice"),
        ({"min_notice": timedelta(days=2), "max_ahead": timedelta(days=1)}, "max_ahead"),
    ],
)
def test_invalid_slot_rules_are_rejected(changes: dict[str, timedelta], message: str) -> None:
    settings = {"duration": minutes(15), **changes}

    with pytest.raises(ValueError, match=message):
        SlotRules(**settings)
