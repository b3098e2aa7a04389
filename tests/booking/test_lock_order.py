"""Bookings queue instead of deadlocking, across API processes (ADR 0010).

Two `medbook serve` processes on one database, each request sent to them in turn:

- 500 simultaneous hold attempts on one time, with services of different lengths overlapping
  by practitioner and by room; 20 trials.
- Every kind of writer of one doctor's time at once: holds, walk-ins, blocks and moves onto
  one time, and confirms and cancels of the same doctor's other bookings; 5 trials.

Each trial must leave exactly one winner per overlapping group and every loser a plain
`409 slot_taken`, with every confirm and cancel done: no `busy`, no 5xx, and no deadlock
anywhere, counted by PostgreSQL itself (pg_stat_database, which any server has) and, where the
test can read it, found in its log. Before every trial but the first, the last winners' holds
are made to run out, so each racer also has stale holds to expire on its way in.

Races like these deadlocked only now and then before the locks (4 trials in 20 in the
report), so the control is a crossing forced step by step instead: a move and a block of one
time, paused where a deadlock needs them. Without the practitioner and room locks
(tests/booking/unordered_server.py) it must deadlock every time, and the harness must see it;
with them, the block waits its turn.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.db import asyncpg_dsn
from medbook.kernel.permissions import Role
from tests.auth import sign_in_staff
from tests.bench.data import sign_in_patients
from tests.booking.race import (
    Call,
    MixedRace,
    Outcome,
    RaceWorld,
    answers,
    backends_gone,
    build_race_world,
    client_backends,
    deadlock_lines,
    deadlocks_so_far,
    fire,
    free_everything,
    hold_race,
    log_size,
    losers,
    overlapping_pairs,
    server_log,
    unanswered_extras,
    winners,
)
from tests.live import LiveServer, start_live_server, stop_live_server

pytestmark = pytest.mark.slow

HOLD_TRIALS = int(os.environ.get("LOCK_ORDER_TRIALS", "20"))
MIXED_TRIALS = int(os.environ.get("LOCK_ORDER_MIXED_TRIALS", "5"))
ATTEMPTS = 500
ORDERED = "medbook"
UNORDERED = "tests.booking.unordered_server"


# 20 connections each, not 30: the suite's own servers keep theirs open beside these, under
# PostgreSQL's 100.
POOL = {"MEDBOOK_DB_POOL_SIZE": "10", "MEDBOOK_DB_POOL_OVERFLOW": "10"}


@contextmanager
def api_processes(url: str, logs: Path, module: str) -> Iterator[list[LiveServer]]:
    servers: list[LiveServer] = []
    try:
        for number in range(2):
            log = logs / f"api-{number}.log"
            servers.append(start_live_server(url, log, module=module, **POOL))
        yield servers
    finally:
        for server in servers:
            stop_live_server(server)


def losers_summary(outcomes: list[Outcome]) -> str:
    seconds = sorted(o.seconds for o in losers(outcomes))
    if not seconds:
        return "no losers"
    p99 = seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))]
    return (
        f"losers p50 {seconds[len(seconds) // 2]:.3f} s, p99 {p99:.3f} s, max {seconds[-1]:.3f} s"
    )


def problems(trial: int, outcomes: list[Outcome], groups: set[str]) -> list[str]:
    """What is wrong with one trial's answers, if anything."""
    found = []
    if winners(outcomes) != dict.fromkeys(groups, 1):
        found.append(f"trial {trial}: winners {dict(winners(outcomes))}")
    unclean = {(o.kind, o.status, o.code) for o in losers(outcomes)} - {
        (o.kind, 409, "slot_taken") for o in outcomes
    }
    if unclean:
        found.append(f"trial {trial}: losers answered {sorted(unclean)}")
    if failed := unanswered_extras(outcomes):
        found.append(f"trial {trial}: {[(o.kind, o.status, o.code) for o in failed]}")
    return found


