"""Availability search through the API: what a patient is offered, and when nothing is."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import ClinicClosure, TimeOff
from tests.booking.helpers import assert_problem, hold, offered_starts
from tests.factories import World, make_world

AVAILABILITY = "/api/v1/availability"


def search(world: World, first: date, last: date, **extra: str) -> dict[str, str]:
    return {
        "service_id": str(world.gp.id),
        "from": first.isoformat(),
        "to": last.isoformat(),
        **extra,
    }


async def test_slots_are_in_clinic_time_on_the_15_minute_grid_for_both_doctors(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)

    response = await client.get(AVAILABILITY, params=search(world, world.tomorrow, world.tomorrow))

    assert response.status_code == 200, response.text
    slots = response.json()["slots"]
    starts = [datetime.fromisoformat(slot["start"]) for slot in slots]
    assert all(
        slot["start"].endswith("+08:00") and slot["end"].endswith("+08:00") for slot in slots
    )
    assert all(start.minute % 15 == 0 and start.second == 0 for start in starts)
    # 08:00 to 19:45, every quarter hour, for each of the two doctors.
    every_quarter = [world.at(8) + timedelta(minutes=15 * n) for n in range(48)]
    for doctor in world.doctors:
        mine = [
            s
            for s, slot in zip(starts, slots, strict=True)
            if slot["practitioner_id"] == str(doctor.id)
        ]
        assert mine == every_quarter
    assert {slot["clinic_id"] for slot in slots} == {str(world.clinic.id)}


async def test_asking_for_one_doctor_offers_only_that_doctor(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    doctor = str(world.doctors[1].id)

    response = await client.get(
        AVAILABILITY,
        params=search(world, world.tomorrow, world.tomorrow, practitioner_id=doctor),
    )

    assert response.status_code == 200, response.text
    assert {slot["practitioner_id"] for slot in response.json()["slots"]} == {doctor}
    assert len(response.json()["slots"]) == 48


@pytest.mark.parametrize(
    ("everywhere", "kind"),
    [(True, "public_holiday"), (False, "closure")],
    ids=["holiday", "closure"],
)
async def test_nothing_is_offered_on_a_day_the_clinic_is_closed(
    client: httpx.AsyncClient, session: AsyncSession, everywhere: bool, kind: str
) -> None:
    world = await make_world(session)
    day_after = world.tomorrow + timedelta(days=1)
    clinic_id = None if everywhere else world.clinic.id
    session.add(
        ClinicClosure(clinic_id=clinic_id, day=world.tomorrow, kind=kind, reason="Deepavali")
    )
    await session.commit()

    response = await client.get(AVAILABILITY, params=search(world, world.tomorrow, day_after))

    assert response.status_code == 200, response.text
    offered_days = {datetime.fromisoformat(s["start"]).date() for s in response.json()["slots"]}
    assert offered_days == {day_after}


async def test_nothing_is_offered_while_a_doctor_is_on_time_off(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    session.add(
        TimeOff(
            practitioner_id=world.doctors[0].id,
            starts_at=world.at(12),
            ends_at=world.at(14),
            reason="training",
        )
    )
    await session.commit()

    mine = await offered_starts(client, world, doctor=0)
    theirs = await offered_starts(client, world, doctor=1)

    away = {(world.at(12) + timedelta(minutes=15 * n)).isoformat() for n in range(8)}  # to 13:45
    assert not away & mine
    assert {world.at(11, 45).isoformat(), world.at(14).isoformat()} <= mine
    assert away <= theirs


async def test_a_held_slot_disappears_and_comes_back_when_released(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    ten = world.at(10).isoformat()
    held = await hold(client, world, world.at(10))

    while_held = await offered_starts(client, world)
    await client.delete(f"/api/v1/holds/{held.id}", headers=held.headers)
    after_release = await offered_starts(client, world)

    assert ten not in while_held
    assert ten in after_release
    assert after_release - while_held == {ten}


async def test_to_before_from_is_refused(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await make_world(session)

    response = await client.get(
        AVAILABILITY, params=search(world, world.tomorrow, world.tomorrow - timedelta(days=1))
    )

    assert_problem(response, 422, "invalid_period")


async def test_thirty_one_days_may_be_searched_but_not_thirty_two(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    first = world.tomorrow

    widest = await client.get(AVAILABILITY, params=search(world, first, first + timedelta(days=30)))
    too_wide = await client.get(
        AVAILABILITY, params=search(world, first, first + timedelta(days=31))
    )

    assert widest.status_code == 200, widest.text
    assert_problem(too_wide, 422, "invalid_period")


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(1, 1, 1), date(1, 1, 2)), (date(9999, 12, 30), date(9999, 12, 31))],
    ids=["year-1", "year-9999"],
)
async def test_days_at_the_edge_of_the_calendar_fail_validation_not_the_server(
    client: httpx.AsyncClient, session: AsyncSession, first: date, last: date
) -> None:
    world = await make_world(session)

    response = await client.get(AVAILABILITY, params=search(world, first, last))

    assert_problem(response, 422, "validation_failed")


async def test_an_unknown_service_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    params = search(world, world.tomorrow, world.tomorrow) | {"service_id": str(uuid.uuid4())}

    response = await client.get(AVAILABILITY, params=params)

    assert_problem(response, 404, "service_not_found")


async def test_a_day_already_gone_offers_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    yesterday = world.tomorrow - timedelta(days=2)

    response = await client.get(AVAILABILITY, params=search(world, yesterday, world.tomorrow))

    assert response.status_code == 200, response.text
    offered_days = {datetime.fromisoformat(s["start"]).date() for s in response.json()["slots"]}
    assert yesterday not in offered_days
    assert world.tomorrow in offered_days
