"""Idempotency-Key: a retried POST gets its first answer back and books nothing new."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.db import session_factory
from medbook.idempotency.tasks import prune_idempotency_keys
from tests.auth import patient_headers, sign_in_patient
from tests.booking.helpers import (
    PATIENT,
    assert_problem,
    count_appointments,
    hold,
    hold_body,
    holder_lock_held,
    wait_for_waiters,
)
from tests.factories import World, make_world
from tests.live import LiveServer

HOLDS = "/api/v1/holds"


async def keyed(client: httpx.AsyncClient, key: str, client_id: str = "same") -> dict[str, str]:
    """The Idempotency-Key header, sent by the signed-in patient called `client_id`."""
    return {"Idempotency-Key": key} | await patient_headers(client, client_id)


async def stored_keys(session: AsyncSession) -> int:
    count: int = (
        await session.execute(text("SELECT count(*) FROM idempotent_requests"))
    ).scalar_one()
    await session.commit()
    return count


async def test_a_retried_hold_replays_the_first_answer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    body = hold_body(world, world.at(10))

    first = await client.post(HOLDS, json=body, headers=await keyed(client, "checkout-1"))
    retry = await client.post(HOLDS, json=body, headers=await keyed(client, "checkout-1"))

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await count_appointments(session) == 1


async def test_a_key_reused_with_a_different_body_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    await client.post(
        HOLDS, json=hold_body(world, world.at(10)), headers=await keyed(client, "checkout-1")
    )

    reused = await client.post(
        HOLDS, json=hold_body(world, world.at(11)), headers=await keyed(client, "checkout-1")
    )

    assert_problem(reused, 422, "idempotency_key_reused")
    assert await count_appointments(session) == 1


async def test_a_failed_request_is_not_stored_so_its_retry_runs_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    rival = await hold(client, world, world.at(10), client_id="rival")
    body = hold_body(world, world.at(10))
    refused = await client.post(HOLDS, json=body, headers=await keyed(client, "checkout-1"))
    assert_problem(refused, 409, "slot_taken")
    assert await stored_keys(session) == 0
    await client.delete(f"{HOLDS}/{rival.id}", headers=rival.headers)

    retry = await client.post(HOLDS, json=body, headers=await keyed(client, "checkout-1"))

    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers


async def test_two_clients_may_use_the_same_key_for_different_holds(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    mine = await client.post(
        HOLDS, json=hold_body(world, world.at(10)), headers=await keyed(client, "1", "a")
    )

    theirs = await client.post(
        HOLDS, json=hold_body(world, world.at(11)), headers=await keyed(client, "1", "b")
    )

    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["hold_id"] != mine.json()["hold_id"]
    assert await count_appointments(session) == 2


async def test_an_unusable_key_is_refused(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await make_world(session)

    response = await client.post(
        HOLDS, json=hold_body(world, world.at(10)), headers=await keyed(client, "k" * 256)
    )

    assert_problem(response, 422, "invalid_idempotency_key")
    assert await count_appointments(session) == 0


def walk_in_body(world: World) -> dict[str, Any]:
    return hold_body(world, world.at(10)) | {"patient": PATIENT}


def block_body(world: World) -> dict[str, Any]:
    return {
        "clinic_id": str(world.clinic.id),
        "practitioner_id": str(world.doctors[0].id),
        "start": world.at(12).isoformat(),
        "end": world.at(13).isoformat(),
        "reason": "team meeting",
    }


STAFF_POSTS = [("/api/v1/staff/walk-ins", walk_in_body), ("/api/v1/staff/blocks", block_body)]


@pytest.mark.parametrize(("path", "body_of"), STAFF_POSTS, ids=["walk-in", "block"])
async def test_a_retried_staff_booking_replays_and_creates_one_row(
    client: httpx.AsyncClient,
    session: AsyncSession,
    staff_headers: dict[str, str],
    path: str,
    body_of: Any,
) -> None:
    world = await make_world(session)
    headers = staff_headers | {"Idempotency-Key": "desk-1"}

    first = await client.post(path, json=body_of(world), headers=headers)
    retry = await client.post(path, json=body_of(world), headers=headers)

    assert first.status_code == retry.status_code == 201, first.text
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await count_appointments(session) == 1


# --- real parallel requests against a live server --------------------------------------------


async def test_twenty_parallel_requests_with_one_key_make_one_hold(
    session: AsyncSession, engine: AsyncEngine, live_server: LiveServer
) -> None:
    world = await make_world(session)
    body = hold_body(world, world.at(10))

    patient = await sign_in_patient(session)
    headers = {"Idempotency-Key": "checkout-1"} | patient.headers

    async with httpx.AsyncClient(base_url=live_server.url, timeout=15) as http:
        async with holder_lock_held(engine, patient) as gate:
            requests = asyncio.gather(
                *(http.post(HOLDS, json=body, headers=headers) for _ in range(20))
            )
            waiters = await wait_for_waiters(gate, 20)
        responses = await requests

    # The first request waited inside the booking, the other nineteen behind its key.
    assert waiters == {"advisory": 1, "transactionid": 19}
    assert [response.status_code for response in responses] == [201] * 20
    assert len({response.json()["hold_id"] for response in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert await count_appointments(session) == 1


@pytest.mark.parametrize(("path", "body_of"), STAFF_POSTS, ids=["walk-in", "block"])
async def test_parallel_staff_requests_with_one_key_make_one_row(
    session: AsyncSession,
    live_server: LiveServer,
    staff_headers: dict[str, str],
    path: str,
    body_of: Any,
) -> None:
    world = await make_world(session)
    headers = staff_headers | {"Idempotency-Key": "desk-1"}

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        responses = await asyncio.gather(
            *(http.post(path, json=body_of(world), headers=headers, timeout=15) for _ in range(10))
        )

    assert [response.status_code for response in responses] == [201] * 10
    assert len({response.json()["id"] for response in responses}) == 1
    assert await count_appointments(session) == 1


async def test_the_hourly_job_forgets_answers_past_their_time_and_keeps_the_others(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine
) -> None:
    world = await make_world(session)
    for n, client_id in enumerate(("old", "fresh")):
        response = await client.post(
            HOLDS,
            json=hold_body(world, world.at(10 + n)),
            headers=await keyed(client, f"key-{client_id}", client_id),
        )
        assert response.status_code == 201, response.text
    await session.execute(
        text(
            "UPDATE idempotent_requests SET created_at = now() - interval '25 hours' "
            "WHERE key = 'key-old'"
        )
    )
    await session.commit()

    await prune_idempotency_keys(session_factory(engine), ttl_hours=24)

    keys = (await session.execute(text("SELECT key FROM idempotent_requests"))).scalars().all()
    await session.commit()
    assert keys == ["key-fresh"]
