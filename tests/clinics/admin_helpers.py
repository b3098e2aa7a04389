"""The clinic administration stories' cast: two clinics, their staff, and a few booked visits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.booking.models import Appointment
from medbook.clinics.models import Clinic, Practitioner, Room
from medbook.kernel.permissions import Role
from tests.auth import SignedIn, sign_in_staff
from tests.factories import (
    SINGAPORE,
    World,
    make_clinic,
    make_practitioner,
    make_room,
    make_weekly_hours,
    make_world,
)

ADMIN = "/api/v1/admin"


@dataclass
class Org:
    """Tampines (make_world's clinic, two doctors working 08:00-20:00 daily) and Jurong East
    (one doctor of its own), an administrator of every clinic, each clinic's manager, and a
    receptionist at Tampines."""

    world: World
    jurong: Clinic
    jurong_room: Room
    jurong_doctor: Practitioner
    admin: SignedIn
    manager: SignedIn  # Tampines
    jurong_manager: SignedIn
    receptionist: SignedIn  # Tampines

    @property
    def tampines(self) -> Clinic:
        return self.world.clinic


async def make_org(session: AsyncSession) -> Org:
    world = await make_world(session)
    jurong = await make_clinic(session, "jurong-east", name="Medical Inc. Jurong East")
    jurong_room = await make_room(session, jurong, "Consult Room 1")
    jurong_doctor = await make_practitioner(
        session, "M55555J", [world.gp], full_name="Doctor Jurong"
    )
    await make_weekly_hours(session, jurong_doctor, jurong, jurong_room)
    await session.commit()
    return Org(
        world=world,
        jurong=jurong,
        jurong_room=jurong_room,
        jurong_doctor=jurong_doctor,
        admin=await sign_in_staff(session, (Role.ADMINISTRATOR, None)),
        manager=await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id)),
        jurong_manager=await sign_in_staff(session, (Role.CLINIC_MANAGER, jurong.id)),
        receptionist=await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id)),
    )


async def booked_visit(
    session: AsyncSession,
    clinic: Clinic,
    practitioner: Practitioner,
    start: datetime,
    *,
    service_id: uuid.UUID | None = None,
    room_id: uuid.UUID | None = None,
    minutes: int = 15,
    status: str = "confirmed",
) -> uuid.UUID:
    """An appointment already on the book, as the booking path leaves a confirmed one."""
    end = start + timedelta(minutes=minutes)
    appointment = Appointment(
        kind="appointment",
        status=status,
        clinic_id=clinic.id,
        practitioner_id=practitioner.id,
        room_id=room_id,
        service_id=service_id,
        starts_at=start,
        ends_at=end,
        blocked=Range(start, end, bounds="[)"),
        source="desk",
    )
    session.add(appointment)
    await session.commit()
    return appointment.id


async def appointment_row(session: AsyncSession, appointment_id: uuid.UUID | str) -> Any:
    """What the database holds for the appointment now (for "it was not touched")."""
    result = await session.execute(
        text(
            "SELECT status, starts_at, ends_at, practitioner_id, clinic_id, room_id, updated_at "
            "FROM appointments WHERE id = :id"
        ),
        {"id": uuid.UUID(str(appointment_id))},
    )
    found = result.one()
    await session.commit()  # read only; a rollback would expire the story's objects
    return found


async def offered_times(
    client: httpx.AsyncClient,
    service_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    day: date,
    clinic_id: uuid.UUID | None = None,
) -> list[str]:
    """The slot starts the public search offers that day, as local HH:MM."""
    params = {
        "service_id": str(service_id),
        "practitioner_id": str(practitioner_id),
        "from": day.isoformat(),
        "to": day.isoformat(),
    }
    if clinic_id is not None:
        params["clinic_id"] = str(clinic_id)
    response = await client.get("/api/v1/availability", params=params)
    assert response.status_code == 200, response.text
    return [
        datetime.fromisoformat(slot["start"]).astimezone(SINGAPORE).strftime("%H:%M")
        for slot in response.json()["slots"]
    ]


async def audit_events(session: AsyncSession, prefix: str = "clinic.") -> list[Any]:
    result = await session.execute(
        text(
            "SELECT action, actor_kind, actor_id, subject_kind, subject_id, clinic_id, detail "
            "FROM audit_events WHERE action LIKE :prefix ORDER BY id"
        ),
        {"prefix": prefix + "%"},
    )
    rows = list(result.all())
    await session.commit()  # read only; a rollback would expire the story's objects
    return rows


def conflict_ids(body: dict[str, Any]) -> list[str]:
    return [conflict["appointment_id"] for conflict in body["conflicts"]]
