"""Small steps the booking stories share: hold, book, look at a row, move a row's clock."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from medbook.clinics.models import Service
from tests.auth import AppClient, SignedIn
from tests.factories import World

PATIENT = {"full_name": "Tan Mei Ling", "phone": "+65 9123 4567", "email": "mei.ling@example.sg"}
# What a patient sends at checkout: contact details and consent to the privacy notice.
CHECKOUT = {"patient": PATIENT, "privacy_consent": True}
PROBLEM_FIELDS = {"type", "title", "status", "code", "detail"}


@dataclass(frozen=True)
class Booking:
    """An appointment as its patient knows it: the id, and the patient's signed-in session."""

    id: str
    patient: SignedIn

    @property
    def headers(self) -> dict[str, str]:
        return self.patient.headers


def hold_body(
    world: World, start: datetime, doctor: int = 0, service: Service | None = None
) -> dict[str, str]:
    return {
        "clinic_id": str(world.clinic.id),
        "practitioner_id": str(world.doctors[doctor].id),
        "service_id": str((service or world.gp).id),
        "start": start.isoformat(),
    }


async def hold(
    client: httpx.AsyncClient,
    world: World,
    start: datetime,
    doctor: int = 0,
    service: Service | None = None,
    client_id: str = "patient",
) -> Booking:
    """A hold by the patient called `client_id` (each name is one signed-in patient)."""
    assert isinstance(client, AppClient)
    patient = await client.patient(client_id)
    response = await client.post(
        "/api/v1/holds", json=hold_body(world, start, doctor, service), headers=patient.headers
    )
    assert response.status_code == 201, response.text
    return Booking(response.json()["hold_id"], patient)


async def book(
    client: httpx.AsyncClient,
    world: World,
    start: datetime,
    doctor: int = 0,
    service: Service | None = None,
    client_id: str = "patient",
) -> Booking:
    """Hold and confirm: a confirmed appointment."""
    held = await hold(client, world, start, doctor, service, client_id)
    confirmed = await client.post(
        f"/api/v1/holds/{held.id}/confirm", json=CHECKOUT, headers=held.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return held


async def block(
    client: httpx.AsyncClient, world: World, staff_headers: dict[str, str], start: int, end: int
) -> dict[str, Any]:
    """Staff block the first doctor's time from `start` to `end` o'clock tomorrow."""
    response = await client.post(
        "/api/v1/staff/blocks",
        json={
            "clinic_id": str(world.clinic.id),
            "practitioner_id": str(world.doctors[0].id),
            "start": world.at(start).isoformat(),
            "end": world.at(end).isoformat(),
            "reason": "team meeting",
        },
        headers=staff_headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["detail"]
    return body


async def row(session: AsyncSession, appointment_id: str) -> Any:
    """The appointment's row as the database has it now."""
    result = await session.execute(
        text("SELECT * FROM appointments WHERE id = :id"), {"id": uuid.UUID(appointment_id)}
    )
    found = result.one()
    await session.commit()
    return found


async def status_in_db(session: AsyncSession, appointment_id: str) -> str:
    status: str = (await row(session, appointment_id)).status
    return status


async def count_appointments(session: AsyncSession) -> int:
    count: int = (await session.execute(text("SELECT count(*) FROM appointments"))).scalar_one()
    await session.commit()
    return count


async def move_appointment(
    session: AsyncSession, appointment_id: str, starts: timedelta | datetime
) -> None:
    """Shift a row so it starts at `starts` (or that long from the database's now), keeping its
    length and buffers: the way to put an appointment today, or in the past, without waiting.
    Give a wall-clock time when the test must not depend on the hour it runs at."""
    await session.execute(
        text(
            """
            WITH target AS (
                SELECT COALESCE(
                    CAST(:starts_at AS timestamptz), now() + CAST(:starts_in AS interval)
                ) AS at
            )
            UPDATE appointments SET
                starts_at = target.at,
                ends_at = target.at + (ends_at - starts_at),
                blocked = tstzrange(
                    target.at - (starts_at - lower(blocked)),
                    target.at + (upper(blocked) - starts_at),
                    '[)'
                )
            FROM target
            WHERE id = :id
            """
        ),
        {
            "id": uuid.UUID(appointment_id),
            "starts_in": starts if isinstance(starts, timedelta) else None,
            "starts_at": starts if isinstance(starts, datetime) else None,
        },
    )
    await session.commit()


async def age_hold(session: AsyncSession, hold_id: str, age: timedelta) -> None:
    """Make a hold `age` old by the database clock: taken then, expiring 300 s after."""
    await session.execute(
        text(
            """
            UPDATE appointments SET
                created_at = now() - CAST(:age AS interval),
                hold_expires_at = now() - CAST(:age AS interval) + interval '300 seconds'
            WHERE id = :id
            """
        ),
        {"id": uuid.UUID(hold_id), "age": age},
    )
    await session.commit()


async def offered_starts(
    client: httpx.AsyncClient, world: World, doctor: int | None = 0, service: Service | None = None
) -> set[str]:
    """Tomorrow's offered slot starts (ISO, clinic time) of one doctor, or of any with None."""
    params = {
        "service_id": str((service or world.gp).id),
        "from": world.tomorrow.isoformat(),
        "to": world.tomorrow.isoformat(),
    }
    if doctor is not None:
        params["practitioner_id"] = str(world.doctors[doctor].id)
    response = await client.get("/api/v1/availability", params=params)
    assert response.status_code == 200, response.text
    return {slot["start"] for slot in response.json()["slots"]}


def holder_lock_key(patient: SignedIn) -> int:
    """The advisory lock key booking takes per holder (repository.lock_holder), from outside."""
    holder = f"patient:{patient.id}"
    return int.from_bytes(hashlib.sha256(holder.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def holder_lock_held(
    engine: AsyncEngine, patient: SignedIn
) -> AsyncIterator[AsyncConnection]:
    """Hold that patient's lock ourselves: their hold requests stop inside the server, in the
    booking transaction, until we let go. Seeing them all wait there proves they overlapped."""
    key = holder_lock_key(patient)
    async with engine.connect() as gate:
        await gate.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        await gate.commit()
        try:
            yield gate
        finally:
            await gate.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            await gate.commit()


async def lock_waiters(gate: AsyncConnection) -> dict[str, int]:
    """Sessions of this database waiting for a lock, by what they wait for."""
    rows = await gate.execute(
        text(
            "SELECT wait_event, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' GROUP BY wait_event"
        )
    )
    waiters = {wait_event: count for wait_event, count in rows.all()}
    await gate.commit()  # pg_stat_activity is a snapshot per transaction
    return waiters


async def wait_for_waiters(gate: AsyncConnection, expected: int) -> dict[str, int]:
    # Well under lock_timeout (5 s), after which the waiting requests would give up.
    deadline = time.monotonic() + 3
    waiters = await lock_waiters(gate)
    while sum(waiters.values()) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        waiters = await lock_waiters(gate)
    return waiters
