"""SQL for clinics, practitioners, services and the inputs of slot search."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from medbook.clinics.models import (
    Clinic,
    Practitioner,
    Service,
    WeeklyAvailability,
    practitioner_services,
)

CLINIC_DETAILS = (selectinload(Clinic.opening_hours), selectinload(Clinic.rooms))


async def list_clinics(session: AsyncSession, *, with_details: bool = False) -> Sequence[Clinic]:
    query = select(Clinic).order_by(Clinic.name)
    if with_details:
        query = query.options(*CLINIC_DETAILS)
    return (await session.scalars(query)).all()


async def get_clinic(
    session: AsyncSession, clinic_id: uuid.UUID, *, with_details: bool = False
) -> Clinic | None:
    if with_details:
        return await session.get(Clinic, clinic_id, options=CLINIC_DETAILS)
    return await session.get(Clinic, clinic_id)


async def timezones(
    session: AsyncSession, clinic_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each of these clinics' timezone, by id; a clinic that does not exist is left out."""
    query = select(Clinic.id, Clinic.timezone).where(Clinic.id.in_(clinic_ids))
    return {clinic_id: zone for clinic_id, zone in await session.execute(query)}


async def list_services(session: AsyncSession) -> Sequence[Service]:
    query = select(Service).where(Service.active).order_by(Service.name)
    return (await session.scalars(query)).all()


async def get_service(session: AsyncSession, service_id: uuid.UUID) -> Service | None:
    return await session.get(Service, service_id)


async def get_practitioner(
    session: AsyncSession, practitioner_id: uuid.UUID
) -> Practitioner | None:
    return await session.get(Practitioner, practitioner_id)


async def list_practitioners(
    session: AsyncSession, clinic_id: uuid.UUID | None = None, service_id: uuid.UUID | None = None
) -> Sequence[Practitioner]:
    query = (
        select(Practitioner)
        .where(Practitioner.active)
        .options(selectinload(Practitioner.services))
        .order_by(Practitioner.full_name)
    )
    if clinic_id is not None:
        works_there = select(WeeklyAvailability.practitioner_id).where(
            WeeklyAvailability.clinic_id == clinic_id
        )
        query = query.where(Practitioner.id.in_(works_there))
    if service_id is not None:
        offers = select(practitioner_services.c.practitioner_id).where(
            practitioner_services.c.service_id == service_id
        )
        query = query.where(Practitioner.id.in_(offers))
    return (await session.scalars(query)).all()


_OFFERS = (
    select(practitioner_services.c.practitioner_id)
    .where(
        practitioner_services.c.practitioner_id == bindparam("practitioner_id"),
        practitioner_services.c.service_id == bindparam("service_id"),
    )
    .exists()
)
# Each table is narrowed to one row by its id, so the cross join is one row at most.
_BOOKING_TARGET = (
    select(Clinic, Practitioner, Service, _OFFERS, func.now())
    .select_from(Clinic)
    .join(Practitioner, true())
    .join(Service, true())
    .where(
        Clinic.id == bindparam("clinic_id"),
        Practitioner.id == bindparam("practitioner_id"),
        Service.id == bindparam("service_id"),
    )
)


async def booking_target(
    session: AsyncSession, clinic_id: uuid.UUID, practitioner_id: uuid.UUID, service_id: uuid.UUID
) -> tuple[Clinic, Practitioner, Service, bool, datetime] | None:
    """Clinic, practitioner, service, whether the practitioner offers it, and now(): one round
    trip on the booking path. None when any of the three does not exist."""
    ids = {"clinic_id": clinic_id, "practitioner_id": practitioner_id, "service_id": service_id}
    row = (await session.execute(_BOOKING_TARGET, ids)).one_or_none()
    if row is None:
        return None
    return row[0], row[1], row[2], row[3], row[4]


async def template_lines_during(
    session: AsyncSession, practitioner_id: uuid.UUID, first_day: date, last_day: date
) -> Sequence[tuple[Clinic, WeeklyAvailability]]:
    """The practitioner's weekly template lines valid on some day of first_day..last_day, each
    with its clinic: where they work over that period."""
    query = (
        select(Clinic, WeeklyAvailability)
        .join(WeeklyAvailability, WeeklyAvailability.clinic_id == Clinic.id)
        .where(
            WeeklyAvailability.practitioner_id == practitioner_id,
            WeeklyAvailability.valid_from <= last_day,
            or_(
                WeeklyAvailability.valid_until.is_(None),
                WeeklyAvailability.valid_until >= first_day,
            ),
        )
        .order_by(Clinic.name, WeeklyAvailability.id)
    )
    return [(clinic, line) for clinic, line in (await session.execute(query)).all()]
