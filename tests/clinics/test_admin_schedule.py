"""Clinic administration of the timetable: weekly availability lines, time off and closures.

Each change shows in the public slot search at once. None touches an appointment: those a change
leaves outside working time stay as they are and come back as `conflicts`, for the desk to call.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import ClinicClosure, Practitioner, WeeklyAvailability
from tests.booking.helpers import assert_problem
from tests.clinics.admin_helpers import (
    ADMIN,
    Org,
    appointment_row,
    audit_events,
    booked_visit,
    conflict_ids,
    make_org,
    offered_times,
)
from tests.factories import make_practitioner, make_room, make_weekly_hours


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    return await make_org(session)


def availability_of(org: Org) -> str:
    return f"{ADMIN}/clinics/{org.tampines.id}/availability"


def closures_of(clinic_id: uuid.UUID) -> str:
    return f"{ADMIN}/clinics/{clinic_id}/closures"


def time_off_of(practitioner: Practitioner) -> str:
    return f"{ADMIN}/practitioners/{practitioner.id}/time-off"


async def newcomer(session: AsyncSession, org: Org) -> Practitioner:
    """A GP with no availability anywhere yet."""
    doctor = await make_practitioner(session, "M80808N", [org.world.gp], full_name="New Doctor")
    await session.commit()
    return doctor


def line(
    practitioner: Practitioner, day: date, start: str, end: str, **values: Any
) -> dict[str, Any]:
    return {
        "practitioner_id": str(practitioner.id),
        "weekday": day.weekday(),
        "start_time": start,
        "end_time": end,
        "valid_from": "2020-01-01",
        **values,
    }


async def line_of_tomorrow(session: AsyncSession, org: Org, doctor: Practitioner) -> int:
    """The id of the doctor's Tampines line for tomorrow's weekday (make_weekly_hours' 08-20)."""
    query = select(WeeklyAvailability.id).where(
        WeeklyAvailability.practitioner_id == doctor.id,
        WeeklyAvailability.clinic_id == org.tampines.id,
        WeeklyAvailability.weekday == org.world.tomorrow.weekday(),
    )
    found: int = (await session.scalars(query)).one()
    await session.commit()
    return found


# --- weekly availability ------------------------------------------------------------------------


async def test_a_new_line_is_offered_by_slot_search_at_once(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = await newcomer(session, org)
    room = await make_room(session, world.clinic, "Room 3")
    await session.commit()
    assert await offered_times(client, world.gp.id, doctor.id, world.tomorrow) == []

    response = await client.post(
        availability_of(org),
        json=line(doctor, world.tomorrow, "09:00", "10:00", room_id=str(room.id)),
        headers=org.manager.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["conflicts"] == []
    assert body["availability"] | {"id": 0} == {
        "id": 0,
        "practitioner_id": str(doctor.id),
        "clinic_id": str(world.clinic.id),
        "room_id": str(room.id),
        "weekday": world.tomorrow.weekday(),
        "start_time": "09:00:00",
        "end_time": "10:00:00",
        "valid_from": "2020-01-01",
        "valid_until": None,
    }
    offered = await offered_times(client, world.gp.id, doctor.id, world.tomorrow)
    assert offered == ["09:00", "09:15", "09:30", "09:45"]
    listed = await client.get(
        availability_of(org),
        params={"practitioner_id": str(doctor.id)},
        headers=org.manager.headers,
    )
    assert listed.json() == [body["availability"]]
    everyone = await client.get(availability_of(org), headers=org.manager.headers)
    assert len(everyone.json()) == 15  # make_world's two doctors, every day, and this line
    [event] = await audit_events(session, "clinic.availability.")
    assert event.action == "clinic.availability.created"
    assert event.actor_id == org.manager.id
    assert event.subject_id == doctor.id
    assert event.clinic_id == world.clinic.id
    assert event.detail["availability_id"] == body["availability"]["id"]
    assert event.detail["after"]["start_time"] == "09:00:00"


async def test_a_manager_gives_hours_to_a_newcomer_but_does_not_take_another_clinics_doctor(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given Jurong's doctor and a doctor who works nowhere yet,
    world = org.world
    new_doctor = await newcomer(session, org)

    # when the Tampines manager gives each of them Tampines evenings,
    taken = await client.post(
        availability_of(org),
        json=line(org.jurong_doctor, world.tomorrow, "20:00", "22:00"),
        headers=org.manager.headers,
    )
    given = await client.post(
        availability_of(org),
        json=line(new_doctor, world.tomorrow, "20:00", "22:00"),
        headers=org.manager.headers,
    )

    # then Jurong's doctor does not exist for them (they are Jurong's to share),
    assert_problem(taken, 404, "practitioner_not_found")
    lines = await session.scalars(
        select(WeeklyAvailability.clinic_id).where(
            WeeklyAvailability.practitioner_id == org.jurong_doctor.id
        )
    )
    assert set(lines) == {org.jurong.id}
    await session.commit()
    # while the newcomer starts at Tampines;
    assert given.status_code == 201, given.text
    # and the administrator (a manager of both) may share Jurong's doctor with Tampines.
    shared = await client.post(
        availability_of(org),
        json=line(org.jurong_doctor, world.tomorrow, "20:00", "22:00"),
        headers=org.admin.headers,
    )
    assert shared.status_code == 201, shared.text


async def test_overlapping_lines_for_a_practitioner_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    doctor = await newcomer(session, org)
    monday = date(2030, 1, 7)
    first_half = {"valid_from": "2030-01-01", "valid_until": "2030-06-30"}
    later = {"valid_from": "2030-07-01"}

    async def add(start: str, end: str, clinic: uuid.UUID, **values: Any) -> httpx.Response:
        return await client.post(
            f"{ADMIN}/clinics/{clinic}/availability",
            json=line(doctor, monday, start, end, **values),
            headers=org.admin.headers,
        )

    morning = await add("09:00", "12:00", org.tampines.id, **first_half)
    touching = await add("12:00", "14:00", org.tampines.id, **first_half)
    after_it_ends = await add("11:00", "13:00", org.tampines.id, **later)
    clash = await add("11:00", "13:00", org.tampines.id, valid_from="2030-06-01")
    clash_elsewhere = await add("08:00", "09:30", org.jurong.id, valid_from="2029-01-01")
    other_weekday = await client.post(
        availability_of(org),
        json=line(doctor, monday + timedelta(days=1), "09:00", "12:00"),
        headers=org.admin.headers,
    )

    for accepted in (morning, touching, after_it_ends, other_weekday):
        assert accepted.status_code == 201, accepted.text
    assert "line" in assert_problem(clash, 422, "availability_overlaps")["detail"]
    elsewhere = assert_problem(clash_elsewhere, 422, "availability_overlaps")
    assert "another clinic" in elsewhere["detail"]


async def test_two_overlapping_lines_sent_at_once_are_not_both_accepted(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Each request checks for overlaps under a lock on the practitioner, so the second one
    # sees the first one's line. Run a few times: one round proves little about a race.
    doctor = await newcomer(session, org)
    for weekday in range(3):
        day = date(2030, 1, 7) + timedelta(days=weekday)
        bodies = [
            line(doctor, day, "09:00", "12:00", valid_from="2030-01-01"),
            line(doctor, day, "11:00", "13:00", valid_from="2030-01-01"),
        ]

        answers = await asyncio.gather(
            *(
                client.post(availability_of(org), json=body, headers=org.admin.headers)
                for body in bodies
            )
        )

        assert sorted(answer.status_code for answer in answers) == [201, 422], [
            answer.text for answer in answers
        ]
    listed = await client.get(
        availability_of(org), params={"practitioner_id": str(doctor.id)}, headers=org.admin.headers
    )
    assert len(listed.json()) == 3


async def test_a_line_that_cannot_be_is_refused_with_a_reason(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    doctor = await newcomer(session, org)
    day = org.world.tomorrow

    async def add(**values: Any) -> httpx.Response:
        body = line(doctor, day, "09:00", "12:00") | values
        return await client.post(availability_of(org), json=body, headers=org.manager.headers)

    backwards = await add(start_time="12:00", end_time="09:00")
    empty = await add(start_time="09:00", end_time="09:00")
    validity = await add(valid_from="2030-02-01", valid_until="2030-01-31")
    other_clinic_room = await add(room_id=str(org.jurong_room.id))
    made_up_room = await add(room_id=str(uuid.uuid4()))
    with_offset = await add(start_time="09:00+08:00")
    made_up_doctor = await add(practitioner_id=str(uuid.uuid4()))
    weekday = await add(weekday=7)
    far_future = await add(valid_from="9999-12-31")
    unknown_field = await add(clinic="tampines")

    assert_problem(backwards, 422, "availability_ends_before_start")
    assert_problem(empty, 422, "availability_ends_before_start")
    assert_problem(validity, 422, "availability_validity_ends_before_start")
    assert_problem(other_clinic_room, 422, "room_not_at_clinic")
    assert_problem(made_up_room, 422, "room_not_at_clinic")
    assert_problem(with_offset, 422, "availability_time_has_offset")
    assert_problem(made_up_doctor, 404, "practitioner_not_found")
    for refused in (weekday, far_future, unknown_field):
        assert_problem(refused, 422, "validation_failed")


async def test_shortening_a_line_reports_the_visits_left_outside_and_leaves_them_be(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[0]
    evening = await booked_visit(
        session, world.clinic, doctor, world.at(18), service_id=world.gp.id
    )
    morning = await booked_visit(session, world.clinic, doctor, world.at(9), service_id=world.gp.id)
    # Already outside the template before the change (a late walk-in): not this change's doing.
    late = await booked_visit(
        session, world.clinic, doctor, world.at(20, 30), service_id=world.gp.id
    )
    before = await appointment_row(session, evening)
    line_id = await line_of_tomorrow(session, org, doctor)

    response = await client.patch(
        f"{ADMIN}/availability/{line_id}", json={"end_time": "17:00"}, headers=org.manager.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["availability"]["end_time"] == "17:00:00"
    assert conflict_ids(body) == [str(evening)]
    assert body["conflicts"][0]["start"] == world.at(18).isoformat()
    assert str(morning) not in conflict_ids(body)
    assert str(late) not in conflict_ids(body)
    assert await appointment_row(session, evening) == before
    offered = await offered_times(client, world.gp.id, doctor.id, world.tomorrow)
    assert offered[-1] == "16:45"
    [event] = await audit_events(session, "clinic.availability.")
    assert event.detail["before"]["end_time"] == "20:00:00"
    assert event.detail["after"]["end_time"] == "17:00:00"
    assert event.detail["conflicts"] == [str(evening)]


async def test_a_line_is_moved_and_checked_like_a_new_one(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[0]
    line_id = await line_of_tomorrow(session, org, doctor)
    path = f"{ADMIN}/availability/{line_id}"

    onto_the_next_day = await client.patch(
        path, json={"weekday": (world.tomorrow.weekday() + 1) % 7}, headers=org.manager.headers
    )
    backwards = await client.patch(path, json={"start_time": "21:00"}, headers=org.manager.headers)
    no_weekday = await client.patch(path, json={"weekday": None}, headers=org.manager.headers)
    other_room = await client.patch(
        path, json={"room_id": str(org.jurong_room.id)}, headers=org.manager.headers
    )
    no_room = await client.patch(path, json={"room_id": None}, headers=org.manager.headers)
    new_clinic = await client.patch(
        path, json={"clinic_id": str(org.jurong.id)}, headers=org.manager.headers
    )
    made_up = await client.patch(
        f"{ADMIN}/availability/999999", json={"end_time": "17:00"}, headers=org.admin.headers
    )
    too_big = await client.patch(
        f"{ADMIN}/availability/{2**40}", json={"end_time": "17:00"}, headers=org.admin.headers
    )

    assert_problem(onto_the_next_day, 422, "availability_overlaps")
    assert_problem(backwards, 422, "availability_ends_before_start")
    assert_problem(no_weekday, 422, "validation_failed")
    assert_problem(other_room, 422, "room_not_at_clinic")
    assert no_room.status_code == 200, no_room.text
    assert no_room.json()["availability"]["room_id"] is None
    assert_problem(new_clinic, 422, "validation_failed")
    assert_problem(made_up, 404, "availability_not_found")
    assert_problem(too_big, 422, "validation_failed")


async def test_removing_a_line_reports_its_visits_and_takes_its_slots_away(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[1]
    nine = await booked_visit(session, world.clinic, doctor, world.at(9), service_id=world.gp.id)
    four = await booked_visit(session, world.clinic, doctor, world.at(16), service_id=world.gp.id)
    line_id = await line_of_tomorrow(session, org, doctor)

    response = await client.delete(f"{ADMIN}/availability/{line_id}", headers=org.manager.headers)

    assert response.status_code == 200, response.text
    assert conflict_ids(response.json()) == [str(nine), str(four)]
    assert (await appointment_row(session, nine)).status == "confirmed"
    assert (await appointment_row(session, four)).status == "confirmed"
    assert await offered_times(client, world.gp.id, doctor.id, world.tomorrow) == []
    again = await client.delete(f"{ADMIN}/availability/{line_id}", headers=org.manager.headers)
    assert_problem(again, 404, "availability_not_found")
    [event] = await audit_events(session, "clinic.availability.")
    assert event.action == "clinic.availability.deleted"
    assert event.detail["conflicts"] == [str(nine), str(four)]


async def test_the_timetable_of_another_clinic_is_not_found_and_the_desk_may_not_edit(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    line_id = await line_of_tomorrow(session, org, world.doctors[0])
    new_line = line(world.doctors[0], world.tomorrow, "21:00", "22:00")

    elsewhere = [
        await client.get(availability_of(org), headers=org.jurong_manager.headers),
        await client.post(availability_of(org), json=new_line, headers=org.jurong_manager.headers),
    ]
    elsewhere_line = [
        await client.patch(
            f"{ADMIN}/availability/{line_id}",
            json={"end_time": "17:00"},
            headers=org.jurong_manager.headers,
        ),
        await client.delete(f"{ADMIN}/availability/{line_id}", headers=org.jurong_manager.headers),
    ]
    desk = [
        await client.get(availability_of(org), headers=org.receptionist.headers),
        await client.post(availability_of(org), json=new_line, headers=org.receptionist.headers),
        await client.delete(f"{ADMIN}/availability/{line_id}", headers=org.receptionist.headers),
    ]
    made_up_clinic = await client.get(
        f"{ADMIN}/clinics/{uuid.uuid4()}/availability", headers=org.admin.headers
    )

    for refused in (*elsewhere, made_up_clinic):
        assert_problem(refused, 404, "clinic_not_found")
    for refused in elsewhere_line:
        assert_problem(refused, 404, "availability_not_found")
    for refused in desk:
        assert_problem(refused, 403, "not_permitted")
    assert await audit_events(session) == []


# --- time off -----------------------------------------------------------------------------------


async def test_time_off_takes_slots_away_at_once_and_reports_the_visits_in_it(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[0]
    lunch = await booked_visit(
        session, world.clinic, doctor, world.at(12, 30), service_id=world.gp.id
    )
    later = await booked_visit(session, world.clinic, doctor, world.at(15), service_id=world.gp.id)
    before = await appointment_row(session, lunch)
    period = {"starts_at": world.at(12).isoformat(), "ends_at": world.at(14).isoformat()}

    response = await client.post(
        time_off_of(doctor), json=period | {"reason": "Training"}, headers=org.manager.headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert conflict_ids(body) == [str(lunch)]
    assert str(later) not in conflict_ids(body)
    assert body["time_off"] | {"id": 0} == {
        "id": 0,
        "practitioner_id": str(doctor.id),
        "starts_at": world.at(12).isoformat(),
        "ends_at": world.at(14).isoformat(),
        "reason": "Training",
    }
    assert await appointment_row(session, lunch) == before
    offered = await offered_times(client, world.gp.id, doctor.id, world.tomorrow)
    assert "11:45" in offered
    assert not {"12:00", "12:45", "13:45"} & set(offered)
    assert "14:00" in offered
    listed = await client.get(time_off_of(doctor), headers=org.manager.headers)
    assert listed.json() == [body["time_off"]]
    [event] = await audit_events(session, "clinic.time_off.")
    assert event.actor_id == org.manager.id
    assert event.detail["conflicts"] == [str(lunch)]
    assert "Training" not in str(event.detail)

    removed = await client.delete(
        f"{ADMIN}/time-off/{body['time_off']['id']}", headers=org.manager.headers
    )

    assert removed.status_code == 200, removed.text
    assert removed.json() == {"conflicts": []}
    assert "12:45" in await offered_times(client, world.gp.id, doctor.id, world.tomorrow)
    assert (await client.get(time_off_of(doctor), headers=org.manager.headers)).json() == []


async def test_time_off_that_cannot_be_is_refused_with_a_reason(
    client: httpx.AsyncClient, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[0]
    noon, two = world.at(12).isoformat(), world.at(14).isoformat()

    async def add(starts_at: str, ends_at: str, who: Any = None, **values: Any) -> httpx.Response:
        return await client.post(
            time_off_of(values.pop("practitioner", doctor)),
            json={"starts_at": starts_at, "ends_at": ends_at, **values},
            headers=who or org.manager.headers,
        )

    first = await add(noon, two)
    overlapping = await add(world.at(13).isoformat(), world.at(15).isoformat())
    touching = await add(two, world.at(15).isoformat())
    backwards = await add(world.at(18).isoformat(), world.at(17).isoformat())
    naive = await add("2030-01-01T09:00:00", "2030-01-01T10:00:00")
    long_reason = await add(world.at(18).isoformat(), world.at(19).isoformat(), reason="x" * 201)
    elsewhere = await add(noon, two, org.manager.headers, practitioner=org.jurong_doctor)
    desk = await add(world.at(18).isoformat(), world.at(19).isoformat(), org.receptionist.headers)

    assert first.status_code == 201, first.text
    assert touching.status_code == 201, touching.text
    assert_problem(overlapping, 422, "time_off_overlaps")
    assert_problem(backwards, 422, "time_off_ends_before_start")
    assert_problem(naive, 422, "validation_failed")
    assert_problem(long_reason, 422, "validation_failed")
    assert_problem(elsewhere, 404, "practitioner_not_found")
    assert_problem(desk, 403, "not_permitted")
    time_off_id = first.json()["time_off"]["id"]
    other_managers = await client.delete(
        f"{ADMIN}/time-off/{time_off_id}", headers=org.jurong_manager.headers
    )
    assert_problem(other_managers, 404, "time_off_not_found")
    made_up = await client.delete(f"{ADMIN}/time-off/999999", headers=org.admin.headers)
    assert_problem(made_up, 404, "time_off_not_found")


async def test_time_off_over_another_clinics_hours_is_for_that_clinics_manager_too(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given Jurong's doctor (08:00-20:00 there), who also works evenings at Tampines,
    world, doctor = org.world, org.jurong_doctor
    await make_weekly_hours(session, doctor, org.tampines, None, time(20, 0), time(22, 0))
    await session.commit()
    jurong_times = await offered_times(
        client, world.gp.id, doctor.id, world.tomorrow, org.jurong.id
    )

    async def away(who: Any, start: int, end: int) -> httpx.Response:
        period = {"starts_at": world.at(start).isoformat(), "ends_at": world.at(end).isoformat()}
        return await client.post(time_off_of(doctor), json=period, headers=who.headers)

    # when the Tampines manager records time off over a Tampines evening, then over a day,
    evening = await away(org.manager, 20, 22)
    day = await away(org.manager, 9, 20)

    # then the evening is theirs to give, the day is Jurong's,
    assert evening.status_code == 201, evening.text
    body = assert_problem(day, 403, "not_permitted")
    assert "Jurong East" in body["detail"]
    assert (
        await offered_times(client, world.gp.id, doctor.id, world.tomorrow, org.jurong.id)
        == jurong_times
    )
    # and the Jurong manager may not lift Tampines' evening (nor the reverse);
    evening_id = evening.json()["time_off"]["id"]
    lifted_by_jurong = await client.delete(
        f"{ADMIN}/time-off/{evening_id}", headers=org.jurong_manager.headers
    )
    assert_problem(lifted_by_jurong, 403, "not_permitted")
    jurong_day = await away(org.jurong_manager, 9, 20)
    assert jurong_day.status_code == 201, jurong_day.text
    lifted_by_tampines = await client.delete(
        f"{ADMIN}/time-off/{jurong_day.json()['time_off']['id']}", headers=org.manager.headers
    )
    assert_problem(lifted_by_tampines, 403, "not_permitted")
    # The administrator records a week away, everywhere.
    week = await client.post(
        time_off_of(doctor),
        json={
            "starts_at": world.at(0, day=world.tomorrow + timedelta(days=2)).isoformat(),
            "ends_at": world.at(0, day=world.tomorrow + timedelta(days=9)).isoformat(),
        },
        headers=org.admin.headers,
    )
    assert week.status_code == 201, week.text


# --- closures -----------------------------------------------------------------------------------


async def test_a_closure_empties_the_day_at_once_and_reports_its_visits(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    first = await booked_visit(
        session, world.clinic, world.doctors[0], world.at(9), service_id=world.gp.id
    )
    second = await booked_visit(
        session, world.clinic, world.doctors[1], world.at(17), service_id=world.gp.id
    )
    next_day = await booked_visit(
        session,
        world.clinic,
        world.doctors[0],
        world.at(9, day=world.tomorrow + timedelta(days=1)),
        service_id=world.gp.id,
    )
    at_jurong = await booked_visit(
        session, org.jurong, org.jurong_doctor, world.at(9), service_id=world.gp.id
    )
    before = await appointment_row(session, first)

    response = await client.post(
        closures_of(org.tampines.id),
        json={"first_day": world.tomorrow.isoformat(), "reason": "Renovation"},
        headers=org.manager.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert conflict_ids(body) == [str(first), str(second)]
    assert not {str(next_day), str(at_jurong)} & set(conflict_ids(body))
    [closure] = body["closures"]
    assert closure | {"id": 0} == {
        "id": 0,
        "clinic_id": str(org.tampines.id),
        "day": world.tomorrow.isoformat(),
        "kind": "closure",
        "reason": "Renovation",
    }
    assert await appointment_row(session, first) == before
    for doctor in world.doctors:
        assert await offered_times(client, world.gp.id, doctor.id, world.tomorrow) == []
    assert await offered_times(client, world.gp.id, org.jurong_doctor.id, world.tomorrow) != []
    [event] = await audit_events(session, "clinic.closure.")
    assert event.clinic_id == org.tampines.id
    assert event.detail["closure_ids"] == [closure["id"]]
    assert event.detail["conflicts"] == [str(first), str(second)]

    reopened = await client.delete(f"{ADMIN}/closures/{closure['id']}", headers=org.manager.headers)

    assert reopened.status_code == 200, reopened.text
    assert reopened.json() == {"conflicts": []}
    assert await offered_times(client, world.gp.id, world.doctors[0].id, world.tomorrow) != []


async def test_a_closure_over_a_period_closes_each_day_and_lists_with_public_holidays(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    start = date(2030, 3, 4)
    session.add(
        ClinicClosure(clinic_id=None, day=date(2030, 3, 5), kind="public_holiday", reason="Holiday")
    )
    await session.commit()

    created = await client.post(
        closures_of(org.tampines.id),
        json={
            "first_day": start.isoformat(),
            "last_day": (start + timedelta(days=2)).isoformat(),
            "reason": "Staff retreat",
        },
        headers=org.manager.headers,
    )
    listed = await client.get(
        closures_of(org.tampines.id),
        params={"from": "2030-03-01", "to": "2030-03-31"},
        headers=org.manager.headers,
    )
    jurong = await client.get(closures_of(org.jurong.id), headers=org.jurong_manager.headers)

    assert created.status_code == 201, created.text
    assert [c["day"] for c in created.json()["closures"]] == [
        "2030-03-04",
        "2030-03-05",
        "2030-03-06",
    ]
    # By day; on the same day, the holiday (recorded first) first.
    assert [(c["day"], c["kind"]) for c in listed.json()] == [
        ("2030-03-04", "closure"),
        ("2030-03-05", "public_holiday"),
        ("2030-03-05", "closure"),
        ("2030-03-06", "closure"),
    ]
    assert [(c["day"], c["clinic_id"]) for c in jurong.json()] == [("2030-03-05", None)]


async def test_closures_that_cannot_be_are_refused_with_a_reason(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    holiday = ClinicClosure(
        clinic_id=None, day=date(2030, 5, 1), kind="public_holiday", reason="Labour Day"
    )
    session.add(holiday)
    await session.commit()
    path = closures_of(org.tampines.id)

    async def close(
        who: Any = None, clinic: uuid.UUID | None = None, **values: Any
    ) -> httpx.Response:
        body = {"first_day": "2030-04-01", "reason": "Renovation"} | values
        return await client.post(
            closures_of(clinic or org.tampines.id), json=body, headers=who or org.manager.headers
        )

    first = await close()
    again = await close(last_day="2030-04-03")
    backwards = await close(first_day="2030-04-10", last_day="2030-04-09")
    too_long = await close(first_day="2030-01-01", last_day="2031-12-31")
    no_reason = await close(first_day="2030-04-20", reason=" ")
    elsewhere = await close(org.manager.headers, org.jurong.id, first_day="2030-04-20")
    desk = await close(org.receptionist.headers, first_day="2030-04-20")
    manager_deletes_holiday = await client.delete(
        f"{ADMIN}/closures/{holiday.id}", headers=org.manager.headers
    )
    closure_id = first.json()["closures"][0]["id"]
    other_manager_deletes = await client.delete(
        f"{ADMIN}/closures/{closure_id}", headers=org.jurong_manager.headers
    )
    desk_deletes = await client.delete(
        f"{ADMIN}/closures/{closure_id}", headers=org.receptionist.headers
    )
    other_list = await client.get(path, headers=org.jurong_manager.headers)

    assert first.status_code == 201, first.text
    assert "2030-04-01" in assert_problem(again, 409, "clinic_already_closed")["detail"]
    assert_problem(backwards, 422, "invalid_period")
    assert_problem(too_long, 422, "invalid_period")
    assert_problem(no_reason, 422, "validation_failed")
    assert_problem(elsewhere, 404, "clinic_not_found")
    assert_problem(desk, 403, "not_permitted")
    assert_problem(manager_deletes_holiday, 403, "not_permitted")
    assert_problem(other_manager_deletes, 404, "closure_not_found")
    assert_problem(desk_deletes, 403, "not_permitted")
    assert_problem(other_list, 404, "clinic_not_found")
    admin_deletes_holiday = await client.delete(
        f"{ADMIN}/closures/{holiday.id}", headers=org.admin.headers
    )
    assert admin_deletes_holiday.status_code == 200, admin_deletes_holiday.text
