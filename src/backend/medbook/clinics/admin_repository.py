"""SQL for the clinic administration: practitioners, services, templates, time off, closures.

The appointments a change could leave stranded are booking's to read (values.BookedVisits).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import date, datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from medbook.clinics.models import (
    Clinic,
    ClinicClosure,
    Practitioner,
    Room,
    Service,
    TimeOff,
    WeeklyAvailability,
    practitioner_services,
)
from medbook.clinics.values import TemplateLine

CLOSURE = "closure"


async def database_now(session: AsyncSession) -> datetime:
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now


async def save(session: AsyncSession) -> None:
    """Write the changes made to rows read in this session (the transaction stays open)."""
    await session.flush()


async def remove(session: AsyncSession, row: WeeklyAvailability | TimeOff | ClinicClosure) -> None:
    await session.delete(row)
    await session.flush()


async def _insert_unique(session: AsyncSession, row: Practitioner | Service) -> bool:
    """Insert the row; False when one of its unique keys is taken (a moment ago, by someone
    else), in a savepoint, so the transaction goes on."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


# --- practitioners ------------------------------------------------------------------------------


async def lock_practitioner(
    session: AsyncSession, practitioner_id: uuid.UUID
) -> Practitioner | None:
    """The practitioner, locked: changes to their template and time off are serialised on it,
    so two overlapping lines added at the same moment cannot both pass the overlap check."""
    query = (
        select(Practitioner)
        .where(Practitioner.id == practitioner_id)
        .options(selectinload(Practitioner.services))
        .with_for_update(of=Practitioner)
    )
    return (await session.scalars(query)).one_or_none()


async def list_practitioners(
    session: AsyncSession, clinic_ids: Collection[uuid.UUID] | None, active: bool | None
) -> Sequence[Practitioner]:
    """Every practitioner (active or not), or those with a template line at one of the clinics."""
    query = (
        select(Practitioner)
        .options(selectinload(Practitioner.services))
        .order_by(Practitioner.full_name, Practitioner.registration_number)
    )
    if clinic_ids is not None:
        works_there = select(WeeklyAvailability.practitioner_id).where(
            WeeklyAvailability.clinic_id.in_(clinic_ids)
        )
        query = query.where(Practitioner.id.in_(works_there))
    if active is not None:
        query = query.where(Practitioner.active.is_(active))
    return (await session.scalars(query)).all()


