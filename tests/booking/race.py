"""Many simultaneous bookings of one time, sent to one or more real API processes.

The harness behind the lock-order proof (tests/booking/test_lock_order.py) and the race
benchmark (tests/bench/race.py). Each group is a set of attempts that all overlap one another,
by practitioner or by room, with services of different lengths, so exactly one attempt per
group may win. Requests go to the servers in turn, as a load balancer would spread them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import Practitioner, Service
from medbook.db import asyncpg_dsn
from medbook.kernel.statuses import active_statuses_sql
from tests.bench.data import SignedInPatient
from tests.bench.http import KeepAliveConnection
from tests.factories import (
    World,
    make_practitioner,
    make_racing_services,
    make_weekly_hours,
    make_world,
)

OVERLAPS = f"""
SELECT count(*) FROM appointments a JOIN appointments b
  ON a.id < b.id AND a.blocked && b.blocked
 AND (a.practitioner_id = b.practitioner_id OR a.room_id = b.room_id)
 WHERE a.status IN ({active_statuses_sql()}) AND b.status IN ({active_statuses_sql()})
   AND (a.status <> 'held' OR a.hold_expires_at > now())
   AND (b.status <> 'held' OR b.hold_expires_at > now())
"""
CHECKOUT = {
    "patient": {"full_name": "Tan Mei Ling", "phone": "+65 9123 4567"},
    "privacy_consent": True,
}


@dataclass(frozen=True)
class Call:
    """One request of a race: `group` is the overlapping group it competes in, or None for a
    request that competes with nobody and must succeed (a confirm, a cancel)."""

    kind: str
    group: str | None
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class Outcome:
    kind: str
    group: str | None
    status: int
    code: str
    detail: str
    seconds: float  # from the start line to the answer
    server: int  # which server answered


@dataclass(frozen=True)
class RaceWorld:
    """make_world's clinic, plus a third doctor who shares Room 1 with the first, and two
    more services, so attempts overlap by practitioner and by room with different lengths."""

    world: World
    shared_room_doctor: Practitioner
    physio: Service
    vaccination: Service

    @property
    def clinic_id(self) -> str:
        return str(self.world.clinic.id)


async def build_race_world(session: AsyncSession) -> RaceWorld:
    world = await make_world(session)
    third = await make_practitioner(
        session, "M12343A", [world.gp, world.screening], full_name="Doctor 3"
    )
    await make_weekly_hours(session, third, world.clinic, world.rooms[0])
    physio, vaccination = await make_racing_services(session, world, world.doctors[0], third)
    await session.commit()
    return RaceWorld(world, third, physio, vaccination)


def _hold(
    race: RaceWorld, group: str, doctor: Practitioner, service: Service, start: datetime
) -> dict[str, Any]:
    return {
        "clinic_id": race.clinic_id,
        "practitioner_id": str(doctor.id),
        "service_id": str(service.id),
        "start": start.isoformat(),
    }


def hold_race(
    race: RaceWorld, patients: list[SignedInPatient], total: int = 500, seed: int = 7
) -> list[Call]:
    """`total` hold attempts in three overlapping groups, shuffled, one patient each.

    A: Room 1 around 10:15, where Doctor 1 and Doctor 3 both work: 15, 30, 45 and 10-minute
    services, any two of which overlap by practitioner or by room. B: Doctor 1 around 15:20.
    C: Doctor 2 (Room 2) around 10:15, at the same moment as A but sharing nothing with it.
    """
    w, d1, d2, d3 = (
        race.world,
        race.world.doctors[0],
        race.world.doctors[1],
        race.shared_room_doctor,
    )
    pattern = (
        [("A", d1, w.gp, w.at(10, 15))] * 20
        + [("A", d1, w.screening, w.at(10, 0))] * 3
        + [("A", d1, race.physio, w.at(10, 0))] * 3
        + [("A", d1, race.vaccination, w.at(10, 10))] * 3
        + [("A", d3, w.gp, w.at(10, 15))] * 3
        + [("A", d3, race.physio, w.at(10, 0))] * 2
        + [("B", d1, race.physio, w.at(15, 0))] * 3
        + [("B", d1, w.gp, w.at(15, 15))] * 3
        + [("B", d1, w.screening, w.at(14, 45))] * 3
        + [("C", d2, w.gp, w.at(10, 15))] * 3
        + [("C", d2, w.screening, w.at(10, 0))] * 2
    )  # 50 attempts: A 34, B 9, C 5
    chosen = (pattern * (total // len(pattern) + 1))[:total]
    random.Random(seed).shuffle(chosen)
    return [
        Call("hold", group, "/api/v1/holds", _hold(race, group, doctor, service, start), p.headers)
        for (group, doctor, service, start), p in zip(chosen, patients, strict=False)
    ]


def spread_race(race: RaceWorld, patients: list[SignedInPatient], total: int = 500) -> list[Call]:
    """The same burst with no shared time: every attempt its own practitioner-time, so none
    waits for another. What the hold race costs without the race (the benchmark's baseline)."""
    w = race.world
    doctors = [w.doctors[0], w.doctors[1], race.shared_room_doctor]
    starts = [
        w.at(8) + timedelta(days=day, minutes=15 * slot) for day in range(6) for slot in range(48)
    ]
    calls = []
    for number, patient in enumerate(patients[:total]):
        doctor = doctors[number % 2]  # Doctors 1 and 2 have rooms of their own
        start = starts[number // 2]
        body = _hold(race, str(number), doctor, w.gp, start)
        calls.append(Call("hold", str(number), "/api/v1/holds", body, patient.headers))
    return calls


# The mixed race: every kind of writer of one doctor's time at once


@dataclass
class MixedRace:
    """Holds, walk-ins, blocks and moves onto one time, with confirms and cancels of other
    bookings of the same doctor in the same burst.

    Walk-ins and blocks skip the slot search (the desk books any free time), so all of them
    reach the insert together: without a lock order they deadlock on the exclusion
    constraints' checks, and a confirm's update meets them there too."""

    race: RaceWorld
    patients: list[SignedInPatient]
    staff: list[dict[str, str]]
    url: str

    async def prepare_trial(self) -> list[Call]:
        """Free the contested times again (holds run out, the rest is cancelled), then book
        what this trial's confirms, cancels and moves start from, and shuffle the calls."""
        # Blocks have no room, so Doctor 3 (who shares Room 1) stays out of this race: a block
        # of Doctor 1's time and a visit of Doctor 3's would not overlap.
        w, d1, d2 = self.race.world, self.race.world.doctors[0], self.race.world.doctors[1]
        await free_everything(self.url)
        later = w.tomorrow + timedelta(days=1)
        to_move = await insert_bookings(
            self.url, self.race, self.patients[:20], "confirmed", w.tomorrow, 11
        )
        to_cancel = await insert_bookings(
            self.url, self.race, self.patients[20:35], "confirmed", later, 8
        )
        to_confirm = await insert_bookings(
            self.url, self.race, self.patients[35:50], "held", later, 13
        )
        staff = self.staff
        calls: list[Call] = []
        for number, (doctor, service, start) in enumerate(
            [(d1, w.gp, w.at(10, 15))] * 30
            + [(d1, self.race.physio, w.at(10, 0))] * 10
            + [(d1, self.race.vaccination, w.at(10, 10))] * 10
        ):
            body = _hold(self.race, "A", doctor, service, start)
            calls.append(
                Call("hold", "A", "/api/v1/holds", body, self.patients[50 + number].headers)
            )
        for number, (group, doctor, service, start) in enumerate(
            [("A", d1, w.gp, w.at(10, 15))] * 25
            + [("A", d1, w.screening, w.at(10, 0))] * 25
            + [("C", d2, w.gp, w.at(10, 15))] * 20
        ):
            body = _hold(self.race, group, doctor, service, start) | {
                "patient_id": str(self.patients[100 + number].patient_id)
            }
            calls.append(
                Call("walk_in", group, "/api/v1/staff/walk-ins", body, staff[number % len(staff)])
            )
        for number, (start, end) in enumerate(
            [(w.at(10), w.at(10, 30))] * 15 + [(w.at(10, 15), w.at(10, 20))] * 15
        ):
            body = {
                "clinic_id": self.race.clinic_id,
                "practitioner_id": str(d1.id),
                "start": start.isoformat(),
                "end": end.isoformat(),
                "reason": "race",
            }
            calls.append(
                Call("block", "A", "/api/v1/staff/blocks", body, staff[number % len(staff)])
            )
        for number, appointment_id in enumerate(to_move):
            path = f"/api/v1/staff/appointments/{appointment_id}/reschedule"
            body = {"start": w.at(10, 15).isoformat()}
            calls.append(Call("reschedule", "A", path, body, staff[number % len(staff)]))
        for number, appointment_id in enumerate(to_cancel):
            path = f"/api/v1/staff/appointments/{appointment_id}/cancel"
            calls.append(Call("cancel", None, path, {"reason": "race"}, staff[number % len(staff)]))
        for patient, hold_id in zip(self.patients[35:50], to_confirm, strict=True):
            path = f"/api/v1/holds/{hold_id}/confirm"
            calls.append(Call("confirm", None, path, CHECKOUT, patient.headers))
        random.Random(len(calls)).shuffle(calls)
        return calls


async def free_everything(url: str) -> None:
    """Live holds run out now (so the next race first expires them, the stale-hold step every
    booking takes); every other booking is cancelled."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "UPDATE appointments SET hold_expires_at = now() - interval '1 second'"
            " WHERE status = 'held' AND hold_expires_at > now()"
        )
        await connection.execute(
            "UPDATE appointments SET status = 'cancelled'"
            " WHERE status IN ('confirmed', 'checked_in', 'blocked')"
        )
    finally:
        await connection.close()


async def insert_bookings(
    url: str,
    race: RaceWorld,
    patients: list[SignedInPatient],
    status: str,
    day: date,
    first_hour: int,
) -> list[uuid.UUID]:
    """Doctor 1's GP visits in Room 1 on `day`, every 15 minutes from `first_hour`, one per
    patient: confirmed, or held (for 300 s) by that patient."""
    w = race.world
    rows = []
    for number, patient in enumerate(patients):
        start = w.at(first_hour, day=day) + timedelta(minutes=15 * number)
        end = start + timedelta(minutes=15)
        rows.append(
            (
                uuid.uuid4(),
                status,
                w.clinic.id,
                w.doctors[0].id,
                w.rooms[0].id,
                w.gp.id,
                patient.patient_id,
                start,
                end,
                asyncpg.Range(start, end),
                patient.holder if status == "held" else None,
            )
        )
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.executemany(
            """
            INSERT INTO appointments (id, kind, status, clinic_id, practitioner_id, room_id,
                                      service_id, patient_id, starts_at, ends_at, blocked, holder,
                                      hold_expires_at, source)
            VALUES ($1, 'appointment', $2::text, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                    CASE WHEN $2::text = 'held' THEN now() + interval '300 seconds' END, 'online')
            """,
            rows,
        )
    finally:
        await connection.close()
    return [row[0] for row in rows]


# Firing


async def fire(server_urls: list[str], calls: list[Call]) -> list[Outcome]:
    """Send every call at once, each on its own connection, the connections opened beforehand
    and spread over the servers in turn."""
    connections = [
        KeepAliveConnection(server_urls[number % len(server_urls)]) for number in range(len(calls))
    ]
    try:
        await asyncio.gather(*(connection.connect() for connection in connections))
        start_line = asyncio.Event()
        started = 0.0

        async def send(number: int, call: Call) -> Outcome:
            await start_line.wait()
            reply = await connections[number].request("POST", call.path, call.body, call.headers)
            seconds = time.perf_counter() - started
            problem = reply.json() if reply.status >= 400 else {}
            return Outcome(
                call.kind,
                call.group,
                reply.status,
                problem.get("code", ""),
                problem.get("detail", ""),
                seconds,
                number % len(server_urls),
            )

        tasks = [asyncio.create_task(send(n, call)) for n, call in enumerate(calls)]
        await asyncio.sleep(0.2)  # let every task reach the start line
        started = time.perf_counter()
        start_line.set()
        return await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))


def winners(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(o.group for o in outcomes if o.group is not None and o.status < 300)


def answers(outcomes: list[Outcome]) -> Counter[tuple[int, str]]:
    return Counter((outcome.status, outcome.code) for outcome in outcomes)


def losers(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.group is not None and o.status >= 300]


def unanswered_extras(outcomes: list[Outcome]) -> list[Outcome]:
    """Confirms and cancels compete with nobody: each must have succeeded."""
    return [o for o in outcomes if o.group is None and o.status >= 300]


async def overlapping_pairs(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await connection.fetchval(OVERLAPS))
    finally:
        await connection.close()


# Deadlocks, counted by PostgreSQL itself


async def deadlocks_so_far(url: str) -> int:
    """pg_stat_database's count of deadlocks detected in this database since its statistics
    were last reset. Each backend adds its own to it when idle (within about 10 s) or when it
    exits: read it after the backends that ran the work have gone (see backends_gone)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        found = await connection.fetchval(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(found or 0)
    finally:
        await connection.close()


async def client_backends(url: str) -> set[int]:
    """Process ids of the other client connections to this database."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return {row["pid"] for row in rows}
    finally:
        await connection.close()


async def backends_gone(url: str, pids: set[int], within: float = 15.0) -> None:
    """Wait until none of these backends is left (so each has added its statistics)."""
    deadline = time.monotonic() + within
    while (left := pids & await client_backends(url)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not left, f"backends still connected after {within} s: {sorted(left)}"


async def server_log(url: str) -> Path | None:
    """The PostgreSQL server's log file, when this process can read it: the embedded server
    writes <data directory>/log; a server with the logging collector names its current file.
    None when neither is readable (a shared server's log usually is not)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        try:
            data_dir = await connection.fetchval("SHOW data_directory")
            current = await connection.fetchval("SELECT pg_current_logfile()")
        except asyncpg.PostgresError:  # not allowed to see them
            return None
    finally:
        await connection.close()
    for candidate in (current, "log"):
        if candidate is None:
            continue
        path = Path(data_dir, candidate)
        try:
            with path.open("rb"):
                return path
        except OSError:
            continue
    return None


def log_size(path: Path | None) -> int:
    return path.stat().st_size if path is not None else 0


def deadlock_lines(path: Path | None, since: int) -> list[str]:
    if path is None:
        return []
    with path.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    return [line for line in text.splitlines() if "deadlock detected" in line]
