"""Faults, with real restarts: the database restarted and stopped for 10 s under hold-and-confirm
traffic from 8 clients, on a PostgreSQL server of the test's own.

What must hold: no booking lost or made twice; no 500 (a 503 with Retry-After while the
database is away); the first success within a second of the database's return, with no restart
of ours; a staff WebSocket whose session was revoked just before the outage is closed within
5 s of the database coming back (it may not go on receiving the clinic's schedule).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook import schema
from medbook.db import create_engine, ensure_database_exists, session_factory
from medbook.kernel.permissions import Role
from medbook.settings import REPO_ROOT, get_settings
from tests.auth import SignedIn, sign_in_patient, sign_in_staff
from tests.booking.helpers import CHECKOUT, hold_body
from tests.factories import World, make_world
from tests.live import LiveServer, start_live_server, stop_live_server
from tests.private_postgres import PrivatePostgres

CLIENTS = 8
OUTAGE_SECONDS = 10


@dataclass
class Outcome:
    """What one client saw: each answer's status and when (time.monotonic()), and the bookings
    it was told of."""

    statuses: list[tuple[float, int]] = field(default_factory=list)
    booked: list[str] = field(default_factory=list)  # confirmed appointment ids
    retry_after_missing: int = 0


@dataclass
class Faulty:
    postgres: PrivatePostgres
    server: LiveServer
    engine: AsyncEngine


@pytest.fixture(scope="module")
async def faulty(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Faulty]:
    postgres = PrivatePostgres(REPO_ROOT / ".data" / f"fault-postgres-{os.getpid()}")
    postgres.start()
    url = postgres.url("medbook")
    await ensure_database_exists(url)
    await asyncio.to_thread(schema.upgrade, url)  # it runs its own event loop
    server = start_live_server(
        url,
        tmp_path_factory.mktemp("faults") / "server.log",
        MEDBOOK_DB_POOL_TIMEOUT_SECONDS="2",
        MEDBOOK_WS_SESSION_CHECK_SECONDS="30",
    )
    engine = create_engine(url, get_settings())
    yield Faulty(postgres, server, engine)
    stop_live_server(server)
    await engine.dispose()
    postgres.remove()


@pytest.fixture
async def faulty_session(faulty: Faulty) -> AsyncIterator[AsyncSession]:
    async with session_factory(faulty.engine)() as session:
        await session.execute(
            text(
                "TRUNCATE appointments, user_sessions, patients, staff_roles, "
                "staff_members, weekly_availability, practitioner_services, "
                "rooms, services, practitioners, clinics, idempotent_requests, "
                "change_events, audit_events, consents CASCADE"
            )
        )
        await session.commit()
        yield session


def starts(world: World, client: int) -> Iterator[datetime]:
    """Client `client`'s own times, never another's: its doctor and its quarter hours."""
    doctor_day = world.tomorrow + timedelta(days=1 + client // 2)
    first = world.at(8, day=doctor_day) + timedelta(minutes=(client % 2) * 15)
    for slot in range(24):
        yield first + timedelta(minutes=30 * slot)


async def book_until(
    server: str, world: World, patient: SignedIn, client: int, stop: asyncio.Event, out: Outcome
) -> None:
    """Hold then confirm, again and again, each step retried with its Idempotency-Key until it
    is answered for sure: a 503 means try again, never "maybe it happened"."""
    async with httpx.AsyncClient(base_url=server, headers=patient.headers, timeout=20) as http:

        async def until_answered(path: str, body: dict[str, object]) -> httpx.Response:
            key = uuid.uuid4().hex
            while True:
                try:
                    response = await http.post(path, json=body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    out.statuses.append((time.monotonic(), 0))
                    await asyncio.sleep(0.1)
                    continue
                out.statuses.append((time.monotonic(), response.status_code))
                if response.status_code != 503:
                    return response
                if "retry-after" not in response.headers:
                    out.retry_after_missing += 1
                await asyncio.sleep(0.1)

        for start in starts(world, client):
            if stop.is_set():
                return
            doctor = client % len(world.doctors)
            held = await until_answered("/api/v1/holds", hold_body(world, start, doctor))
            if held.status_code != 201:
                continue
            confirmed = await until_answered(
                f"/api/v1/holds/{held.json()['hold_id']}/confirm", CHECKOUT
            )
            if confirmed.status_code == 200:
                out.booked.append(confirmed.json()["id"])


async def traffic_through(
    faulty: Faulty, world: World, patients: list[SignedIn], fault: object
) -> tuple[list[Outcome], float, float]:
    """Run the clients, break the database with `fault` (a callable that returns when the
    database is back) part-way; answers the outcomes, and when the fault began and ended."""
    stop = asyncio.Event()
    outcomes = [Outcome() for _ in patients]
    clients = [
        asyncio.create_task(
            book_until(faulty.server.url, world, patient, index, stop, outcomes[index])
        )
        for index, patient in enumerate(patients)
    ]
    await asyncio.sleep(1.5)
    fault_began = time.monotonic()
    await asyncio.to_thread(fault)  # type: ignore[arg-type]
    back = time.monotonic()
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*clients)
    return outcomes, fault_began, back


async def check_bookings(engine: AsyncEngine, outcomes: list[Outcome]) -> None:
    told = [booking for outcome in outcomes for booking in outcome.booked]
    assert len(told) == len(set(told))
    await engine.dispose()  # the test's own pooled connections did not survive the fault
    async with session_factory(engine)() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT id::text, patient_id, starts_at, status FROM appointments "
                    "WHERE status IN ('confirmed', 'held')"
                )
            )
        ).all()
    confirmed = {row.id for row in rows if row.status == "confirmed"}
    assert set(told) <= confirmed, "a booking the client was told of is missing"
    assert confirmed <= set(told), "a booking exists that no client was told of"
    per_time = [(row.patient_id, row.starts_at) for row in rows]
    assert len(per_time) == len(set(per_time)), "one patient holds one time twice"


def check_answers(outcomes: list[Outcome], fault_began: float, back: float) -> None:
    statuses = [entry for outcome in outcomes for entry in outcome.statuses]
    assert not [s for s in statuses if s[1] >= 500 and s[1] != 503], "a 5xx other than 503"
    assert not [s for s in statuses if s[1] == 0], "a connection was lost"
    late = [
        at - back for at, status in statuses if status == 503 and not fault_began <= at <= back + 1
    ]
    assert not late, f"503s after the outage (seconds after the return): {late[:5]}"
    assert sum(outcome.retry_after_missing for outcome in outcomes) == 0
    first_success = min(
        (at for at, status in statuses if at >= back and status < 300), default=None
    )
    assert first_success is not None, "nothing succeeded after the database came back"
    assert first_success - back < 1.0, f"first success {first_success - back:.2f} s after return"
    print(  # for the record (pytest -s): what the clients saw
        f"fault: {len(statuses)} answers, {sum(s[1] == 503 for s in statuses)} x 503, first "
        f"success {first_success - back:.2f} s after the return, "
        f"{sum(len(o.booked) for o in outcomes)} bookings"
    )
    assert sum(len(outcome.booked) for outcome in outcomes) > CLIENTS


async def people(session: AsyncSession) -> tuple[World, list[SignedIn]]:
    world = await make_world(session)
    patients = [await sign_in_patient(session, full_name=f"Patient {n}") for n in range(CLIENTS)]
    await session.commit()
    return world, patients


async def test_a_database_restart_under_traffic_loses_nothing(
    faulty: Faulty, faulty_session: AsyncSession
) -> None:
    world, patients = await people(faulty_session)

    outcomes, began, back = await traffic_through(faulty, world, patients, faulty.postgres.restart)

    check_answers(outcomes, began, back)
    await check_bookings(faulty.engine, outcomes)


async def test_a_ten_second_outage_answers_503_and_recovers_at_once(
    faulty: Faulty, faulty_session: AsyncSession
) -> None:
    world, patients = await people(faulty_session)
    staff = await sign_in_staff(faulty_session, (Role.RECEPTIONIST, world.clinic.id))
    ws_url = faulty.server.url.replace("http", "ws", 1) + "/api/v1/ws"
    socket = await websockets.connect(
        ws_url, additional_headers={"Cookie": staff.cookie_only["Cookie"]}
    )
    await socket.send(
        json.dumps(
            {
                "type": "subscribe",
                "channel": "staff",
                "clinic_ids": [str(world.clinic.id)],
                "from": world.tomorrow.isoformat(),
                "to": (world.tomorrow + timedelta(days=6)).isoformat(),
            }
        )
    )
    assert '"subscribed"' in await asyncio.wait_for(socket.recv(), 10)
    # Revoked just before the outage: the socket's next regular check is 30 s away.
    await faulty_session.execute(
        text("UPDATE user_sessions SET revoked_at = now() WHERE staff_id = :id"), {"id": staff.id}
    )
    await faulty_session.commit()

    def outage() -> None:
        faulty.postgres.stop()
        time.sleep(OUTAGE_SECONDS)
        faulty.postgres.start()

    closed_at: list[float] = []

    async def watch_socket() -> None:
        try:
            async for _ in socket:
                pass
        except websockets.ConnectionClosed:
            pass
        closed_at.append(time.monotonic())

    watcher = asyncio.create_task(watch_socket())
    outcomes, began, back = await traffic_through(faulty, world, patients, outage)
    await asyncio.wait_for(watcher, 10)

    check_answers(outcomes, began, back)
    assert any(status == 503 for o in outcomes for _, status in o.statuses)
    await check_bookings(faulty.engine, outcomes)
    # Closed for good: either while the database was away (its session could not be checked
    # for a few seconds: 1013) or once it was back (the session is gone: 4401).
    assert socket.close_code in (1013, 4401), socket.close_code
    assert closed_at[0] - back < 5, f"closed {closed_at[0] - back:.1f} s after the return"
    print(f"socket closed {socket.close_code}, {closed_at[0] - began:.1f} s into the outage")


async def test_an_exhausted_pool_answers_503_and_keeps_the_connection(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    """Two pooled connections, both stuck behind a lock the test holds: the other requests
    wait their pool timeout and get 503 with Retry-After, on connections that stay usable."""
    await make_world(session)
    server = start_live_server(
        database_url,
        tmp_path / "server.log",
        MEDBOOK_DB_POOL_SIZE="2",
        MEDBOOK_DB_POOL_OVERFLOW="0",
        MEDBOOK_DB_POOL_TIMEOUT_SECONDS="0.5",
        MEDBOOK_HOLD_EXPIRY_WORKER="false",
    )
    try:
        await session.execute(text("LOCK TABLE clinics IN ACCESS EXCLUSIVE MODE"))
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=20) as http:
            waiting = [asyncio.create_task(http.get("/api/v1/clinics")) for _ in range(20)]
            await asyncio.sleep(1.5)
            await session.rollback()  # the lock goes; the two stuck requests finish
            answers = await asyncio.gather(*waiting)
            again = await asyncio.gather(*(http.get("/api/v1/clinics") for _ in range(20)))
    finally:
        stop_live_server(server)

    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) >= 10, statuses
    for refused in (answer for answer in answers if answer.status_code == 503):
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["code"] == "database_unavailable"
    assert [answer.status_code for answer in again] == [200] * 20
    assert "Traceback" not in server.log_path.read_text()
