"""Holds through the API: the 300-second checkout hold and its edges."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.settings import get_settings
from tests.auth import AppClient, patient_headers
from tests.factories import World, make_world


def hold_body(
    world: World, hour: int = 10, minute: int = 0, doctor: int = 0, service=None
) -> dict[str, str]:
    return {
        "clinic_id": str(world.clinic.id),
        "practitioner_id": str(world.doctors[doctor].id),
        "service_id": str((service or world.gp).id),
        "start": world.at(hour, minute).isoformat(),
    }


async def test_a_hold_lasts_exactly_300_seconds_of_database_time(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)

    patient = await client.patient()

    response = await client.post("/api/v1/holds", json=hold_body(world), headers=patient.headers)

    assert response.status_code == 201, response.text
    hold = response.json()
    row = (
        await session.execute(
            text(
                "SELECT status, patient_id, hold_expires_at - created_at AS ttl "
                "FROM appointments WHERE id = :id"
            ),
            {"id": hold["hold_id"]},
        )
    ).one()
    assert row.status == "held"
    assert row.patient_id == patient.id
    assert row.ttl.total_seconds() == 300
    assert hold["appointment"]["start"] == world.at(10).isoformat()


async def test_an_overlapping_hold_is_refused_with_a_code(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    first = await client.post(
        "/api/v1/holds", json=hold_body(world), headers=await patient_headers(client, "a")
    )
    assert first.status_code == 201

    second = await client.post(
        "/api/v1/holds",
        json=hold_body(world, service=world.screening, hour=9, minute=30),
        headers=await patient_headers(client, "b"),
    )

    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["code"] == "slot_taken"


async def test_holding_too_often_is_rate_limited_per_person(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDBOOK_HOLD_RATE_LIMIT", "2/minute")
    get_settings.cache_clear()
    from medbook.app import create_app

    world = await make_world(session)
    app = create_app()
    async with app.router.lifespan_context(app), AppClient(app, base_url="https://t") as client:
        eager = await client.patient("eager")
        answers = [
            await client.post(
                "/api/v1/holds", json=hold_body(world, hour=9 + n), headers=eager.headers
            )
            for n in range(3)
        ]
        other = await client.post(
            "/api/v1/holds",
            json=hold_body(world, hour=14),
            headers=await patient_headers(client, "calm"),
        )
    get_settings.cache_clear()

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) > 0
    assert other.status_code == 201