class Deadlocks:
    """PostgreSQL's deadlock count (and log, if readable) around a run of API processes."""

    async def start(self, url: str) -> None:
        self.url = url
        self.log = await server_log(url)
        self.log_from = log_size(self.log)
        self.before = await deadlocks_so_far(url)
        self.own_backends = await client_backends(url)

    async def servers_backends(self) -> set[int]:
        return await client_backends(self.url) - self.own_backends

    async def since_start(self, servers_backends: set[int]) -> tuple[int, list[str]]:
        """Counted once the servers' backends have gone, and so have added theirs."""
        await backends_gone(self.url, servers_backends)
        counted = await deadlocks_so_far(self.url) - self.before
        print(f"PostgreSQL log: {self.log or 'not readable here'}; {counted} deadlocks counted")
        return counted, deadlock_lines(self.log, self.log_from)


async def run_trials(
    url: str,
    logs: Path,
    trials: int,
    next_race: Callable[[int], Awaitable[list[Call]]],
    groups: set[str],
) -> tuple[list[str], int, list[str], list[str]]:
    """Run the races on two fresh API processes: (problems, deadlocks counted, deadlock lines
    in PostgreSQL's log, the API processes' logs)."""
    deadlocks = Deadlocks()
    await deadlocks.start(url)
    found: list[str] = []
    with api_processes(url, logs, ORDERED) as servers:
        for trial in range(trials):
            outcomes = await fire([s.url for s in servers], await next_race(trial))
            print(f"trial {trial}: {dict(answers(outcomes))}; {losers_summary(outcomes)}")
            found += problems(trial, outcomes, groups)
        backends = await deadlocks.servers_backends()
    counted, lines = await deadlocks.since_start(backends)
    return found, counted, lines, [s.log_path.read_text() for s in servers]


