"""The front desk: walk-ins for a patient found by search, and the day and week views with who
each visit is for and why, shown only to staff who may see patients at that clinic."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import (
    CHECKOUT,
    PATIENT,
    assert_problem,
    block,
    book,
    count_appointments,
    hold,
    hold_body,
    row,
)
from tests.factories import World, make_clinic, make_world

WALK_INS = "/api/v1/staff/walk-ins"


async def count_patients(session: AsyncSession) -> int:
    count: int = (await session.execute(text("SELECT count(*) FROM patients"))).scalar_one()
    await session.commit()
    return count


async def book_with_reason(
    client: AppClient, world: World, hour: int, reason: str, client_id: str, doctor: int = 0
) -> str:
    held = await hold(client, world, world.at(hour), doctor=doctor, client_id=client_id)
    confirmed = await client.post(
        f"/api/v1/holds/{held.id}/confirm",
        json=CHECKOUT | {"visit_reason": reason},
        headers=held.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    return held.id


async def day_view(client: AppClient, world: World, who: SignedIn) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/staff/clinics/{world.clinic.id}/day",
        params={"day": world.tomorrow.isoformat()},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    appointments: list[dict[str, Any]] = response.json()["appointments"]
    return appointments


def week(world: World, first: date, last: date) -> tuple[str, dict[str, str]]:
    url = f"/api/v1/staff/clinics/{world.clinic.id}/appointments"
    return url, {"from": first.isoformat(), "to": last.isoformat()}


# --- walk-ins for a patient on record --------------------------------------------------------


async def test_a_walk_in_for_a_patient_on_record_books_that_patient(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    known = await client.patient("known")
    before = await count_patients(session)

    response = await client.post(
        WALK_INS,
        json=hold_body(world, world.at(10)) | {"patient_id": str(known.id)},
        headers=staff.headers,
    )

    assert response.status_code == 201, response.text
    assert (await row(session, response.json()["id"])).patient_id == known.id
    assert await count_patients(session) == before


@pytest.mark.parametrize("who", ["both", "neither"])
async def test_a_walk_in_names_its_patient_exactly_once(
    client: AppClient, session: AsyncSession, staff: SignedIn, who: str
) -> None:
    world = await make_world(session)
    known = await client.patient("known")
    patient: dict[str, Any] = (
        {"patient_id": str(known.id), "patient": PATIENT} if who == "both" else {}
    )

    response = await client.post(
        WALK_INS, json=hold_body(world, world.at(10)) | patient, headers=staff.headers
    )

    problem = assert_problem(response, 422, "validation_failed")
    assert "either patient_id" in problem["detail"]
    assert await count_appointments(session) == 0


async def test_a_walk_in_for_an_unknown_patient_is_not_found(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)

    response = await client.post(
        WALK_INS,
        json=hold_body(world, world.at(10)) | {"patient_id": str(uuid.uuid4())},
        headers=staff.headers,
    )

    assert_problem(response, 404, "patient_not_found")
    assert await count_appointments(session) == 0


# --- the day view ---------------------------------------------------------------------------


async def test_the_desk_sees_who_each_visit_is_for_and_why(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    booked = await book_with_reason(client, world, 9, "Sore throat", "mei ling")
    block_id = (await block(client, world, staff.headers, 12, 13))["id"]
    patient = await client.patient("mei ling")
    await session.execute(
        text("UPDATE patients SET nric_masked = 'S****373D' WHERE id = :id"), {"id": patient.id}
    )
    await session.commit()
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    listed = {item["id"]: item for item in await day_view(client, world, desk)}

    assert listed[booked]["visit_reason"] == "Sore throat"
    assert listed[booked]["patient"] == {
        "id": str(patient.id),
        "full_name": PATIENT["full_name"],
        "phone": "+6591234567",
        "nric_masked": "S****373D",
    }
    assert listed[block_id]["patient"] is None
    assert listed[block_id]["note"] == "team meeting"


@pytest.mark.parametrize(
    "grants",
    [
        [(Role.ADMINISTRATOR, None)],
        # Patients may be seen at another clinic, not at this one.
        [(Role.ADMINISTRATOR, None), (Role.RECEPTIONIST, "other")],
    ],
    ids=["administrator", "desk-elsewhere"],
)
async def test_staff_who_may_not_see_patients_here_see_neither_who_nor_why(
    client: AppClient, session: AsyncSession, grants: list[tuple[Role, str | None]]
) -> None:
    world = await make_world(session)
    other = await make_clinic(session, "bedok")
    await session.commit()
    booked = await book_with_reason(client, world, 9, "Sore throat", "mei ling")
    who = await sign_in_staff(
        session, *[(role, other.id if clinic else None) for role, clinic in grants]
    )

    [item] = await day_view(client, world, who)

    assert item["id"] == booked
    assert item["patient"] is None
    assert item["visit_reason"] is None
    assert "Sore throat" not in str(item)
    assert PATIENT["full_name"] not in str(item)


async def test_a_practitioner_at_the_clinic_sees_their_patients(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    await book_with_reason(client, world, 9, "Knee pain", "mei ling")
    practitioner = await sign_in_staff(session, (Role.PRACTITIONER, world.clinic.id))

    [item] = await day_view(client, world, practitioner)

    assert item["visit_reason"] == "Knee pain"
    assert item["patient"]["full_name"] == PATIENT["full_name"]


# --- the week view --------------------------------------------------------------------------


async def test_the_week_view_lists_every_day_asked_for_by_start(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    day_after = world.tomorrow + timedelta(days=1)
    later = await book(client, world, world.at(9, day=day_after), client_id="ann")
    earlier = await book(client, world, world.at(15), doctor=1, client_id="ben")
    first = await book(client, world, world.at(9), client_id="cai")
    await book(client, world, world.at(9, day=world.tomorrow + timedelta(days=3)))  # outside
    url, params = week(world, world.tomorrow, day_after)

    response = await client.get(url, params=params, headers=staff.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["clinic_id"], body["from"], body["to"]) == (
        str(world.clinic.id),
        world.tomorrow.isoformat(),
        day_after.isoformat(),
    )
    assert [item["id"] for item in body["appointments"]] == [first.id, earlier.id, later.id]
    assert [item["start"] for item in body["appointments"]] == [
        world.at(9).isoformat(),
        world.at(15).isoformat(),
        world.at(9, day=day_after).isoformat(),
    ]
    patients = [item["patient"]["id"] for item in body["appointments"]]
    assert patients == [str(b.patient.id) for b in (first, earlier, later)]


@pytest.mark.parametrize(
    ("days", "status", "code"),
    [(14, 200, None), (15, 422, "invalid_period"), (0, 422, "invalid_period")],
    ids=["14-days", "15-days", "to-before-from"],
)
async def test_the_week_view_covers_at_most_14_days(
    client: AppClient,
    session: AsyncSession,
    staff: SignedIn,
    days: int,
    status: int,
    code: str | None,
) -> None:
    world = await make_world(session)
    last = world.tomorrow + timedelta(days=days - 1)
    url, params = week(world, world.tomorrow, last)

    response = await client.get(url, params=params, headers=staff.headers)

    if code is None:
        assert response.status_code == status, response.text
    else:
        assert_problem(response, status, code)


async def test_the_week_view_refuses_what_it_cannot_answer(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    other = await make_clinic(session, "bedok")
    await session.commit()
    elsewhere = await sign_in_staff(session, (Role.RECEPTIONIST, other.id))
    url, params = week(world, world.tomorrow, world.tomorrow)
    unknown = f"/api/v1/staff/clinics/{uuid.uuid4()}/appointments"

    not_theirs = await client.get(url, params=params, headers=elsewhere.headers)
    no_clinic = await client.get(unknown, params=params, headers=staff.headers)
    no_to = await client.get(url, params={"from": params["from"]}, headers=staff.headers)
    bad_day = await client.get(url, params=params | {"to": "2026-02-30"}, headers=staff.headers)
    patient = await client.patient()
    not_staff = await client.get(url, params=params, headers=patient.headers)

    assert_problem(not_theirs, 403, "not_permitted")
    assert_problem(no_clinic, 404, "clinic_not_found")
    assert_problem(no_to, 422, "validation_failed")
    assert_problem(bad_day, 422, "validation_failed")
    assert_problem(not_staff, 403, "staff_only")


async def test_the_patients_of_a_week_are_read_in_one_query(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    for n, hour in enumerate((9, 10, 11, 12)):
        await book(client, world, world.at(hour), doctor=n % 2, client_id=f"patient {n}")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = client.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        url, params = week(world, world.tomorrow, world.tomorrow + timedelta(days=6))
        response = await client.get(url, params=params, headers=staff.headers)
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert response.status_code == 200, response.text
    assert len({item["patient"]["id"] for item in response.json()["appointments"]}) == 4
    assert len([s for s in statements if "FROM patients" in s]) == 1
