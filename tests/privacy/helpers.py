"""Looking at the consents a story recorded."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def consents(session: AsyncSession, patient_id: uuid.UUID) -> list[Any]:
    """The patient's consent rows, oldest first."""
    found = (
        await session.execute(
            text("SELECT * FROM consents WHERE patient_id = :id ORDER BY given_at, notice_version"),
            {"id": patient_id},
        )
    ).all()
    await session.commit()
    return list(found)
