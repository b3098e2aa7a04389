"""An appointment's life through the HTTP API: every transition, and every refusal.

Time is never waited for: when a story needs a hold to be old, or an appointment to be today
or already started, it moves that row's clock in the database, which is the only clock the
rules read.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.clinics.models import Service
from tests.auth import AppClient, patient_headers, sign_in_patient
from tests.booking.helpers import (
    CHECKOUT,
    PATIENT,
    Booking,
    age_hold,
    assert_problem,
    block,
    book,
    count_appointments,
    hold,
    hold_body,
    holder_lock_held,
    move_appointment,
    offered_starts,
    row,
    status_in_db,
    wait_for_waiters,
)
from tests.factories import (
    SINGAPORE,
    World,
    database_now,
    make_practitioner,
    make_service,
    make_weekly_hours,
    make_world,
)
from tests.live import LiveServer

HOLDS = "/api/v1/holds"


def confirm_url(booking: Booking) -> str:
    return f"{HOLDS}/{booking.id}/confirm"


def in_three_days(world: World, hour: int, minute: int = 0) -> datetime:
    return world.at(hour, minute, day=world.tomorrow + timedelta(days=2))


# --- hold, confirm, release -------------------------------------------------------------


async def test_confirming_a_hold_with_contact_details_books_the_appointment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))

    response = await client.post(confirm_url(held), json=CHECKOUT, headers=held.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["hold_expires_at"] is None
    booked = await row(session, held.id)
    assert booked.status == "confirmed"
    patient = (
        await session.execute(
            text("SELECT full_name, phone FROM patients WHERE id = :id"), {"id": booked.patient_id}
        )
    ).one()
    assert (patient.full_name, patient.phone) == ("Tan Mei Ling", "+6591234567")


async def test_another_patient_confirming_a_hold_is_answered_as_if_there_were_no_such_hold(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    missing_id = str(uuid.uuid4())
    missing = await client.post(
        f"{HOLDS}/{missing_id}/confirm", json=CHECKOUT, headers=held.headers
    )
    someone_else = await patient_headers(client, "someone else")

    response = await client.post(confirm_url(held), json=CHECKOUT, headers=someone_else)

    assert_problem(response, 404, "appointment_not_found")
    assert_problem(missing, 404, "appointment_not_found")
    assert json.dumps(response.json()).replace(held.id, "ID") == json.dumps(missing.json()).replace(
        missing_id, "ID"
    )
    assert await status_in_db(session, held.id) == "held"


async def test_confirming_twice_is_an_invalid_transition(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    again = await client.post(confirm_url(booked), json=CHECKOUT, headers=booked.headers)

    assert_problem(again, 409, "invalid_transition")
    assert await status_in_db(session, booked.id) == "confirmed"


async def test_a_released_hold_gives_its_slot_to_the_next_client(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10), client_id="first")

    released = await client.delete(f"{HOLDS}/{held.id}", headers=held.headers)

    assert released.status_code == 204
    assert await status_in_db(session, held.id) == "released"
    retaken = await client.post(
        HOLDS, json=hold_body(world, world.at(10)), headers=await patient_headers(client, "second")
    )
    assert retaken.status_code == 201, retaken.text


async def test_a_confirmed_appointment_cannot_be_released(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    released = await client.delete(f"{HOLDS}/{booked.id}", headers=booked.headers)

    assert_problem(released, 409, "invalid_transition")
    assert await status_in_db(session, booked.id) == "confirmed"


async def test_a_released_hold_cannot_be_confirmed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    await client.delete(f"{HOLDS}/{held.id}", headers=held.headers)

    response = await client.post(confirm_url(held), json=CHECKOUT, headers=held.headers)

    assert_problem(response, 410, "hold_released")


# --- the 300-second hold ------------------------------------------------------------------


async def test_a_hold_299_9_seconds_old_is_still_held(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    await age_hold(session, held.id, timedelta(seconds=299.9))

    response = await client.get(f"{HOLDS}/{held.id}", headers=held.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "held"


async def test_a_hold_299_9_seconds_old_still_keeps_its_slot_from_others(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10), client_id="first")
    await age_hold(session, held.id, timedelta(seconds=299.9))

    rival = await client.post(
        HOLDS, json=hold_body(world, world.at(10)), headers=await patient_headers(client, "second")
    )

    assert_problem(rival, 409, "slot_taken")
    assert await status_in_db(session, held.id) == "held"


async def test_a_hold_300_seconds_old_can_no_longer_be_confirmed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    await age_hold(session, held.id, timedelta(seconds=300))

    response = await client.post(confirm_url(held), json=CHECKOUT, headers=held.headers)

    assert_problem(response, 410, "hold_expired")


async def test_a_hold_300_seconds_old_yields_its_slot_and_is_expired_by_the_new_hold(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    stale = await hold(client, world, world.at(10), client_id="first")
    await age_hold(session, stale.id, timedelta(seconds=300))
    assert await status_in_db(session, stale.id) == "held"  # nothing has tidied it yet

    fresh = await hold(client, world, world.at(10), client_id="second")

    old, new = await row(session, stale.id), await row(session, fresh.id)
    assert old.status == "expired"
    # now() is the transaction's start: equal stamps mean one and the same transaction.
    assert old.updated_at == new.created_at
    assert new.status == "held"


@pytest.mark.parametrize("by", ["hold", "walk-in"])
async def test_a_stale_hold_of_another_doctor_in_the_room_is_expired_by_the_booking_it_blocks(
    client: AppClient, session: AsyncSession, staff_headers: dict[str, str], by: str
) -> None:
    """The booking's slot search sees the stale hold in its room (not its doctor's) and has it
    expired before the insert, or the room's constraint would refuse the time."""
    world = await make_world(session)
    roommate = await make_practitioner(session, "M12343A", [world.gp], full_name="Doctor 3")
    await make_weekly_hours(session, roommate, world.clinic, world.rooms[0])
    await session.commit()
    stale = await hold(client, world, world.at(10), client_id="first")
    await age_hold(session, stale.id, timedelta(seconds=300))

    body = hold_body(world, world.at(10)) | {"practitioner_id": str(roommate.id)}
    if by == "hold":
        taken = await client.post(HOLDS, json=body, headers=await patient_headers(client, "2nd"))
    else:
        body["patient_id"] = str((await client.patient("2nd")).id)
        taken = await client.post("/api/v1/staff/walk-ins", json=body, headers=staff_headers)

    assert taken.status_code == 201, taken.text
    assert await status_in_db(session, stale.id) == "expired"