async def test_500_simultaneous_holds_on_two_processes_queue_without_deadlock(
    session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    race = await build_race_world(session)
    calls = hold_race(race, await sign_in_patients(database_url, ATTEMPTS), ATTEMPTS)

    async def next_race(trial: int) -> list[Call]:
        await free_everything(database_url)
        return calls

    found, deadlocks, log_lines, api_logs = await run_trials(
        database_url, tmp_path, HOLD_TRIALS, next_race, {"A", "B", "C"}
    )

    assert found == []
    assert deadlocks == 0
    assert log_lines == []
    assert await overlapping_pairs(database_url) == 0
    for text in api_logs:
        assert "deadlock" not in text
        assert "Traceback" not in text


async def mixed_race(session: AsyncSession, url: str) -> MixedRace:
    race = await build_race_world(session)
    staff = [(await sign_in_staff(session, (Role.RECEPTIONIST, None))).headers for _ in range(4)]
    return MixedRace(race, await sign_in_patients(url, 170), staff, url)


async def test_every_kind_of_writer_of_one_time_queues_without_deadlock(
    session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    race = await mixed_race(session, database_url)

    async def next_race(trial: int) -> list[Call]:
        return await race.prepare_trial()

    found, deadlocks, log_lines, api_logs = await run_trials(
        database_url, tmp_path, MIXED_TRIALS, next_race, {"A", "C"}
    )

    assert found == []
    assert deadlocks == 0
    assert log_lines == []
    assert await overlapping_pairs(database_url) == 0
    for text in api_logs:
        assert "deadlock" not in text
        assert "Traceback" not in text


@pytest.mark.parametrize(
    ("module", "deadlock"),
    [(ORDERED, False), (UNORDERED, True)],
    ids=["lock-order", "control-without-lock-order"],
)
async def test_a_move_and_a_block_crossing_on_one_time_queue_instead_of_deadlocking(
    session: AsyncSession, database_url: str, tmp_path: Path, module: str, deadlock: bool
) -> None:
    """The move steps its old appointment aside, then inserts the new one; the block inserts
    between the two. Every write to appointments also writes the change feed, so holding the
    feed's table lock pauses the move right after its first write.

    Without the locks, the block then waits for the move (its old row is being changed) and
    the move for the block (its new row overlaps the block's): PostgreSQL must abort one, and
    its request answers `409 busy`. With them, the block waits for the move's booking lock
    before it writes anything, and loses cleanly once the move has committed.
    """
    race = await build_race_world(session)
    world = race.world
    # Two receptionists: requests of one session can wait for each other (its last-seen time).
    mover, blocker = [
        (await sign_in_staff(session, (Role.RECEPTIONIST, None))).headers for _ in range(2)
    ]
    # Physio 10:00-10:30 plus 10 minutes after: it moves to 10:30, overlapping its old time.
    old_id = await insert_physio(database_url, race, world.at(10))
    move = Call(
        "reschedule",
        "A",
        f"/api/v1/staff/appointments/{old_id}/reschedule",
        {"start": world.at(10, 30).isoformat()},
        mover,
    )
    block = Call(
        "block",
        "A",
        "/api/v1/staff/blocks",
        {
            "clinic_id": race.clinic_id,
            "practitioner_id": str(world.doctors[0].id),
            "start": world.at(10, 35).isoformat(),
            "end": world.at(10, 45).isoformat(),
            "reason": "crossing",
        },
        blocker,
    )
    deadlocks = Deadlocks()
    await deadlocks.start(database_url)

    with api_processes(database_url, tmp_path, module) as servers:
        gate = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            async with gate.transaction():
                await gate.execute("LOCK TABLE change_events IN EXCLUSIVE MODE")
                moving = asyncio.create_task(send(servers[0].url, move))
                await waiting_for_locks(gate, 1)  # the move, paused after its first write
                blocking = asyncio.create_task(send(servers[1].url, block))
                await waiting_for_locks(gate, 2)  # and the block, waiting for the move
            moved, blocked = await moving, await blocking
        finally:
            await gate.close()
        backends = await deadlocks.servers_backends()
    counted, log_lines = await deadlocks.since_start(backends)

    answered = sorted([(moved.status, moved.code), (blocked.status, blocked.code)])
    if deadlock:
        assert (409, "busy") in answered, answered
        assert counted == 1
        assert len(log_lines) == 1 or deadlocks.log is None
    else:
        assert (moved.status, blocked.status, blocked.code) == (201, 409, "slot_taken")
        assert counted == 0
        assert log_lines == []
    assert await overlapping_pairs(database_url) == 0


async def insert_physio(url: str, race: RaceWorld, start: datetime) -> uuid.UUID:
    """Doctor 1's confirmed physiotherapy in Room 1 (30 minutes and 10 after), made directly."""
    w, end = race.world, start + timedelta(minutes=30)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        patient_id = await connection.fetchval(
            "INSERT INTO patients (singpass_uuid) VALUES ($1) RETURNING id", str(uuid.uuid4())
        )
        found: uuid.UUID = await connection.fetchval(
            """
            INSERT INTO appointments (kind, status, clinic_id, practitioner_id, room_id,
                                      service_id, patient_id, starts_at, ends_at, blocked, source)
            VALUES ('appointment', 'confirmed', $1, $2, $3, $4, $5, $6, $7, $8, 'staff')
            RETURNING id
            """,
            w.clinic.id,
            w.doctors[0].id,
            w.rooms[0].id,
            race.physio.id,
            patient_id,
            start,
            end,
            asyncpg.Range(start, end + timedelta(minutes=10)),
        )
        return found
    finally:
        await connection.close()


async def send(server_url: str, call: Call) -> Outcome:
    (outcome,) = await fire([server_url], [call])
    return outcome


async def waiting_for_locks(gate: asyncpg.Connection, expected: int) -> None:
    """Wait until `expected` other sessions of this database wait for a lock (within 3 s,
    well inside lock_timeout)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        waiting = await gate.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting >= expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {expected} requests are waiting for a lock")
