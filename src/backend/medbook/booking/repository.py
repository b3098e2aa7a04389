"""SQL for appointments, holds and blocks."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from medbook.booking.models import Appointment
from medbook.booking.states import ACTIVE_STATUSES, Status
from medbook.clinics.models import Clinic

ACTIVE = [status.value for status in ACTIVE_STATUSES]


@dataclass(frozen=True, slots=True)
class BusyPeriod:
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    start: datetime
    end: datetime


async def database_now(session: AsyncSession) -> datetime:
    """The transaction's timestamp: the one clock every hold and expiry is measured by.

    now() is fixed for the whole transaction, so it is asked once and remembered for it.
    """
    transaction = session.sync_session.get_transaction()
    remembered = session.info.get(_NOW)
    if remembered is not None and transaction is not None and remembered[0] is transaction:
        return remembered[1]  # type: ignore[no-any-return]
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    remember_now(session, now)
    return now


_NOW = "medbook.database_now"


def remember_now(session: AsyncSession, now: datetime) -> None:
    """Record now() read as part of another query, sparing a round trip."""
    session.info[_NOW] = (session.sync_session.get_transaction(), now)


async def lock_holder(session: AsyncSession, holder: str) -> None:
    """Serialise one client's hold attempts, so its live-hold cap cannot be raced past."""
    digest = hashlib.sha256(holder.encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def count_live_holds(session: AsyncSession, holder: str) -> int:
    query = select(func.count()).where(
        Appointment.holder == holder,
        Appointment.status == Status.HELD,
        Appointment.hold_expires_at > func.now(),
    )
    return int((await session.execute(query)).scalar_one())


async def expire_stale_holds(
    session: AsyncSession,
    practitioner_id: uuid.UUID,
    room_id: uuid.UUID | None,
    blocked: Range[datetime],
) -> None:
    """Mark expired every held row past its expiry that overlaps `blocked` for this practitioner
    or room, so the exclusion constraints see the slot free the instant its hold ran out."""
    same_owner: ColumnElement[bool] = Appointment.practitioner_id == practitioner_id
    if room_id is not None:
        same_owner = or_(same_owner, Appointment.room_id == room_id)
    await session.execute(
        update(Appointment)
        .where(
            same_owner,
            Appointment.status == Status.HELD,
            Appointment.hold_expires_at <= func.now(),
            Appointment.blocked.op("&&")(blocked),
        )
        .values(status=Status.EXPIRED, updated_at=func.now())
    )


async def insert_appointment(
    session: AsyncSession, values: dict[str, Any], hold_ttl_seconds: int | None = None
) -> Appointment:
    """Insert a row; a hold's expiry is the database's now() plus the TTL, in the same statement."""
    row = dict(values)
    if hold_ttl_seconds is not None:
        row["hold_expires_at"] = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, hold_ttl_seconds)
    statement = insert(Appointment).values(**row).returning(Appointment)
    appointment: Appointment = (await session.scalars(statement)).one()
    return appointment


async def get_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Appointment | None:
    """The appointment (locked if asked), with its clinic loaded and now() remembered: one
    round trip for what every action on an appointment needs first."""
    query = (
        select(Appointment, Clinic, func.now())
        .join(Clinic, Clinic.id == Appointment.clinic_id)
        .where(Appointment.id == appointment_id)
    )
    if for_update:
        query = query.with_for_update(of=Appointment)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    remember_now(session, row[2])
    appointment: Appointment = row[0]
    return appointment


async def set_status(
    session: AsyncSession, appointment: Appointment, status: Status, **values: Any
) -> None:
    statement = (
        update(Appointment)
        .where(Appointment.id == appointment.id)
        .values(status=status, updated_at=func.now(), **values)
        .returning(Appointment)
        .execution_options(populate_existing=True)
    )
    await session.scalars(statement)


async def busy_periods(
    session: AsyncSession,
    practitioner_ids: Sequence[uuid.UUID],
    room_ids: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    exclude_id: uuid.UUID | None = None,
) -> list[BusyPeriod]:
    """Time taken by active rows of these practitioners or rooms, live holds included and stale
    holds left out, overlapping [start, end)."""
    window = Range(start, end, bounds="[)")
    live = or_(Appointment.status != Status.HELD, Appointment.hold_expires_at > func.now())
    owners: ColumnElement[bool] = Appointment.practitioner_id.in_(practitioner_ids)
    if room_ids:
        owners = or_(owners, Appointment.room_id.in_(room_ids))
    query = select(
        Appointment.practitioner_id,
        Appointment.room_id,
        func.lower(Appointment.blocked),
        func.upper(Appointment.blocked),
    ).where(owners, Appointment.status.in_(ACTIVE), live, Appointment.blocked.op("&&")(window))
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    rows = (await session.execute(query)).all()
    return [BusyPeriod(row[0], row[1], row[2], row[3]) for row in rows]


async def appointments_between(
    session: AsyncSession, clinic_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[Appointment]:
    query = (
        select(Appointment)
        .where(
            Appointment.clinic_id == clinic_id,
            Appointment.starts_at < end,
            Appointment.ends_at > start,
        )
        .order_by(Appointment.starts_at, Appointment.practitioner_id)
    )
    return (await session.scalars(query)).all()