async def test_a_walk_in_over_booked_time_is_refused_before_it_waits_for_the_booking_locks(
    client: AppClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    walk_in = await client.post(
        "/api/v1/staff/walk-ins",
        json=hold_body(world, world.at(10, 5)) | {"patient_id": str(booked.patient.id)},
        headers=staff_headers,
    )

    body = assert_problem(walk_in, 409, "slot_taken")
    assert "already taken" in body["detail"]  # the slot search's answer, not the constraint's


# --- the live-hold cap per client -----------------------------------------------------------


async def hold_three(client: httpx.AsyncClient, world: World, client_id: str) -> list[Booking]:
    return [await hold(client, world, world.at(10, m), client_id=client_id) for m in (0, 15, 30)]


async def test_a_client_with_three_live_holds_cannot_take_a_fourth(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    await hold_three(client, world, "same")

    fourth = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10, 45)),
        headers=await patient_headers(client, "same"),
    )

    assert_problem(fourth, 429, "hold_limit_reached")
    assert await count_appointments(session) == 3


async def test_releasing_one_of_three_holds_makes_room_for_another(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    first, *_ = await hold_three(client, world, "same")
    await client.delete(f"{HOLDS}/{first.id}", headers=first.headers)

    fourth = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10, 45)),
        headers=await patient_headers(client, "same"),
    )

    assert fourth.status_code == 201, fourth.text


