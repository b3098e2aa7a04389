"""Clinic administration: practitioners, and services with their prices.

Who may: an administrator everywhere; a clinic manager for the practitioners working at their
clinic, and never for services (shared by every clinic); a receptionist nowhere. Staff with no
role at a clinic get the 404 a made-up id gets; staff who work there but may not manage, 403.
"""

from __future__ import annotations

import json
import uuid
from datetime import time
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.admin_service import check_service_terms
from medbook.clinics.errors import InvalidServiceRulesError
from medbook.clinics.models import Service
from tests.auth import sign_in_patient
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
from tests.factories import make_weekly_hours

PRACTITIONERS = f"{ADMIN}/practitioners"
SERVICES = f"{ADMIN}/services"


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    return await make_org(session)


def new_practitioner(**values: Any) -> dict[str, Any]:
    return {
        "registration_number": "m70001x",
        "title": "Dr",
        "full_name": "Aw Jia Hui",
        "profession": "doctor",
        **values,
    }


def new_service(**values: Any) -> dict[str, Any]:
    return {
        "code": "travel-vaccination",
        "name": "Travel vaccination",
        "description": "Yellow fever, typhoid, hepatitis A.\nBring your travel plans.",
        "duration_minutes": 20,
        "grid_minutes": 20,
        "price_cents": 8000,
        "deposit_cents": 2000,
        "online_payment": "deposit",
        **values,
    }


# --- practitioners ------------------------------------------------------------------------------


async def test_a_manager_lists_only_the_practitioners_of_their_clinic_and_an_admin_all(
    client: httpx.AsyncClient, org: Org
) -> None:
    tampines_doctors = {str(doctor.id) for doctor in org.world.doctors}

    mine = await client.get(PRACTITIONERS, headers=org.manager.headers)
    everyone = await client.get(PRACTITIONERS, headers=org.admin.headers)
    at_jurong = await client.get(
        PRACTITIONERS, params={"clinic_id": str(org.jurong.id)}, headers=org.admin.headers
    )

    assert mine.status_code == 200, mine.text
    assert {p["id"] for p in mine.json()} == tampines_doctors
    assert {p["id"] for p in everyone.json()} == tampines_doctors | {str(org.jurong_doctor.id)}
    assert [p["id"] for p in at_jurong.json()] == [str(org.jurong_doctor.id)]
    first = mine.json()[0]
    assert first.keys() == {
        "id",
        "registration_number",
        "title",
        "full_name",
        "profession",
        "active",
        "service_ids",
        "clinic_ids",
    }
    assert first["clinic_ids"] == [str(org.tampines.id)]
    assert set(first["service_ids"]) == {str(org.world.gp.id), str(org.world.screening.id)}


