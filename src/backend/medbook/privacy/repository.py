"""The privacy domain's SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.privacy.models import Consent


async def has_consent(session: AsyncSession, patient_id: uuid.UUID, notice_version: str) -> bool:
    query = select(
        exists().where(Consent.patient_id == patient_id, Consent.notice_version == notice_version)
    )
    return bool(await session.scalar(query))


async def add_consent(
    session: AsyncSession, patient_id: uuid.UUID, notice_version: str, channel: str
) -> None:
    """Record the consent unless one for this version is on record already (the first stays)."""
    statement = (
        insert(Consent)
        .values(patient_id=patient_id, notice_version=notice_version, channel=channel)
        .on_conflict_do_nothing(constraint="uq_consents_patient_version")
    )
    await session.execute(statement)
