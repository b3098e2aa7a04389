"""An appointment as a calendar file: RFC 5545, one event in UTC with a stable UID, what and
where, and nothing about the patient; for whoever may see the appointment, once it is booked."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import icalendar
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import (
    CHECKOUT,
    PATIENT,
    assert_problem,
    book,
    hold,
    move_appointment,
    row,
)
from tests.factories import make_clinic, make_world


def calendar_url(appointment_id: str) -> str:
    return f"/api/v1/appointments/{appointment_id}/calendar.ics"


async def test_a_booked_appointment_is_one_calendar_event_in_utc(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10), service=world.screening)
    confirmed = await client.post(
        f"/api/v1/holds/{held.id}/confirm",
        json=CHECKOUT | {"visit_reason": "Chest pain"},
        headers=held.headers,
    )
    assert confirmed.status_code == 200, confirmed.text

    response = await client.get(calendar_url(held.id), headers=held.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert f'filename="appointment-{held.id}.ics"' in response.headers["content-disposition"]
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    [event] = calendar.events
    assert event["UID"] == f"{held.id}@medbook.sg"
    assert event.start == world.at(10).astimezone(UTC)
    assert event.end == world.at(10, 45).astimezone(UTC)
    # Written in UTC (a trailing Z), not in a local zone the calendar would have to know.
    assert f"DTSTART:{world.at(10).astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n" in response.text
    assert f"DTEND:{world.at(10, 45).astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n" in response.text
    assert event["SUMMARY"] == "Health screening at Medical Inc. Tampines"
    assert event["LOCATION"] == "1 Tampines Central 5, Singapore, Singapore 529508"
    stored = await row(session, held.id)
    stamp = stored.updated_at.astimezone(UTC)
    assert f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}\r\n" in response.text
    for personal in (PATIENT["full_name"], "9123", "Chest pain", str(held.patient.id)):
        assert personal not in response.text


async def test_the_same_appointment_gives_the_same_event(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))

    first = await client.get(calendar_url(booked.id), headers=booked.headers)
    second = await client.get(calendar_url(booked.id), headers=booked.headers)

    assert first.content == second.content


async def test_a_checked_in_appointment_still_has_its_calendar_file(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    await move_appointment(session, booked.id, timedelta(0))
    checked_in = await client.post(
        f"/api/v1/staff/appointments/{booked.id}/check-in", headers=staff.headers
    )
    assert checked_in.status_code == 200, checked_in.text

    response = await client.get(calendar_url(booked.id), headers=booked.headers)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("state", ["held", "cancelled", "released"])
async def test_only_a_booked_appointment_goes_in_a_calendar(
    client: AppClient, session: AsyncSession, state: str
) -> None:
    world = await make_world(session)
    if state == "cancelled":
        target = await book(client, world, world.at(10))
        cancel_url = f"/api/v1/appointments/{target.id}/cancel"
        cancelled = await client.post(cancel_url, json={}, headers=target.headers)
        assert cancelled.status_code == 200, cancelled.text
    else:
        target = await hold(client, world, world.at(10))
        if state == "released":
            await client.delete(f"/api/v1/holds/{target.id}", headers=target.headers)

    response = await client.get(calendar_url(target.id), headers=target.headers)

    problem = assert_problem(response, 409, "not_booked")
    assert state in problem["detail"]


async def test_staff_get_the_file_where_they_may_see_the_day_and_nobody_else_does(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    other = await make_clinic(session, "bedok")
    await session.commit()
    booked = await book(client, world, world.at(10), client_id="ann")
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    elsewhere = await sign_in_staff(session, (Role.RECEPTIONIST, other.id))
    ben = await client.patient("ben")

    at_desk = await client.get(calendar_url(booked.id), headers=desk.headers)
    not_theirs = await client.get(calendar_url(booked.id), headers=elsewhere.headers)
    someone_else = await client.get(calendar_url(booked.id), headers=ben.headers)
    made_up = await client.get(calendar_url(str(uuid.uuid4())), headers=booked.headers)
    nobody = await client.get(calendar_url(booked.id))

    assert at_desk.status_code == 200, at_desk.text
    for response in (not_theirs, someone_else, made_up):
        assert_problem(response, 404, "appointment_not_found")
    assert_problem(nobody, 401, "not_signed_in")