async def test_an_expired_hold_no_longer_counts_towards_the_cap(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    first, *_ = await hold_three(client, world, "same")
    await age_hold(session, first.id, timedelta(seconds=300))

    fourth = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10, 45)),
        headers=await patient_headers(client, "same"),
    )

    assert fourth.status_code == 201, fourth.text


async def test_one_clients_cap_does_not_limit_another_client(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    await hold_three(client, world, "same")

    other = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10, 45)),
        headers=await patient_headers(client, "other"),
    )

    assert other.status_code == 201, other.text


async def test_six_simultaneous_holds_from_one_client_get_three(
    session: AsyncSession, engine: AsyncEngine, live_server: LiveServer
) -> None:
    world = await make_world(session)
    starts = [world.at(10) + timedelta(minutes=15 * n) for n in range(6)]

    patient = await sign_in_patient(session)

    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as http:
        async with holder_lock_held(engine, patient) as gate:
            requests = asyncio.gather(
                *(
                    http.post(HOLDS, json=hold_body(world, start), headers=patient.headers)
                    for start in starts
                )
            )
            waiters = await wait_for_waiters(gate, 6)
        responses = await requests

    assert waiters == {"advisory": 6}  # all six were past the slot check at once
    assert sorted(response.status_code for response in responses) == [201] * 3 + [429] * 3
    assert await count_appointments(session) == 3


# --- which slots may be held ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "days_from_tomorrow"),
    [(10, 7, 0), (22, 0, 0), (10, 0, -2)],
    ids=["off-the-grid", "outside-working-hours", "in-the-past"],
)
async def test_a_time_the_timetable_does_not_offer_cannot_be_held(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hour: int,
    minute: int,
    days_from_tomorrow: int,
) -> None:
    world = await make_world(session)
    start = world.at(hour, minute, day=world.tomorrow + timedelta(days=days_from_tomorrow))

    response = await client.post(
        HOLDS, json=hold_body(world, start), headers=await patient_headers(client)
    )

    assert_problem(response, 422, "slot_not_offered")
    assert await count_appointments(session) == 0


async def test_a_service_the_practitioner_does_not_offer_cannot_be_held(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    physio: Service = await make_service(session, "physio", name="Physiotherapy")
    await session.commit()

    response = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10), service=physio),
        headers=await patient_headers(client),
    )

    assert_problem(response, 422, "service_not_offered")


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("clinic_id", "clinic_not_found"),
        ("practitioner_id", "practitioner_not_found"),
        ("service_id", "service_not_found"),
    ],
)
async def test_an_unknown_clinic_practitioner_or_service_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession, field: str, code: str
) -> None:
    world = await make_world(session)
    body = hold_body(world, world.at(10)) | {field: str(uuid.uuid4())}

    response = await client.post(HOLDS, json=body, headers=await patient_headers(client))

    assert_problem(response, 404, code)


@pytest.mark.parametrize(
    "change",
    [
        {"start": "2030-01-01T10:00:00"},
        {"start": "2030-01-01T10:00:00+08:00", "coupon": "FREE"},
        {"practitioner_id": "not-a-uuid"},
    ],
    ids=["naive-datetime", "unknown-field", "malformed-uuid"],
)
async def test_a_malformed_hold_request_fails_validation(
    client: httpx.AsyncClient, session: AsyncSession, change: dict[str, str]
) -> None:
    world = await make_world(session)

    response = await client.post(
        HOLDS, json=hold_body(world, world.at(10)) | change, headers=await patient_headers(client)
    )

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"]
    assert await count_appointments(session) == 0