async def test_practitioner_lists_are_refused_outside_ones_clinics(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    other_clinic = await client.get(
        PRACTITIONERS, params={"clinic_id": str(org.jurong.id)}, headers=org.manager.headers
    )
    made_up = await client.get(
        PRACTITIONERS, params={"clinic_id": str(uuid.uuid4())}, headers=org.admin.headers
    )
    receptionist = await client.get(PRACTITIONERS, headers=org.receptionist.headers)
    patient = await sign_in_patient(session)
    as_patient = await client.get(PRACTITIONERS, headers=patient.headers)
    nobody = await client.get(PRACTITIONERS)

    assert_problem(other_clinic, 404, "clinic_not_found")
    assert_problem(made_up, 404, "clinic_not_found")
    assert_problem(receptionist, 403, "not_permitted")
    assert_problem(as_patient, 403, "staff_only")
    assert_problem(nobody, 401, "not_signed_in")


async def test_a_manager_creates_a_practitioner_for_their_clinic(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    body = new_practitioner(
        clinic_id=str(org.tampines.id), service_ids=[str(org.world.gp.id)], title="Dr "
    )

    response = await client.post(PRACTITIONERS, json=body, headers=org.manager.headers)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["registration_number"] == "M70001X"
    assert created["title"] == "Dr"
    assert created["active"] is True
    assert created["service_ids"] == [str(org.world.gp.id)]
    # They work somewhere once a template line says when.
    assert created["clinic_ids"] == []
    [event] = await audit_events(session, "clinic.practitioner.")
    assert event.action == "clinic.practitioner.created"
    assert event.actor_id == org.manager.id
    assert event.subject_id == uuid.UUID(created["id"])
    assert event.clinic_id == org.tampines.id
    assert "Aw Jia Hui" not in json.dumps(event.detail)


async def test_creating_a_practitioner_is_refused_with_a_reason(
    client: httpx.AsyncClient, org: Org
) -> None:
    async def create(who: Any, **values: Any) -> httpx.Response:
        return await client.post(PRACTITIONERS, json=new_practitioner(**values), headers=who)

    tampines = str(org.tampines.id)
    taken = await create(org.admin.headers, registration_number="m12341a")  # make_world's
    unknown_service = await create(org.admin.headers, service_ids=[str(uuid.uuid4())])
    other_clinic = await create(org.manager.headers, clinic_id=str(org.jurong.id))
    no_clinic = await create(org.manager.headers)
    receptionist = await create(org.receptionist.headers, clinic_id=tampines)
    bad_number = await create(org.admin.headers, registration_number="M 123")
    control_character = await create(org.admin.headers, full_name="Aw\x00Jia Hui")
    line_break = await create(org.admin.headers, full_name="Aw\nJia Hui")  # a name is one line
    unknown_field = await create(org.admin.headers, nric="S1234567D")
    admin_for_no_clinic = await create(org.admin.headers)

    assert_problem(taken, 409, "registration_number_taken")
    assert_problem(unknown_service, 422, "unknown_services")
    assert_problem(other_clinic, 404, "clinic_not_found")
    assert_problem(no_clinic, 403, "not_permitted")
    assert_problem(receptionist, 403, "not_permitted")
    for refused in (bad_number, line_break, unknown_field):
        assert_problem(refused, 422, "validation_failed")
    assert_problem(control_character, 422, "control_characters")  # at the input boundary
    assert admin_for_no_clinic.status_code == 201, admin_for_no_clinic.text


async def test_a_manager_updates_a_practitioner_of_their_clinic(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    doctor = org.world.doctors[0]

    response = await client.patch(
        f"{PRACTITIONERS}/{doctor.id}",
        json={"title": "Prof", "full_name": "Doctor One Renamed", "profession": "doctor"},
        headers=org.manager.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conflicts"] == []
    assert body["practitioner"]["title"] == "Prof"
    assert body["practitioner"]["full_name"] == "Doctor One Renamed"
    public = await client.get("/api/v1/practitioners")
    assert {p["full_name"] for p in public.json()} >= {"Doctor One Renamed"}
    [event] = await audit_events(session, "clinic.practitioner.")
    assert event.detail["fields"] == ["title", "full_name"]
    assert "Renamed" not in json.dumps(event.detail)


async def test_withdrawing_a_service_reports_the_visits_booked_for_it_and_keeps_them(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[0]
    screening = await booked_visit(
        session, world.clinic, doctor, world.at(10), service_id=world.screening.id, minutes=45
    )
    gp = await booked_visit(session, world.clinic, doctor, world.at(12), service_id=world.gp.id)
    before = await appointment_row(session, screening)

    response = await client.patch(
        f"{PRACTITIONERS}/{doctor.id}",
        json={"service_ids": [str(world.gp.id)]},
        headers=org.manager.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["practitioner"]["service_ids"] == [str(world.gp.id)]
    assert conflict_ids(response.json()) == [str(screening)]
    assert str(gp) not in conflict_ids(response.json())
    assert await appointment_row(session, screening) == before
    offered = await offered_times(client, world.screening.id, doctor.id, world.tomorrow)
    assert offered == []


async def test_practitioners_elsewhere_are_not_found_and_the_desk_may_not_edit(
    client: httpx.AsyncClient, org: Org
) -> None:
    jurong_doctor = f"{PRACTITIONERS}/{org.jurong_doctor.id}"
    tampines_doctor = f"{PRACTITIONERS}/{org.world.doctors[0].id}"

    elsewhere = await client.patch(jurong_doctor, json={"title": "Mr"}, headers=org.manager.headers)
    elsewhere_get = await client.get(jurong_doctor, headers=org.manager.headers)
    elsewhere_off = await client.post(f"{jurong_doctor}/deactivate", headers=org.manager.headers)
    made_up = await client.get(f"{PRACTITIONERS}/{uuid.uuid4()}", headers=org.admin.headers)
    desk = await client.patch(
        tampines_doctor, json={"title": "Mr"}, headers=org.receptionist.headers
    )
    null_name = await client.patch(
        tampines_doctor, json={"full_name": None}, headers=org.manager.headers
    )
    unknown_field = await client.patch(
        tampines_doctor, json={"registration_number": "M1"}, headers=org.manager.headers
    )

    for refused in (elsewhere, elsewhere_get, elsewhere_off, made_up):
        assert_problem(refused, 404, "practitioner_not_found")
    assert_problem(desk, 403, "not_permitted")
    assert_problem(null_name, 422, "validation_failed")
    assert_problem(unknown_field, 422, "validation_failed")


async def test_a_manager_manages_a_practitioner_who_also_works_at_their_clinic(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Evenings at Tampines as well: now the Tampines manager manages them too.
    await make_weekly_hours(
        session, org.jurong_doctor, org.tampines, None, time(20, 0), time(22, 0)
    )
    await session.commit()

    response = await client.patch(
        f"{PRACTITIONERS}/{org.jurong_doctor.id}",
        json={"title": "A/Prof"},
        headers=org.manager.headers,
    )

    assert response.status_code == 200, response.text
    assert set(response.json()["practitioner"]["clinic_ids"]) == {
        str(org.tampines.id),
        str(org.jurong.id),
    }


async def test_whether_a_shared_practitioner_is_bookable_is_for_managers_of_all_their_clinics(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given Jurong's doctor, who also works evenings at Tampines,
    world, doctor = org.world, org.jurong_doctor
    await make_weekly_hours(session, doctor, org.tampines, None, time(20, 0), time(22, 0))
    await session.commit()
    path = f"{PRACTITIONERS}/{doctor.id}"
    jurong_times = await offered_times(
        client, world.gp.id, doctor.id, world.tomorrow, org.jurong.id
    )

    # when the Tampines manager takes them off the book, or withdraws their GP visits,
    deactivated = await client.post(f"{path}/deactivate", headers=org.manager.headers)
    withdrawn = await client.patch(path, json={"service_ids": []}, headers=org.manager.headers)
    # or sends what they offer unchanged with a new title,
    retitled = await client.patch(
        path,
        json={"title": "A/Prof", "service_ids": [str(world.gp.id)], "active": True},
        headers=org.manager.headers,
    )

    # then Jurong's book is not Tampines' to empty,
    for refused in (deactivated, withdrawn):
        body = assert_problem(refused, 403, "not_permitted")
        assert "Jurong East" in body["detail"]
    assert retitled.status_code == 200, retitled.text
    assert (
        await offered_times(client, world.gp.id, doctor.id, world.tomorrow, org.jurong.id)
        == jurong_times
        != []
    )
    # and a manager of both clinics (here the administrator) may.
    by_admin = await client.post(f"{path}/deactivate", headers=org.admin.headers)
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["practitioner"]["active"] is False


async def test_deactivating_a_practitioner_stops_their_slots_and_reports_their_visits(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    world = org.world
    doctor = world.doctors[1]
    visit = await booked_visit(session, world.clinic, doctor, world.at(9), service_id=world.gp.id)
    cancelled = await booked_visit(
        session, world.clinic, doctor, world.at(11), service_id=world.gp.id, status="cancelled"
    )
    before = await appointment_row(session, visit)

    response = await client.post(
        f"{PRACTITIONERS}/{doctor.id}/deactivate", headers=org.manager.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["practitioner"]["active"] is False
    assert conflict_ids(body) == [str(visit)]
    assert str(cancelled) not in conflict_ids(body)
    [conflict] = body["conflicts"]
    assert conflict == {
        "appointment_id": str(visit),
        "clinic_id": str(world.clinic.id),
        "practitioner_id": str(doctor.id),
        "service_id": str(world.gp.id),
        "start": world.at(9).isoformat(),
        "end": world.at(9, 15).isoformat(),
    }
    assert await appointment_row(session, visit) == before
    assert await offered_times(client, world.gp.id, doctor.id, world.tomorrow) == []
    listed = await client.get(
        PRACTITIONERS, params={"active": "false"}, headers=org.manager.headers
    )
    assert [p["id"] for p in listed.json()] == [str(doctor.id)]
    [event] = await audit_events(session, "clinic.practitioner.")
    assert event.detail["active"] is False
    assert event.detail["conflicts"] == [str(visit)]

    again = await client.post(
        f"{PRACTITIONERS}/{doctor.id}/deactivate", headers=org.manager.headers
    )
    back = await client.patch(
        f"{PRACTITIONERS}/{doctor.id}", json={"active": True}, headers=org.manager.headers
    )
    assert again.json()["conflicts"] == []
    assert back.json()["practitioner"]["active"] is True
    assert await offered_times(client, world.gp.id, doctor.id, world.tomorrow) != []


# --- services -----------------------------------------------------------------------------------


async def test_an_administrator_creates_and_updates_a_service(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    created = await client.post(SERVICES, json=new_service(), headers=org.admin.headers)

    assert created.status_code == 201, created.text
    service = created.json()
    assert service["online_payment"] == "deposit"
    assert service["currency"] == "SGD"
    assert service["active"] is True
    assert service["description"].endswith("\nBring your travel plans.")

    updated = await client.patch(
        f"{SERVICES}/{service['id']}",
        json={"price_cents": 9000, "online_payment": "full", "active": False},
        headers=org.admin.headers,
    )

    assert updated.status_code == 200, updated.text
    assert updated.json() | {"price_cents": 8000, "online_payment": "deposit", "active": True} == (
        service
    )
    public = await client.get("/api/v1/services")
    assert service["id"] not in {s["id"] for s in public.json()}
    listed = await client.get(SERVICES, headers=org.manager.headers)
    assert listed.status_code == 200
    assert service["id"] in {s["id"] for s in listed.json()}
    one = await client.get(f"{SERVICES}/{service['id']}", headers=org.manager.headers)
    assert one.json()["active"] is False
    events = await audit_events(session, "clinic.service.")
    assert [event.action for event in events] == [
        "clinic.service.created",
        "clinic.service.updated",
    ]
    assert events[1].actor_id == org.admin.id
    assert events[1].detail["changes"] == {
        "price_cents": [8000, 9000],
        "online_payment": ["deposit", "full"],
        "active": [True, False],
    }


async def test_a_clinic_manager_may_not_create_or_change_services(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await client.post(SERVICES, json=new_service(), headers=org.manager.headers)
    changed = await client.patch(
        f"{SERVICES}/{org.world.gp.id}", json={"price_cents": 1}, headers=org.manager.headers
    )
    desk_list = await client.get(SERVICES, headers=org.receptionist.headers)

    assert_problem(created, 403, "not_permitted")
    assert_problem(changed, 403, "not_permitted")
    assert_problem(desk_list, 403, "not_permitted")


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"deposit_cents": 9000}, "deposit_exceeds_price"),
        ({"deposit_cents": 0}, "online_payment_needs_deposit"),
        (
            {"price_cents": 0, "deposit_cents": 0, "online_payment": "full"},
            "online_payment_needs_price",
        ),
        ({"grid_minutes": 7}, "grid_must_divide_day"),
        ({"min_notice_minutes": 3000, "max_days_ahead": 1}, "invalid_booking_horizon"),
        ({"duration_minutes": 0}, "validation_failed"),
        ({"price_cents": -1}, "validation_failed"),
        ({"online_payment": "later"}, "validation_failed"),
        ({"currency": "sgd"}, "validation_failed"),
        ({"duration_minutes": 2**40}, "validation_failed"),
        ({"code": "Not A Code"}, "validation_failed"),
        ({"colour": "blue"}, "validation_failed"),
    ],
)
async def test_a_service_breaking_its_rules_is_a_clear_422(
    client: httpx.AsyncClient, org: Org, values: dict[str, Any], code: str
) -> None:
    response = await client.post(SERVICES, json=new_service(**values), headers=org.admin.headers)

    body = assert_problem(response, 422, code)
    if code == "validation_failed":
        assert body["errors"]


async def test_a_change_is_checked_against_the_rest_of_the_service(
    client: httpx.AsyncClient, org: Org
) -> None:
    screening = f"{SERVICES}/{org.world.screening.id}"  # 180.00, deposit 50.00

    cheaper = await client.patch(screening, json={"price_cents": 4000}, headers=org.admin.headers)
    paid_online = await client.patch(
        screening, json={"online_payment": "deposit"}, headers=org.admin.headers
    )
    null_price = await client.patch(
        screening, json={"price_cents": None}, headers=org.admin.headers
    )
    made_up = await client.patch(
        f"{SERVICES}/{uuid.uuid4()}", json={"price_cents": 1}, headers=org.admin.headers
    )

    assert_problem(cheaper, 422, "deposit_exceeds_price")
    assert paid_online.status_code == 200, paid_online.text
    assert_problem(null_price, 422, "validation_failed")
    assert_problem(made_up, 404, "service_not_found")


async def test_a_service_code_is_taken_once(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(SERVICES, json=new_service(code="gp"), headers=org.admin.headers)

    assert_problem(response, 409, "service_code_taken")


def test_the_service_rules_hold_for_callers_other_than_the_api() -> None:
    service = Service(
        code="gp",
        name="GP",
        description="",
        duration_minutes=0,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        grid_minutes=15,
        price_cents=4500,
        deposit_cents=0,
        currency="SGD",
        min_notice_minutes=0,
        max_days_ahead=30,
        cancellation_window_hours=24,
        online_payment="none",
        active=True,
    )

    with pytest.raises(InvalidServiceRulesError) as refused:
        check_service_terms(service)

    assert refused.value.code == "invalid_duration"
    assert refused.value.status == 422


async def test_the_admin_models_keep_their_own_names_in_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    # Two models of one name get module-path names (medbook__booking__schemas__...), which
    # would rename types in the generated web client.
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    assert [name for name in schemas if "__" in name] == []
    assert {"AvailabilityLineOut", "PractitionerAdminOut", "ServiceAdminOut"} <= schemas.keys()
