"""The desk answers "when is my appointment?": a patient's bookings at the clinics where the
staff member may see patients, never at the others; each look on the audit trail."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import assert_problem, book, move_appointment
from tests.factories import make_clinic, make_room, make_weekly_hours, make_world


def visits_path(patient_id: str) -> str:
    return f"/api/v1/staff/patients/{patient_id}/appointments"


async def visits(
    client: AppClient, who: SignedIn, patient_id: str, when: str = "upcoming"
) -> dict[str, Any]:
    response = await client.get(visits_path(patient_id), params={"when": when}, headers=who.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_staff_see_a_patients_visits_only_at_their_own_clinics(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    other = await make_clinic(session, "jurong", name="Medical Inc. Jurong")
    await make_weekly_hours(session, world.doctors[1], other, await make_room(session, other))
    await session.commit()
    here_soon = await book(client, world, world.at(9))
    here_later = await book(client, world, world.at(11, day=world.tomorrow + timedelta(days=1)))
    here_past = await book(client, world, world.at(13))
    await move_appointment(session, here_past.id, timedelta(days=-3))
    elsewhere = await client.post(
        "/api/v1/holds",
        json={
            "clinic_id": str(other.id),
            "practitioner_id": str(world.doctors[1].id),
            "service_id": str(world.gp.id),
            "start": world.at(15).isoformat(),
        },
        headers=here_soon.headers,
    )
    assert elsewhere.status_code == 201, elsewhere.text
    patient_id = str(here_soon.patient.id)
    desk_here = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    manager_everywhere = await sign_in_staff(session, (Role.CLINIC_MANAGER, None))

    seen_here = await visits(client, desk_here, patient_id)
    past_here = await visits(client, desk_here, patient_id, "past")
    seen_everywhere = await visits(client, manager_everywhere, patient_id)

    assert [a["id"] for a in seen_here["appointments"]] == [here_soon.id, here_later.id]
    assert [a["id"] for a in past_here["appointments"]] == [here_past.id]
    assert {a["id"] for a in seen_everywhere["appointments"]} == {
        here_soon.id,
        here_later.id,
        elsewhere.json()["hold_id"],  # a live hold at the other clinic shows, as a hold
    }
    assert seen_here["patient"]["id"] == patient_id
    assert seen_here["patient"]["nric_masked"] is None or "*" in seen_here["patient"]["nric_masked"]
    first = seen_here["appointments"][0]
    assert first["patient"]["id"] == patient_id
    assert first["status"] == "confirmed"


async def test_who_may_not_look_and_what_is_not_there_get_clear_answers(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(9))
    patient_id = str(booked.patient.id)
    administrator = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    refused = await client.get(visits_path(patient_id), headers=administrator.headers)
    unknown = await client.get(visits_path(str(uuid.uuid4())), headers=desk.headers)
    as_patient = await client.get(visits_path(patient_id), headers=booked.headers)
    bad_when = await client.get(
        visits_path(patient_id), params={"when": "tomorrow"}, headers=desk.headers
    )

    assert_problem(refused, 403, "not_permitted")
    assert_problem(unknown, 404, "patient_not_found")
    assert as_patient.status_code in (401, 403), as_patient.text
    assert bad_when.status_code == 422, bad_when.text


async def test_each_look_is_audited_with_the_patient_and_a_count_never_the_details(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(9))
    patient_id = str(booked.patient.id)
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    await visits(client, desk, patient_id)

    rows = (
        await session.execute(
            text(
                "SELECT actor_id, subject_kind, subject_id, detail FROM audit_events"
                " WHERE action = 'patient.visits_viewed'"
            )
        )
    ).all()
    await session.commit()
    assert len(rows) == 1
    [(actor_id, subject_kind, subject_id, detail)] = rows
    assert (str(actor_id), subject_kind, str(subject_id)) == (str(desk.id), "patient", patient_id)
    assert detail == {"results": 1}