@pytest.mark.parametrize(
    "start",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-12:00", "1999-12-31T10:00:00+08:00"],
    ids=["year-1", "year-9999", "last-century"],
)
async def test_a_start_far_outside_the_calendar_fails_validation_not_the_server(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str], start: str
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(9))
    block = {
        "clinic_id": str(world.clinic.id),
        "practitioner_id": str(world.doctors[0].id),
        "start": start,
        "end": world.at(12).isoformat(),
    }

    held = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10)) | {"start": start},
        headers=await patient_headers(client),
    )
    moved = await client.post(
        f"/api/v1/appointments/{booked.id}/reschedule",
        json={"start": start},
        headers=booked.headers,
    )
    walked_in = await client.post(
        "/api/v1/staff/walk-ins",
        json=walk_in_body(world, 10) | {"start": start},
        headers=staff_headers,
    )
    blocked = await client.post("/api/v1/staff/blocks", json=block, headers=staff_headers)

    for response in (held, moved, walked_in, blocked):
        assert_problem(response, 422, "validation_failed")
    assert await count_appointments(session) == 1
    assert await status_in_db(session, booked.id) == "confirmed"


async def test_a_malformed_uuid_in_the_path_fails_validation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        f"{HOLDS}/not-a-uuid/confirm",
        json={"patient": PATIENT},
        headers=await patient_headers(client),
    )

    assert_problem(response, 422, "validation_failed")


# --- buffers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(9, 30, 201), (9, 45, 409), (10, 45, 409), (11, 0, 201)],
    ids=["ends-before-buffer", "into-buffer-before", "into-buffer-after", "after-buffer"],
)
async def test_a_screenings_buffers_keep_its_doctor_busy_from_0955_to_1055(
    client: httpx.AsyncClient,
    session: AsyncSession,
    hour: int,
    minute: int,
    expected: int,
) -> None:
    world = await make_world(session)
    await hold(client, world, world.at(10), service=world.screening, client_id="screening")

    response = await client.post(
        HOLDS,
        json=hold_body(world, world.at(hour, minute)),
        headers=await patient_headers(client, "gp"),
    )

    assert response.status_code == expected, response.text
    if expected == 409:
        assert_problem(response, 409, "slot_taken")


