"""Who may do what, where: each role at its own clinic, and each denial proven, not assumed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity.permissions import Role
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
from tests.factories import World, make_clinic, make_world

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
