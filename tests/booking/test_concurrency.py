"""No double booking, proven with many real connections against a running server.

Each group is a set of hold attempts that all overlap one another (they share an instant), so
exactly one attempt per group may win. A control run with the exclusion constraints dropped
must show the race, or the harness could not have caught one.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.kernel.statuses import active_statuses_sql
from tests.auth import sign_in_patient
from tests.conftest import truncate_all
from tests.factories import World, make_racing_services, make_world
from tests.live import LiveServer

pytestmark = pytest.mark.slow

OVERLAPS = f"""
SELECT count(*) FROM appointments a JOIN appointments b
  ON a.id < b.id AND a.blocked && b.blocked
 AND (a.practitioner_id = b.practitioner_id OR a.room_id = b.room_id)
 WHERE a.status IN ({active_statuses_sql()}) AND b.status IN ({active_statuses_sql()})
"""
CONSTRAINTS = ("no_overlap_per_practitioner", "no_overlap_per_room")


@dataclass(frozen=True)
class Attempt:
    group: str
    service_id: str
    start: datetime


async def build_attempts(session: AsyncSession) -> tuple[World, list[Attempt]]:
    world = await make_world(session)
    physio, vaccination = await make_racing_services(session, world)
    await session.commit()
    gp, screening = str(world.gp.id), str(world.screening.id)
    # Group A: 200 attempts on one 15-minute slot, mixed with other lengths that all cover 10:20.
    group_a = (
        [Attempt("A", gp, world.at(10, 15))] * 200
        + [Attempt("A", screening, world.at(10, 0))] * 20
        + [Attempt("A", str(physio.id), world.at(10, 0))] * 20
        + [Attempt("A", str(vaccination.id), world.at(10, 10))] * 20
    )
    # Group B, later the same day: every attempt covers 15:20.
    group_b = (
        [Attempt("B", str(physio.id), world.at(15, 0))] * 20
        + [Attempt("B", gp, world.at(15, 15))] * 20
        + [Attempt("B", screening, world.at(14, 45))] * 20
    )
    attempts = group_a + group_b
    random.Random(7).shuffle(attempts)
    return world, attempts


async def fire(
    live_server: LiveServer, session: AsyncSession, world: World, attempts: list[Attempt]
) -> list[tuple[str, int, str]]:
    """Send every attempt at once, each as a different patient, on its own connection."""
    patients = [await sign_in_patient(session) for _ in attempts]
    limits = httpx.Limits(max_connections=len(attempts), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, limits=limits, timeout=60) as http:
        start_line = asyncio.Event()

        async def attempt(number: int, item: Attempt) -> tuple[str, int, str]:
            body = {
                "clinic_id": str(world.clinic.id),
                "practitioner_id": str(world.doctors[0].id),
                "service_id": item.service_id,
                "start": item.start.isoformat(),
            }
            await start_line.wait()
            response = await http.post("/api/v1/holds", json=body, headers=patients[number].headers)
            code = response.json().get("code", "") if response.status_code >= 400 else ""
            return item.group, response.status_code, code

        tasks = [asyncio.create_task(attempt(n, item)) for n, item in enumerate(attempts)]
        await asyncio.sleep(0.2)  # let every task reach the start line
        start_line.set()
        return await asyncio.gather(*tasks)


async def overlapping_pairs(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(OVERLAPS))).scalar_one())


async def test_simultaneous_holds_leave_exactly_one_winner_per_overlapping_group(
    live_server: LiveServer, session: AsyncSession, engine: AsyncEngine
) -> None:
    world, attempts = await build_attempts(session)

    results = await fire(live_server, session, world, attempts)

    statuses = Counter(status for _, status, _ in results)
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {201, 409}, statuses
    winners = Counter(group for group, status, _ in results if status == 201)
    assert winners == {"A": 1, "B": 1}, (winners, statuses)
    assert {code for _, status, code in results if status == 409} == {"slot_taken"}
    assert await overlapping_pairs(engine) == 0


async def test_control_without_the_constraints_the_harness_sees_the_race(
    live_server: LiveServer, session: AsyncSession, engine: AsyncEngine
) -> None:
    async with engine.connect() as connection:
        definitions = {
            name: (
                await connection.execute(
                    text(
                        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"
                    ),
                    {"name": name},
                )
            ).scalar_one()
            for name in CONSTRAINTS
        }
    world, attempts = await build_attempts(session)
    async with engine.begin() as connection:
        for name in CONSTRAINTS:
            await connection.execute(text(f"ALTER TABLE appointments DROP CONSTRAINT {name}"))
    try:
        race_seen = False
        for _ in range(5):  # a race is a matter of timing: give it a few chances
            results = await fire(live_server, session, world, attempts)
            winners = Counter(group for group, status, _ in results if status == 201)
            if max(winners.values(), default=0) > 1 and await overlapping_pairs(engine) > 0:
                race_seen = True
                break
            async with engine.begin() as connection:
                await connection.execute(text("DELETE FROM appointments"))
        assert race_seen, "with the constraints dropped, concurrent holds should double-book"
    finally:
        await truncate_all(engine)
        async with engine.begin() as connection:
            for name, definition in definitions.items():
                await connection.execute(
                    text(f"ALTER TABLE appointments ADD CONSTRAINT {name} {definition}")
                )
