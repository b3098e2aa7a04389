"""The patients domain's SQL. Who is a patient of which clinics is booking's to say: the
queries that scope by it take its condition (values.BookedAt) as an argument."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, func, insert, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.patients.models import Patient
from medbook.patients.values import BookedAt


async def patient_exists(session: AsyncSession, patient_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(Patient.id == patient_id))))


async def get_patient(session: AsyncSession, patient_id: uuid.UUID) -> Patient | None:
    return await session.get(Patient, patient_id)


async def patients_by_ids(
    session: AsyncSession, patient_ids: Collection[uuid.UUID]
) -> Sequence[Patient]:
    """The patients with these ids, in one query."""
    if not patient_ids:
        return []
    return (await session.scalars(select(Patient).where(Patient.id.in_(patient_ids)))).all()


_BY_NAME = (Patient.full_name.asc().nulls_last(), Patient.created_at, Patient.id)


async def find_patients(
    session: AsyncSession,
    *,
    name_part: str,
    phone_digits: str | None,
    nric_tail: str | None,
    nric_index: bytes | None,
    clinic_ids: Collection[uuid.UUID] | None,
    booked_at: BookedAt,
    limit: int,
) -> Sequence[Patient]:
    """Patients matching any of the criteria given: a part of the name (any case), digits within
    the phone number, the end of the masked NRIC, or the NRIC's blind index. Only patients with
    a booking at one of the clinics (`booked_at`), unless `clinic_ids` is None."""
    matches: list[ColumnElement[bool]] = [Patient.full_name.icontains(name_part, autoescape=True)]
    if phone_digits is not None:
        # Stored as E.164: the digits after the "+".
        matches.append(func.replace(Patient.phone, "+", "").contains(phone_digits, autoescape=True))
    if nric_tail is not None:
        matches.append(Patient.nric_masked.endswith(nric_tail, autoescape=True))
    if nric_index is not None:
        matches.append(Patient.nric_index == nric_index)
    query = select(Patient).where(or_(*matches)).order_by(*_BY_NAME).limit(limit)
    if clinic_ids is not None:
        query = query.where(booked_at(Patient.id, clinic_ids))
    return (await session.scalars(query)).all()


async def find_by_identifier(
    session: AsyncSession,
    *,
    nric_index: bytes | None,
    phone: str | None,
    excluding: Collection[uuid.UUID],
    limit: int,
) -> Sequence[Patient]:
    """Patients whose whole NRIC (by its blind index) or whole phone number (E.164) is this."""
    matches: list[ColumnElement[bool]] = []
    if nric_index is not None:
        matches.append(Patient.nric_index == nric_index)
    if phone is not None:
        matches.append(Patient.phone == phone)
    if not matches or limit <= 0:
        return []
    query = select(Patient).where(or_(*matches)).order_by(*_BY_NAME).limit(limit)
    if excluding:
        query = query.where(Patient.id.not_in(excluding))
    return (await session.scalars(query)).all()


async def patients_booked_at(
    session: AsyncSession,
    patient_ids: Collection[uuid.UUID],
    clinic_ids: Collection[uuid.UUID],
    booked_at: BookedAt,
) -> set[uuid.UUID]:
    """Which of these patients have a booking at one of these clinics."""
    if not patient_ids or not clinic_ids:
        return set()
    query = select(Patient.id).where(Patient.id.in_(patient_ids), booked_at(Patient.id, clinic_ids))
    return set((await session.scalars(query)).all())


_REGISTER = insert(Patient).returning(Patient.id)


async def insert_patient(
    session: AsyncSession, full_name: str, phone: str, email: str | None
) -> uuid.UUID:
    values = {"full_name": full_name, "phone": phone, "email": email}
    patient_id: uuid.UUID = (await session.execute(_REGISTER, values)).scalar_one()
    return patient_id


async def has_contact_details(session: AsyncSession, patient_id: uuid.UUID) -> bool:
    query = select(
        exists().where(
            Patient.id == patient_id, Patient.full_name.is_not(None), Patient.phone.is_not(None)
        )
    )
    return bool(await session.scalar(query))


async def set_contact(
    session: AsyncSession, patient_id: uuid.UUID, full_name: str, phone: str, email: str | None
) -> None:
    await session.execute(
        update(Patient)
        .where(Patient.id == patient_id)
        .values(full_name=full_name, phone=phone, email=email)
    )


async def upsert_singpass_patient(
    session: AsyncSession,
    singpass_uuid: str,
    nric_ciphertext: bytes | None,
    nric_index: bytes | None,
    nric_masked: str | None,
) -> tuple[uuid.UUID, bool] | None:
    """Find the patient by Singpass UUID or create them; answers (id, created), or None when
    the NRIC is on another patient's record (its unique key says so; in a savepoint, so the
    transaction goes on).

    The NRIC is refreshed on every sign-in: Singpass is the authority (a FIN holder who becomes
    a citizen keeps the UUID and gets a new number).
    """
    values = {
        "singpass_uuid": singpass_uuid,
        "nric_ciphertext": nric_ciphertext,
        "nric_index": nric_index,
        "nric_masked": nric_masked,
    }
    upsert = pg_insert(Patient).values(values)
    statement: Any = upsert.on_conflict_do_update(
        index_elements=[Patient.singpass_uuid],
        set_={
            "nric_ciphertext": upsert.excluded.nric_ciphertext,
            "nric_index": upsert.excluded.nric_index,
            "nric_masked": upsert.excluded.nric_masked,
        },
    ).returning(Patient.id, literal_column("xmax = 0").label("created"))  # xmax 0: inserted
    try:
        async with session.begin_nested():
            row = (await session.execute(statement)).one()
    except IntegrityError:
        return None
    return row.id, bool(row.created)