async def test_a_screenings_buffers_leave_the_other_doctor_free(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    await hold(client, world, world.at(10), service=world.screening, client_id="screening")

    response = await client.post(
        HOLDS,
        json=hold_body(world, world.at(10, 45), doctor=1),
        headers=await patient_headers(client, "gp"),
    )

    assert response.status_code == 201, response.text


# --- cancel (patient) -------------------------------------------------------------------------


def cancel_url(booking: Booking) -> str:
    return f"/api/v1/appointments/{booking.id}/cancel"


async def test_cancelling_inside_the_24_hour_window_is_recorded_as_late(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    # "Tomorrow" is within 24 hours only late in the day: make it two hours away, always.
    await move_appointment(session, booked.id, timedelta(hours=2))

    response = await client.post(
        cancel_url(booked), json={"reason": "fever"}, headers=booked.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["late_cancellation"] is True
    assert (await row(session, booked.id)).late_cancellation is True


async def test_cancelling_three_days_ahead_is_not_late(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, in_three_days(world, 10))

    response = await client.post(cancel_url(booked), json={}, headers=booked.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["late_cancellation"] is False


async def test_cancelling_twice_is_an_invalid_transition(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    await client.post(cancel_url(booked), json={}, headers=booked.headers)

    again = await client.post(cancel_url(booked), json={}, headers=booked.headers)

    assert_problem(again, 409, "invalid_transition")


async def test_a_patient_cannot_cancel_once_the_visit_has_started_but_staff_can(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    await move_appointment(session, booked.id, timedelta(minutes=-5))

    by_patient = await client.post(cancel_url(booked), json={}, headers=booked.headers)
    by_staff = await client.post(
        f"/api/v1/staff/appointments/{booked.id}/cancel", json={}, headers=staff_headers
    )

    assert_problem(by_patient, 409, "appointment_started")
    assert by_staff.status_code == 200, by_staff.text
    assert by_staff.json()["status"] == "cancelled"


async def test_a_cancelled_appointments_slot_is_offered_and_can_be_held_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10), client_id="first")
    assert world.at(10).isoformat() not in await offered_starts(client, world)

    await client.post(cancel_url(booked), json={}, headers=booked.headers)

    assert world.at(10).isoformat() in await offered_starts(client, world)
    await hold(client, world, world.at(10), client_id="second")


# --- reschedule -------------------------------------------------------------------------------


def reschedule_url(booking: Booking, staff: bool = False) -> str:
    prefix = "/api/v1/staff" if staff else "/api/v1"
    return f"{prefix}/appointments/{booking.id}/reschedule"


async def test_rescheduling_books_the_new_time_and_retires_the_old_appointment(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    old = await book(client, world, in_three_days(world, 10))

    response = await client.post(
        reschedule_url(old),
        json={"start": in_three_days(world, 14).isoformat()},
        headers=old.headers,
    )

    assert response.status_code == 201, response.text
    new = response.json()
    assert new["id"] != old.id
    assert new["status"] == "confirmed"
    assert new["rescheduled_from_id"] == old.id
    assert new["start"] == in_three_days(world, 14).isoformat()
    assert await status_in_db(session, old.id) == "rescheduled"
    assert (await row(session, new["id"])).patient_id == (await row(session, old.id)).patient_id


async def test_the_rescheduled_appointment_belongs_to_the_same_patient(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    old = await book(client, world, in_three_days(world, 10))
    moved = await client.post(
        reschedule_url(old),
        json={"start": in_three_days(world, 14).isoformat()},
        headers=old.headers,
    )
    new = Booking(moved.json()["id"], old.patient)

    seen = await client.get(f"/api/v1/appointments/{new.id}", headers=new.headers)
    cancelled = await client.post(cancel_url(new), json={}, headers=new.headers)

    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "confirmed"
    assert cancelled.json()["status"] == "cancelled"


async def test_rescheduling_to_a_taken_time_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    old = await book(client, world, in_three_days(world, 10), client_id="first")
    await book(client, world, in_three_days(world, 14), client_id="second")
    before = await row(session, old.id)
    rows_before = await count_appointments(session)

    response = await client.post(
        reschedule_url(old),
        json={"start": in_three_days(world, 14).isoformat()},
        headers=old.headers,
    )

    assert_problem(response, 409, "slot_taken")
    assert await row(session, old.id) == before
    assert await count_appointments(session) == rows_before


async def test_a_screening_can_move_to_a_time_overlapping_its_own(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    old = await book(client, world, in_three_days(world, 10), service=world.screening)

    response = await client.post(
        reschedule_url(old),
        json={"start": in_three_days(world, 10, 15).isoformat()},
        headers=old.headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["start"] == in_three_days(world, 10, 15).isoformat()
    assert await status_in_db(session, old.id) == "rescheduled"


async def test_a_patient_cannot_reschedule_inside_the_24_hour_window(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    old = await book(client, world, world.at(10))
    await move_appointment(session, old.id, timedelta(hours=2))

    response = await client.post(
        reschedule_url(old),
        json={"start": in_three_days(world, 10).isoformat()},
        headers=old.headers,
    )

    assert_problem(response, 409, "reschedule_window_passed")
    assert await status_in_db(session, old.id) == "confirmed"


async def test_staff_can_reschedule_inside_the_24_hour_window(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    old = await book(client, world, world.at(10))
    await move_appointment(session, old.id, timedelta(hours=2))

    response = await client.post(
        reschedule_url(old, staff=True),
        json={"start": in_three_days(world, 10).isoformat()},
        headers=staff_headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["rescheduled_from_id"] == old.id
    assert await status_in_db(session, old.id) == "rescheduled"


async def test_staff_can_move_an_appointment_to_the_other_doctor_which_frees_the_first(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    old = await book(client, world, world.at(10), client_id="first")
    other_doctor = str(world.doctors[1].id)

    response = await client.post(
        reschedule_url(old, staff=True),
        json={"start": world.at(10).isoformat(), "practitioner_id": other_doctor},
        headers=staff_headers,
    )

    assert response.status_code == 201, response.text
    assert response.json()["practitioner_id"] == other_doctor
    assert response.json()["room_id"] == str(world.rooms[1].id)
    assert world.at(10).isoformat() in await offered_starts(client, world, doctor=0)
    await hold(client, world, world.at(10), doctor=0, client_id="second")


# --- staff --------------------------------------------------------------------------------


def walk_in_body(world: World, hour: int, minute: int = 0, doctor: int = 0) -> dict[str, Any]:
    return hold_body(world, world.at(hour, minute), doctor) | {"patient": PATIENT}


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [(None, 401, "not_signed_in"), ("patient", 403, "staff_only")],
    ids=["nobody", "a-patient"],
)
async def test_the_staff_api_needs_a_signed_in_staff_member(
    client: httpx.AsyncClient, session: AsyncSession, who: str | None, status: int, code: str
) -> None:
    world = await make_world(session)
    headers = await patient_headers(client, who) if who else {}

    walk_in = await client.post(
        "/api/v1/staff/walk-ins", json=walk_in_body(world, 10), headers=headers
    )
    day = await client.get(
        f"/api/v1/staff/clinics/{world.clinic.id}/day",
        params={"day": world.tomorrow.isoformat()},
        headers=headers,
    )

    assert_problem(walk_in, status, code)
    assert_problem(day, status, code)
    assert await count_appointments(session) == 0


async def test_a_walk_in_for_another_day_is_a_confirmed_staff_booking(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)

    response = await client.post(
        "/api/v1/staff/walk-ins", json=walk_in_body(world, 10, 7), headers=staff_headers
    )

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["source"] == "staff"
    assert response.json()["start"] == world.at(10, 7).isoformat()  # walk-ins need no grid
    assert (await row(session, response.json()["id"])).patient_id is not None


async def test_a_walk_in_today_is_checked_in_at_once(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    doctor = world.doctors[0]
    now = (await database_now(session)).astimezone(SINGAPORE)
    # Today the doctor works the whole day, so the test holds whatever the hour.
    await make_weekly_hours(session, doctor, world.clinic, world.rooms[0], time(0), time(23, 59))
    await session.commit()
    arrived = now - timedelta(minutes=45) if now.time() > time(23, 30) else now
    body = {**walk_in_body(world, 0), "start": arrived.replace(second=0, microsecond=0).isoformat()}

    response = await client.post("/api/v1/staff/walk-ins", json=body, headers=staff_headers)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "checked_in"
    assert response.json()["source"] == "walk_in"


async def test_a_walk_in_long_past_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    two_hours_ago = (await database_now(session)) - timedelta(hours=2)
    body = {**walk_in_body(world, 0), "start": two_hours_ago.isoformat()}

    response = await client.post("/api/v1/staff/walk-ins", json=body, headers=staff_headers)

    assert_problem(response, 422, "walk_in_in_the_past")


@pytest.mark.parametrize(
    ("hour", "minute"), [(22, 0), (19, 50), (7, 50)], ids=["22:00", "runs-past-20:00", "07:50"]
)
async def test_a_walk_in_outside_working_hours_is_refused(
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff_headers: dict[str, str],
    hour: int,
    minute: int,
) -> None:
    world = await make_world(session)

    response = await client.post(
        "/api/v1/staff/walk-ins", json=walk_in_body(world, hour, minute), headers=staff_headers
    )

    assert_problem(response, 422, "slot_not_offered")
    assert await count_appointments(session) == 0


async def test_a_walk_in_over_a_booking_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    await book(client, world, world.at(10))

    response = await client.post(
        "/api/v1/staff/walk-ins", json=walk_in_body(world, 10, 10), headers=staff_headers
    )

    assert_problem(response, 409, "slot_taken")
    assert await count_appointments(session) == 1


async def test_blocked_time_cannot_be_held_and_is_not_offered(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)

    blocked = await block(client, world, staff_headers, 12, 13)

    assert blocked["status"] == "blocked"
    assert blocked["kind"] == "block"
    inside = await client.post(
        HOLDS, json=hold_body(world, world.at(12, 15)), headers=await patient_headers(client)
    )
    assert_problem(inside, 409, "slot_taken")
    offered = await offered_starts(client, world)
    assert not {world.at(12, m).isoformat() for m in (0, 15, 30, 45)} & offered
    assert {world.at(11, 45).isoformat(), world.at(13).isoformat()} <= offered


async def test_removing_a_block_offers_its_time_again(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    blocked = await block(client, world, staff_headers, 12, 13)

    removed = await client.delete(f"/api/v1/staff/blocks/{blocked['id']}", headers=staff_headers)

    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "cancelled"
    offered = await offered_starts(client, world)
    assert {world.at(12, m).isoformat() for m in (0, 15, 30, 45)} <= offered


def staff_action(booking: Booking, action: str) -> str:
    return f"/api/v1/staff/appointments/{booking.id}/{action}"


async def test_an_appointment_for_tomorrow_cannot_be_checked_in_today(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    response = await client.post(staff_action(booked, "check-in"), headers=staff_headers)

    assert_problem(response, 409, "not_today")
    assert await status_in_db(session, booked.id) == "confirmed"


async def test_todays_appointment_is_checked_in_and_then_completed(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    # Starting at the database's now is "today" whatever the time of day the suite runs.
    await move_appointment(session, booked.id, timedelta(0))

    checked_in = await client.post(staff_action(booked, "check-in"), headers=staff_headers)
    completed = await client.post(staff_action(booked, "complete"), headers=staff_headers)

    assert checked_in.status_code == 200, checked_in.text
    assert checked_in.json()["status"] == "checked_in"
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"
    assert await status_in_db(session, booked.id) == "completed"


async def test_an_appointment_that_has_not_started_is_not_a_no_show(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    response = await client.post(staff_action(booked, "no-show"), headers=staff_headers)

    assert_problem(response, 409, "not_started")
    assert await status_in_db(session, booked.id) == "confirmed"


async def test_an_appointment_that_started_without_its_patient_is_a_no_show(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    await move_appointment(session, booked.id, timedelta(minutes=-20))

    response = await client.post(staff_action(booked, "no-show"), headers=staff_headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "no_show"
    assert await status_in_db(session, booked.id) == "no_show"


async def test_an_appointment_not_checked_in_cannot_be_completed(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    response = await client.post(staff_action(booked, "complete"), headers=staff_headers)

    assert_problem(response, 409, "invalid_transition")
    assert await status_in_db(session, booked.id) == "confirmed"


async def test_the_day_view_lists_the_days_appointments_with_their_statuses(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)
    await book(client, world, world.at(9))
    await hold(client, world, world.at(10), doctor=1)
    released = await hold(client, world, world.at(11))
    await client.delete(f"{HOLDS}/{released.id}", headers=released.headers)
    await block(client, world, staff_headers, 12, 13)
    walk_in = await client.post(
        "/api/v1/staff/walk-ins", json=walk_in_body(world, 14, doctor=1), headers=staff_headers
    )
    assert walk_in.status_code == 201, walk_in.text
    await book(client, world, in_three_days(world, 9))  # another day: not listed

    response = await client.get(
        f"/api/v1/staff/clinics/{world.clinic.id}/day",
        params={"day": world.tomorrow.isoformat()},
        headers=staff_headers,
    )

    assert response.status_code == 200, response.text
    listed = [(item["start"], item["status"]) for item in response.json()["appointments"]]
    assert listed == [
        (world.at(9).isoformat(), "confirmed"),
        (world.at(10).isoformat(), "held"),
        (world.at(11).isoformat(), "released"),
        (world.at(12).isoformat(), "blocked"),
        (world.at(14).isoformat(), "confirmed"),
    ]


async def test_the_day_view_refuses_a_day_outside_the_calendar(
    client: httpx.AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    world = await make_world(session)

    response = await client.get(
        f"/api/v1/staff/clinics/{world.clinic.id}/day",
        params={"day": "9999-12-31"},
        headers=staff_headers,
    )

    assert_problem(response, 422, "validation_failed")