async def clinics_of(
    session: AsyncSession, practitioner_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The clinics each practitioner has template lines at: where they work."""
    query = (
        select(WeeklyAvailability.practitioner_id, WeeklyAvailability.clinic_id)
        .where(WeeklyAvailability.practitioner_id.in_(practitioner_ids))
        .distinct()
    )
    clinics: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for practitioner_id, clinic_id in await session.execute(query):
        clinics[practitioner_id].add(clinic_id)
    return clinics


async def current_clinics_of(session: AsyncSession, practitioner_id: uuid.UUID) -> list[Clinic]:
    """The clinics where the practitioner has template lines in force today or later."""
    in_force = select(WeeklyAvailability.clinic_id).where(
        WeeklyAvailability.practitioner_id == practitioner_id,
        or_(
            WeeklyAvailability.valid_until.is_(None),
            WeeklyAvailability.valid_until >= func.current_date(),
        ),
    )
    query = select(Clinic).where(Clinic.id.in_(in_force)).order_by(Clinic.name)
    return list((await session.scalars(query)).all())


async def insert_practitioner(session: AsyncSession, practitioner: Practitioner) -> bool:
    """Add the practitioner; False when their registration number is taken."""
    return await _insert_unique(session, practitioner)


async def registration_number_taken(session: AsyncSession, number: str) -> bool:
    query = select(Practitioner.id).where(Practitioner.registration_number == number)
    return (await session.execute(query)).first() is not None


async def existing_service_ids(
    session: AsyncSession, service_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    query = select(Service.id).where(Service.id.in_(service_ids))
    return set((await session.scalars(query)).all())


async def replace_services(
    session: AsyncSession, practitioner_id: uuid.UUID, service_ids: Collection[uuid.UUID]
) -> None:
    await session.execute(
        delete(practitioner_services).where(
            practitioner_services.c.practitioner_id == practitioner_id
        )
    )
    if service_ids:
        await session.execute(
            insert(practitioner_services),
            [{"practitioner_id": practitioner_id, "service_id": sid} for sid in service_ids],
        )


async def reload_practitioner(session: AsyncSession, practitioner_id: uuid.UUID) -> Practitioner:
    """The practitioner as the database now has it, services included."""
    query = (
        select(Practitioner)
        .where(Practitioner.id == practitioner_id)
        .options(selectinload(Practitioner.services))
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).one()


# --- services -----------------------------------------------------------------------------------


async def list_all_services(session: AsyncSession) -> Sequence[Service]:
    query = select(Service).order_by(Service.active.desc(), Service.name, Service.code)
    return (await session.scalars(query)).all()


async def lock_service(session: AsyncSession, service_id: uuid.UUID) -> Service | None:
    query = select(Service).where(Service.id == service_id).with_for_update()
    return (await session.scalars(query)).one_or_none()


async def insert_service(session: AsyncSession, service: Service) -> bool:
    """Add the service; False when its code is taken."""
    return await _insert_unique(session, service)


async def service_code_taken(session: AsyncSession, code: str) -> bool:
    return (
        await session.execute(select(Service.id).where(Service.code == code))
    ).first() is not None


# --- weekly availability ------------------------------------------------------------------------


async def get_room(session: AsyncSession, room_id: uuid.UUID) -> Room | None:
    return await session.get(Room, room_id)


async def list_availability(
    session: AsyncSession, clinic_id: uuid.UUID, practitioner_id: uuid.UUID | None
) -> Sequence[WeeklyAvailability]:
    query = (
        select(WeeklyAvailability)
        .where(WeeklyAvailability.clinic_id == clinic_id)
        .order_by(
            WeeklyAvailability.practitioner_id,
            WeeklyAvailability.weekday,
            WeeklyAvailability.start_time,
            WeeklyAvailability.valid_from,
            WeeklyAvailability.id,
        )
    )
    if practitioner_id is not None:
        query = query.where(WeeklyAvailability.practitioner_id == practitioner_id)
    return (await session.scalars(query)).all()


async def get_availability(
    session: AsyncSession, line_id: int, *, again: bool = False
) -> WeeklyAvailability | None:
    """The line; `again` reads it afresh (after taking its practitioner's lock)."""
    return await session.get(WeeklyAvailability, line_id, populate_existing=again)


async def lines_of(
    session: AsyncSession, practitioner_id: uuid.UUID, clinic_id: uuid.UUID
) -> Sequence[WeeklyAvailability]:
    """The practitioner's whole template at one clinic."""
    query = select(WeeklyAvailability).where(
        WeeklyAvailability.practitioner_id == practitioner_id,
        WeeklyAvailability.clinic_id == clinic_id,
    )
    return (await session.scalars(query)).all()


async def insert_availability(session: AsyncSession, line: TemplateLine) -> WeeklyAvailability:
    row = WeeklyAvailability(**asdict(line))
    session.add(row)
    await session.flush()
    return row


async def overlapping_lines(
    session: AsyncSession, line: TemplateLine, exclude_id: int | None
) -> Sequence[WeeklyAvailability]:
    """The practitioner's other lines, at any clinic, sharing some hour of some day with `line`."""
    query = select(WeeklyAvailability).where(
        WeeklyAvailability.practitioner_id == line.practitioner_id,
        WeeklyAvailability.weekday == line.weekday,
        WeeklyAvailability.start_time < line.end_time,
        WeeklyAvailability.end_time > line.start_time,
        or_(
            WeeklyAvailability.valid_until.is_(None),
            WeeklyAvailability.valid_until >= line.valid_from,
        ),
    )
    if line.valid_until is not None:
        query = query.where(WeeklyAvailability.valid_from <= line.valid_until)
    if exclude_id is not None:
        query = query.where(WeeklyAvailability.id != exclude_id)
    return (await session.scalars(query.order_by(WeeklyAvailability.id))).all()


# --- time off -----------------------------------------------------------------------------------


async def list_time_off(
    session: AsyncSession, practitioner_id: uuid.UUID, ending_after: datetime | None
) -> Sequence[TimeOff]:
    query = (
        select(TimeOff)
        .where(TimeOff.practitioner_id == practitioner_id)
        .order_by(TimeOff.starts_at, TimeOff.id)
    )
    if ending_after is not None:
        query = query.where(TimeOff.ends_at > ending_after)
    return (await session.scalars(query)).all()


async def get_time_off(
    session: AsyncSession, time_off_id: int, *, again: bool = False
) -> TimeOff | None:
    """The period; `again` reads it afresh (after taking its practitioner's lock)."""
    return await session.get(TimeOff, time_off_id, populate_existing=again)


async def insert_time_off(
    session: AsyncSession,
    practitioner_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
) -> TimeOff:
    row = TimeOff(
        practitioner_id=practitioner_id, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    session.add(row)
    await session.flush()
    return row


async def overlapping_time_off(
    session: AsyncSession, practitioner_id: uuid.UUID, starts_at: datetime, ends_at: datetime
) -> Sequence[TimeOff]:
    query = select(TimeOff).where(
        TimeOff.practitioner_id == practitioner_id,
        TimeOff.starts_at < ends_at,
        TimeOff.ends_at > starts_at,
    )
    return (await session.scalars(query.order_by(TimeOff.starts_at))).all()


# --- closures -----------------------------------------------------------------------------------


async def list_closures(
    session: AsyncSession, clinic_id: uuid.UUID, first_day: date | None, last_day: date | None
) -> Sequence[ClinicClosure]:
    """The clinic's own closures and the public holidays (every clinic's), by day."""
    query = (
        select(ClinicClosure)
        .where(or_(ClinicClosure.clinic_id == clinic_id, ClinicClosure.clinic_id.is_(None)))
        .order_by(ClinicClosure.day, ClinicClosure.id)
    )
    if first_day is not None:
        query = query.where(ClinicClosure.day >= first_day)
    if last_day is not None:
        query = query.where(ClinicClosure.day <= last_day)
    return (await session.scalars(query)).all()


async def own_closures_between(
    session: AsyncSession, clinic_id: uuid.UUID, first_day: date, last_day: date
) -> Sequence[ClinicClosure]:
    query = select(ClinicClosure).where(
        ClinicClosure.clinic_id == clinic_id,
        ClinicClosure.day.between(first_day, last_day),
    )
    return (await session.scalars(query.order_by(ClinicClosure.day))).all()


async def insert_closures(
    session: AsyncSession, clinic_id: uuid.UUID, days: Sequence[date], reason: str
) -> Sequence[ClinicClosure] | None:
    """The new closures; None when the clinic is already closed on one of the days (the unique
    key says so: someone closed it a moment ago), in a savepoint, so the transaction goes on."""
    rows = [{"clinic_id": clinic_id, "day": day, "kind": CLOSURE, "reason": reason} for day in days]
    statement = insert(ClinicClosure).values(rows).returning(ClinicClosure)
    try:
        async with session.begin_nested():
            return (await session.scalars(statement)).all()
    except IntegrityError:
        return None


async def lock_closure(session: AsyncSession, closure_id: int) -> ClinicClosure | None:
    """The closure, locked: of two requests deleting it, the second finds it gone."""
    return await session.get(ClinicClosure, closure_id, with_for_update=True)
