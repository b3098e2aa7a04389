"""A patient's own appointments: what is coming (soonest first) and what is over (latest first),
in the clinic's time, with the reason they gave; never anyone else's, never a lapsed hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth import AppClient, SignedIn
from tests.booking.helpers import (
    CHECKOUT,
    age_hold,
    assert_problem,
    book,
    hold,
    move_appointment,
)
from tests.factories import make_world

MINE = "/api/v1/me/appointments"


async def mine(client: AppClient, who: SignedIn, when: str | None = None) -> list[dict[str, Any]]:
    params = {"when": when} if when else {}
    response = await client.get(MINE, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_upcoming_and_past_appointments_in_their_order(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    later = await book(client, world, world.at(15))
    sooner = await hold(client, world, world.at(9))  # a live hold counts while it lives
    confirmed = await client.post(
        f"/api/v1/holds/{sooner.id}/confirm",
        json=CHECKOUT | {"visit_reason": "Flu jab"},
        headers=sooner.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    live = await hold(client, world, world.at(11))
    lapsed = await hold(client, world, world.at(12))
    await age_hold(session, lapsed.id, timedelta(minutes=10))
    released = await hold(client, world, world.at(13))
    await client.delete(f"/api/v1/holds/{released.id}", headers=released.headers)
    cancelled = await book(client, world, world.at(14))
    await client.post(
        f"/api/v1/appointments/{cancelled.id}/cancel", json={}, headers=cancelled.headers
    )
    long_ago = await book(client, world, world.at(16))
    await move_appointment(session, long_ago.id, timedelta(days=-30))
    last_week = await book(client, world, world.at(17))
    await move_appointment(session, last_week.id, timedelta(days=-7))
    in_progress = await book(client, world, world.at(18))
    await move_appointment(session, in_progress.id, timedelta(minutes=-5))  # not over yet
    await book(client, world, world.at(10), doctor=1, client_id="someone else")
    await client.post(  # blocked time is nobody's appointment
        "/api/v1/staff/blocks",
        json={
            "clinic_id": str(world.clinic.id),
            "practitioner_id": str(world.doctors[1].id),
            "start": world.at(19).isoformat(),
            "end": world.at(20).isoformat(),
        },
        headers=staff.headers,
    )

    upcoming = await mine(client, later.patient)
    past = await mine(client, later.patient, "past")

    assert [a["id"] for a in upcoming] == [
        in_progress.id,
        sooner.id,
        live.id,
        cancelled.id,
        later.id,
    ]
    assert [a["status"] for a in upcoming] == [
        "confirmed",
        "confirmed",
        "held",
        "cancelled",
        "confirmed",
    ]
    assert [a["id"] for a in past] == [last_week.id, long_ago.id]
    assert upcoming[1]["visit_reason"] == "Flu jab"
    assert upcoming[0]["visit_reason"] == ""
    assert upcoming[1]["start"] == world.at(9).isoformat()  # the clinic's time, +08:00
    assert upcoming[1]["start"].endswith("+08:00")
    assert upcoming[2]["hold_expires_at"] is not None
    assert upcoming == await mine(client, later.patient, "upcoming")


async def test_a_patient_sees_only_their_own(client: AppClient, session: AsyncSession) -> None:
    world = await make_world(session)
    await book(client, world, world.at(10), client_id="ann")
    ben = await client.patient("ben")

    assert await mine(client, ben) == []
    assert await mine(client, ben, "past") == []


async def test_at_most_100_are_answered(client: AppClient, session: AsyncSession) -> None:
    world = await make_world(session)
    patient = await client.patient()
    # 101 past visits, one a day, straight into the book.
    await session.execute(
        text(
            """
            INSERT INTO appointments (status, clinic_id, practitioner_id, service_id, patient_id,
                                      starts_at, ends_at, blocked)
            SELECT 'completed', :clinic, :doctor, :service, :patient,
                   now() - n * interval '1 day', now() - n * interval '1 day' + interval '15 minutes',
                   tstzrange(now() - n * interval '1 day',
                             now() - n * interval '1 day' + interval '15 minutes', '[)')
              FROM generate_series(1, 101) n
            """
        ),
        {
            "clinic": world.clinic.id,
            "doctor": world.doctors[0].id,
            "service": world.gp.id,
            "patient": patient.id,
        },
    )
    await session.commit()

    past = await mine(client, patient, "past")

    assert len(past) == 100
    starts = [a["start"] for a in past]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize("when", ["soon", "UPCOMING", ""])
async def test_when_is_upcoming_or_past(client: AppClient, when: str) -> None:
    patient = await client.patient()

    response = await client.get(MINE, params={"when": when}, headers=patient.headers)

    assert_problem(response, 422, "validation_failed")


async def test_my_appointments_are_for_signed_in_patients(
    client: AppClient, staff: SignedIn
) -> None:
    assert_problem(await client.get(MINE, headers=staff.headers), 403, "patients_only")
    assert_problem(await client.get(MINE), 401, "not_signed_in")
