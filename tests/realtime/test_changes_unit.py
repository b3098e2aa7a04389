"""The pure parts: cursors, who sees which change, and what each channel shows of it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from medbook.realtime.changes import Change, Channel, Filter, appointment_view, slot_view
from medbook.realtime.cursor import Cursor, CursorError
from medbook.realtime.schemas import AppointmentChangeOut, SlotChangeOut

CLINIC, OTHER_CLINIC = uuid.uuid4(), uuid.uuid4()
DOCTOR, OTHER_DOCTOR = uuid.uuid4(), uuid.uuid4()
PATIENT = uuid.uuid4()
NINE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Singapore


def change(**values: object) -> Change:
    base = Change(
        cursor=Cursor(100, 7),
        recorded_at=NINE - timedelta(days=1),
        appointment_id=uuid.uuid4(),
        kind="appointment",
        status="held",
        previous_status=None,
        clinic_id=CLINIC,
        practitioner_id=DOCTOR,
        room_id=None,
        service_id=uuid.uuid4(),
        patient_id=PATIENT,
        starts_at=NINE,
        ends_at=NINE + timedelta(minutes=15),
        blocked_from=NINE,
        blocked_until=NINE + timedelta(minutes=20),
        hold_expires_at=NINE - timedelta(hours=20),
        rescheduled_from_id=None,
        timezone="Asia/Singapore",
    )
    return replace(base, **values)  # type: ignore[arg-type]


def test_a_cursor_reads_back_what_it_writes_and_orders_by_transaction_first() -> None:
    cursor = Cursor.parse("12345-678")
    assert cursor == Cursor(12345, 678)
    assert str(cursor) == "12345-678"
    assert Cursor(5, 900) < Cursor(6, 1)  # an older transaction's event first, whatever its id


@pytest.mark.parametrize("text", ["", "12", "1-2-3", "-1-2", "a-b", "1-", "99999999999999999999-1"])
def test_a_malformed_cursor_is_refused(text: str) -> None:
    with pytest.raises(CursorError):
        Cursor.parse(text)


def test_a_window_filter_takes_changes_overlapping_its_days_at_its_clinics() -> None:
    day = (NINE - timedelta(hours=9), NINE + timedelta(hours=15))
    follow = Filter(Channel.STAFF, windows={CLINIC: day})
    assert follow.matches(change())
    assert not follow.matches(change(clinic_id=OTHER_CLINIC))
    assert not follow.matches(
        change(blocked_from=day[1], blocked_until=day[1] + timedelta(hours=1))
    )
    assert follow.matches(
        change(
            blocked_from=day[0] - timedelta(minutes=5), blocked_until=day[0] + timedelta(minutes=1)
        )
    )


def test_a_practitioner_filter_and_a_patient_filter_narrow_it() -> None:
    assert not Filter(Channel.STAFF, practitioner_ids=frozenset({OTHER_DOCTOR})).matches(change())
    assert Filter(Channel.STAFF, practitioner_ids=frozenset({DOCTOR})).matches(change())
    assert Filter(Channel.MINE, patient_id=PATIENT).matches(change())
    assert not Filter(Channel.MINE, patient_id=uuid.uuid4()).matches(change())


def test_the_staff_view_carries_ids_times_and_statuses_in_the_clinic_zone_and_never_the_patient() -> (
    None
):
    shown = appointment_view(change())
    AppointmentChangeOut.model_validate(shown)
    assert shown["type"] == "appointment.held"
    assert shown["starts_at"] == "2026-12-01T09:00:00+08:00"
    assert str(PATIENT) not in str(shown)
    assert "patient_id" not in shown
    # Once confirmed, the old expiry means nothing and is not shown.
    assert (
        appointment_view(change(status="confirmed", previous_status="held"))["hold_expires_at"]
        is None
    )


@pytest.mark.parametrize(
    ("previous", "status", "shown"),
    [
        (None, "held", "slot.taken"),
        (None, "blocked", "slot.taken"),
        ("held", "confirmed", None),  # taken before and after: nothing to tell
        ("confirmed", "checked_in", None),
        ("held", "expired", "slot.freed"),
        ("held", "released", "slot.freed"),
        ("confirmed", "cancelled", "slot.freed"),
        ("confirmed", "rescheduled", "slot.freed"),
        ("confirmed", "no_show", "slot.freed"),
        ("blocked", "cancelled", "slot.freed"),
    ],
)
def test_the_availability_view_says_only_taken_or_freed(
    previous: str | None, status: str, shown: str | None
) -> None:
    view = slot_view(change(previous_status=previous, status=status))
    if shown is None:
        assert view is None
        return
    assert view is not None
    SlotChangeOut.model_validate(view)
    assert view["type"] == shown
    assert set(view) == {
        "cursor",
        "type",
        "at",
        "clinic_id",
        "practitioner_id",
        "room_id",
        "from",
        "until",
    }
    assert view["from"] == "2026-12-01T09:00:00+08:00"
    assert (
        view["until"] == "2026-12-01T09:20:00+08:00"
    )  # the time kept from others, buffers included
