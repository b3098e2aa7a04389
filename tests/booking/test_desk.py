"""The front desk: walk-ins for a patient found by search."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth import AppClient, SignedIn
from tests.booking.helpers import (
    PATIENT,
    assert_problem,
    count_appointments,
    hold_body,
    row,
)
from tests.factories import make_world

WALK_INS = "/api/v1/staff/walk-ins"


async def count_patients(session: AsyncSession) -> int:
    count: int = (await session.execute(text("SELECT count(*) FROM patients"))).scalar_one()
    await session.commit()
    return count


# --- walk-ins for a patient on record --------------------------------------------------------


async def test_a_walk_in_for_a_patient_on_record_books_that_patient(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    known = await client.patient("known")
    before = await count_patients(session)

    response = await client.post(
        WALK_INS,
        json=hold_body(world, world.at(10)) | {"patient_id": str(known.id)},
        headers=staff.headers,
    )

    assert response.status_code == 201, response.text
    assert (await row(session, response.json()["id"])).patient_id == known.id
    assert await count_patients(session) == before


@pytest.mark.parametrize("who", ["both", "neither"])
async def test_a_walk_in_names_its_patient_exactly_once(
    client: AppClient, session: AsyncSession, staff: SignedIn, who: str
) -> None:
    world = await make_world(session)
    known = await client.patient("known")
    patient: dict[str, Any] = (
        {"patient_id": str(known.id), "patient": PATIENT} if who == "both" else {}
    )

    response = await client.post(
        WALK_INS, json=hold_body(world, world.at(10)) | patient, headers=staff.headers
    )

    problem = assert_problem(response, 422, "validation_failed")
    assert "either patient_id" in problem["detail"]
    assert await count_appointments(session) == 0


async def test_a_walk_in_for_an_unknown_patient_is_not_found(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)

    response = await client.post(
        WALK_INS,
        json=hold_body(world, world.at(10)) | {"patient_id": str(uuid.uuid4())},
        headers=staff.headers,
    )

    assert_problem(response, 404, "patient_not_found")
    assert await count_appointments(session) == 0
