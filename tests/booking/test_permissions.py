"""Who may do what, where: each role at its own clinic, and each denial proven, not assumed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import Clinic, Practitioner
from medbook.kernel.permissions import Role
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import (
    CHECKOUT,
    PATIENT,
    assert_problem,
    book,
    count_appointments,
    hold_body,
    move_appointment,
    row,
)
from tests.clinics.admin_helpers import offered_times
from tests.factories import (
    World,
    make_clinic,
    make_practitioner,
    make_room,
    make_weekly_hours,
    make_world,
)

DAY = "/api/v1/staff/clinics/{clinic}/day"


async def at_clinic(session: AsyncSession, role: Role, clinic_id: uuid.UUID | None) -> SignedIn:
    return await sign_in_staff(session, (role, clinic_id))


async def day_view(client: AppClient, world: World, who: SignedIn, clinic: uuid.UUID) -> int:
    response = await client.get(
        DAY.format(clinic=clinic), params={"day": world.tomorrow.isoformat()}, headers=who.headers
    )
    return response.status_code


async def test_a_receptionist_sees_and_runs_only_their_own_clinic(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    other_clinic = await make_clinic(session, "bedok")
    await session.commit()
    booked = await book(client, world, world.at(10))
    await move_appointment(session, booked.id, starts=timedelta(0))
    ours = await at_clinic(session, Role.RECEPTIONIST, world.clinic.id)
    theirs = await at_clinic(session, Role.RECEPTIONIST, other_clinic.id)

    assert await day_view(client, world, ours, world.clinic.id) == 200
    assert await day_view(client, world, theirs, world.clinic.id) == 403
    seen = await client.get(f"/api/v1/appointments/{booked.id}", headers=theirs.headers)
    checked_in = await client.post(
        f"/api/v1/staff/appointments/{booked.id}/check-in", headers=theirs.headers
    )
    walk_in = await client.post(
        "/api/v1/staff/walk-ins",
        json=hold_body(world, world.at(11)) | {"patient": PATIENT},
        headers=theirs.headers,
    )

    # Another clinic's appointment does not exist for them: same 404 as a made-up id.
    assert_problem(seen, 404, "appointment_not_found")
    assert_problem(checked_in, 404, "appointment_not_found")
    assert_problem(walk_in, 403, "not_permitted")
    assert (await row(session, booked.id)).status == "confirmed"
    assert await count_appointments(session) == 1
    mine = await client.post(
        f"/api/v1/staff/appointments/{booked.id}/check-in", headers=ours.headers
    )
    assert mine.status_code == 200, mine.text


@pytest.mark.parametrize(
    ("role", "action", "status"),
    [
        (Role.PRACTITIONER, "check-in", 200),
        (Role.PRACTITIONER, "cancel", 403),
        (Role.PRACTITIONER, "walk-in", 403),
        (Role.ADMINISTRATOR, "day", 200),
        (Role.ADMINISTRATOR, "cancel", 403),
        (Role.ADMINISTRATOR, "walk-in", 403),
        (Role.DATA_PROTECTION_OFFICER, "day", 403),
        (Role.DATA_PROTECTION_OFFICER, "check-in", 404),
        (Role.CLINIC_MANAGER, "cancel", 200),
    ],
)
async def test_each_role_may_do_only_its_own_work(
    client: AppClient, session: AsyncSession, role: Role, action: str, status: int
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    await move_appointment(session, booked.id, starts=timedelta(minutes=5))
    # Administrators and DPOs work across clinics; the others at this one.
    clinic = None if role in (Role.ADMINISTRATOR, Role.DATA_PROTECTION_OFFICER) else world.clinic.id
    who = await at_clinic(session, role, clinic)

    if action == "day":
        got = await day_view(client, world, who, world.clinic.id)
    elif action == "walk-in":
        response = await client.post(
            "/api/v1/staff/walk-ins",
            json=hold_body(world, world.at(12)) | {"patient": PATIENT},
            headers=who.headers,
        )
        got = response.status_code
    else:
        path = f"/api/v1/staff/appointments/{booked.id}/{action}"
        body = {} if action == "cancel" else None
        got = (await client.post(path, json=body, headers=who.headers)).status_code

    assert got == status
    expected = {"check-in": "checked_in", "cancel": "cancelled"}.get(action, "confirmed")
    assert (await row(session, booked.id)).status == (expected if status == 200 else "confirmed")


async def test_staff_hold_for_a_named_patient_at_their_own_clinic_only(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    other_clinic = await make_clinic(session, "bedok")
    await session.commit()
    patient = await client.patient("Tan")
    desk = await at_clinic(session, Role.RECEPTIONIST, world.clinic.id)
    elsewhere = await at_clinic(session, Role.RECEPTIONIST, other_clinic.id)
    body = hold_body(world, world.at(10))

    no_patient = await client.post("/api/v1/holds", json=body, headers=desk.headers)
    wrong_clinic = await client.post(
        "/api/v1/holds", json=body | {"patient_id": str(patient.id)}, headers=elsewhere.headers
    )
    unknown = await client.post(
        "/api/v1/holds", json=body | {"patient_id": str(uuid.uuid4())}, headers=desk.headers
    )
    held = await client.post(
        "/api/v1/holds", json=body | {"patient_id": str(patient.id)}, headers=desk.headers
    )

    assert_problem(no_patient, 422, "patient_required")
    assert_problem(wrong_clinic, 403, "not_permitted")
    assert_problem(unknown, 404, "patient_not_found")
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold_id"]
    assert (await row(session, hold_id)).patient_id == patient.id
    # The patient sees the hold made for them; the desk confirms it.
    seen = await client.get(f"/api/v1/holds/{hold_id}", headers=patient.headers)
    confirmed = await client.post(f"/api/v1/holds/{hold_id}/confirm", json={}, headers=desk.headers)
    assert seen.status_code == 200
    assert confirmed.status_code == 200, confirmed.text


async def test_a_patient_cannot_hold_for_someone_else(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    me = await client.patient("me")
    someone = await client.patient("someone")

    response = await client.post(
        "/api/v1/holds",
        json=hold_body(world, world.at(10)) | {"patient_id": str(someone.id)},
        headers=me.headers,
    )

    assert_problem(response, 422, "not_your_patient_id")
    assert await count_appointments(session) == 0


async def test_a_patient_cannot_see_or_cancel_another_patients_appointment(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10), client_id="owner")
    stranger = await client.patient("stranger")

    seen = await client.get(f"/api/v1/appointments/{booked.id}", headers=stranger.headers)
    cancelled = await client.post(
        f"/api/v1/appointments/{booked.id}/cancel", json={}, headers=stranger.headers
    )

    assert_problem(seen, 404, "appointment_not_found")
    assert_problem(cancelled, 404, "appointment_not_found")
    assert (await row(session, booked.id)).status == "confirmed"


async def test_confirming_needs_contact_details_when_the_record_has_none(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    newcomer = await client.patient("newcomer", full_name=None, phone=None)
    held = await client.post(
        "/api/v1/holds", json=hold_body(world, world.at(10)), headers=newcomer.headers
    )
    url = f"/api/v1/holds/{held.json()['hold_id']}/confirm"

    without = await client.post(url, json={}, headers=newcomer.headers)
    with_details = await client.post(url, json=CHECKOUT, headers=newcomer.headers)

    assert_problem(without, 409, "contact_details_missing")
    assert with_details.status_code == 200, with_details.text
    me = await client.get("/api/v1/me", headers=newcomer.headers)
    assert me.json()["full_name"] == PATIENT["full_name"]
    assert me.json()["needs_contact_details"] is False


# --- blocked time: only the clinic's own time, visible and removable there ----------------------


@dataclass
class TwoClinics:
    """Tampines (make_world's clinic) and Jurong East: a doctor who works only at Jurong, one
    who works at Tampines until 14:00 and at Jurong from 14:00, and each clinic's desk."""

    world: World
    jurong: Clinic
    jurong_doctor: Practitioner
    shared_doctor: Practitioner
    tampines_desk: SignedIn
    jurong_desk: SignedIn


async def two_clinics(session: AsyncSession) -> TwoClinics:
    world = await make_world(session)
    jurong = await make_clinic(session, "jurong-east", name="Medical Inc. Jurong East")
    jurong_room = await make_room(session, jurong, "Consult Room 1")
    jurong_doctor = await make_practitioner(session, "M55555J", [world.gp])
    await make_weekly_hours(session, jurong_doctor, jurong, jurong_room)
    shared_doctor = await make_practitioner(session, "M66666S", [world.gp])
    await make_weekly_hours(session, shared_doctor, world.clinic, None, time(8), time(14))
    await make_weekly_hours(session, shared_doctor, jurong, None, time(14), time(20))
    await session.commit()
    return TwoClinics(
        world,
        jurong,
        jurong_doctor,
        shared_doctor,
        await at_clinic(session, Role.RECEPTIONIST, world.clinic.id),
        await at_clinic(session, Role.RECEPTIONIST, jurong.id),
    )


async def block_at(
    client: AppClient,
    who: SignedIn,
    clinic: Clinic,
    practitioner: Practitioner,
    start: datetime,
    end: datetime,
) -> httpx.Response:
    return await client.post(
        "/api/v1/staff/blocks",
        json={
            "clinic_id": str(clinic.id),
            "practitioner_id": str(practitioner.id),
            "start": start.isoformat(),
            "end": end.isoformat(),
            "reason": "meeting",
        },
        headers=who.headers,
    )


async def day_ids(client: AppClient, world: World, who: SignedIn, clinic: Clinic) -> list[str]:
    response = await client.get(
        DAY.format(clinic=clinic.id),
        params={"day": world.tomorrow.isoformat()},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    return [appointment["id"] for appointment in response.json()["appointments"]]


async def test_no_desk_blocks_a_practitioner_who_works_only_at_another_clinic(
    client: AppClient, session: AsyncSession
) -> None:
    # Given a doctor who works only at Jurong, and the Tampines desk,
    org = await two_clinics(session)
    world = org.world
    everywhere = await at_clinic(session, Role.RECEPTIONIST, None)
    jurong_times = await offered_times(
        client, world.gp.id, org.jurong_doctor.id, world.tomorrow, org.jurong.id
    )
    # when the Tampines desk blocks 31 days of that doctor's time at Tampines, or at Jurong,
    at_tampines = await block_at(
        client,
        org.tampines_desk,
        world.clinic,
        org.jurong_doctor,
        world.at(8),
        world.at(8) + timedelta(days=31),
    )
    at_jurong = await block_at(
        client, org.tampines_desk, org.jurong, org.jurong_doctor, world.at(10), world.at(11)
    )
    # or even a desk of every clinic blocks it at Tampines, where the doctor does not work,
    nowhere = await block_at(
        client, everywhere, world.clinic, org.jurong_doctor, world.at(10), world.at(11)
    )

    # then each is refused, with a code that says why,
    assert_problem(at_tampines, 422, "practitioner_not_at_clinic")
    assert_problem(at_jurong, 403, "not_permitted")
    assert_problem(nowhere, 422, "practitioner_not_at_clinic")
    # and Jurong keeps every bookable time of its doctor.
    assert await count_appointments(session) == 0
    after = await offered_times(
        client, world.gp.id, org.jurong_doctor.id, world.tomorrow, org.jurong.id
    )
    assert after == jurong_times != []
    # The desk of every clinic blocks it where the doctor works: Jurong sees and removes it.
    there = await block_at(
        client, everywhere, org.jurong, org.jurong_doctor, world.at(10), world.at(11)
    )
    assert there.status_code == 201, there.text
    assert there.json()["id"] in await day_ids(client, world, org.jurong_desk, org.jurong)
    removed = await client.delete(
        f"/api/v1/staff/blocks/{there.json()['id']}", headers=org.jurong_desk.headers
    )
    assert removed.status_code == 200, removed.text


async def test_a_block_takes_only_its_own_clinics_time_and_stays_visible_and_removable_there(
    client: AppClient, session: AsyncSession
) -> None:
    # Given a doctor at Tampines until 14:00 and at Jurong from 14:00,
    org = await two_clinics(session)
    world, doctor = org.world, org.shared_doctor
    jurong_times = await offered_times(
        client, world.gp.id, doctor.id, world.tomorrow, org.jurong.id
    )

    # when the Tampines desk blocks the morning, a stretch into the afternoon, and 31 days,
    morning = await block_at(
        client, org.tampines_desk, world.clinic, doctor, world.at(9), world.at(11)
    )
    into_jurong = await block_at(
        client, org.tampines_desk, world.clinic, doctor, world.at(13), world.at(15)
    )
    month = await block_at(
        client,
        org.tampines_desk,
        world.clinic,
        doctor,
        world.at(8),
        world.at(8) + timedelta(days=31),
    )
    evening = await block_at(
        client, org.tampines_desk, world.clinic, doctor, world.at(20), world.at(21)
    )

    # then the morning is blocked at Tampines, shown on its day and not on Jurong's;
    assert morning.status_code == 201, morning.text
    block_id = morning.json()["id"]
    assert block_id in await day_ids(client, world, org.tampines_desk, world.clinic)
    assert block_id not in await day_ids(client, world, org.jurong_desk, org.jurong)
    # Jurong's hours are not Tampines' to take, and time outside both is Tampines' own;
    body = assert_problem(into_jurong, 409, "practitioner_works_elsewhere_then")
    assert "Jurong East" in body["detail"]
    assert_problem(month, 409, "practitioner_works_elsewhere_then")
    assert evening.status_code == 201, evening.text
    assert await count_appointments(session) == 2
    assert (
        await offered_times(client, world.gp.id, doctor.id, world.tomorrow, org.jurong.id)
        == jurong_times
        != []
    )
    # Jurong's desk cannot remove Tampines' block (not theirs: not found), Tampines' desk can.
    by_jurong = await client.delete(
        f"/api/v1/staff/blocks/{block_id}", headers=org.jurong_desk.headers
    )
    by_tampines = await client.delete(
        f"/api/v1/staff/blocks/{block_id}", headers=org.tampines_desk.headers
    )
    assert_problem(by_jurong, 404, "appointment_not_found")
    assert by_tampines.status_code == 200, by_tampines.text
    assert (await row(session, block_id)).status == "cancelled"
    # Jurong's desk blocks its own afternoon the same way.
    afternoon = await block_at(
        client, org.jurong_desk, org.jurong, doctor, world.at(15), world.at(16)
    )
    assert afternoon.status_code == 201, afternoon.text
    assert afternoon.json()["id"] in await day_ids(client, world, org.jurong_desk, org.jurong)
