"""Real-time fan-out: commit-to-client latency of the change feed over WebSockets, beside a bare
NOTIFY round trip on the same machine in the same run.

1,000 WebSocket clients follow two real `medbook serve` processes (one each on its own port,
half the sockets on each, as a load balancer would spread them): half on the staff channel
(signed-in receptionists, one session each), half on the public availability channel, a third
per demo clinic, each over one of several date windows. The clients live in several client
processes, so the receiving side is not the bottleneck. Meanwhile a writer commits appointment
changes at a fixed rate through plain SQL on asyncpg (a hold, then its confirm, release or expiry
a few seconds later), which isolates the real-time path from the booking API, and records when
each commit returned. A bare asyncpg LISTEN connection in its own process hears NOTIFYs that the
writer's process sends at the same rate: the floor this machine puts under any LISTEN/NOTIFY
design.

Every delivery is checked against the change_events table: each client must get exactly the
changes of its clinic and date window that its channel shows, once each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import queue
import random
import secrets
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from itertools import product
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import psutil
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from medbook.db import asyncpg_dsn
from medbook.identity.sessions import SESSION_COOKIE, hash_token, idle_seconds
from medbook.kernel.statuses import ACTIVE_STATUSES
from medbook.settings import get_settings
from tests.live import LiveServer, start_live_server, stop_live_server

CLIENTS = int(os.environ.get("BENCH_RT_CLIENTS", "1000"))
CLIENT_PROCESSES = int(os.environ.get("BENCH_RT_CLIENT_PROCESSES", "4"))
API_PROCESSES = 2
CHANGES_PER_SECOND = 20
WRITE_SECONDS = int(os.environ.get("BENCH_RT_SECONDS", "30"))
HOLD_SECONDS = 2.0  # how long each hold stays held before it is confirmed, released or expired
ENDINGS = ("confirmed", "released", "confirmed", "expired")  # half confirmed, as in life
WRITER_CONNECTIONS = 4  # commits are scheduled, not chained: a slow one never delays the next
FOLLOW_DAYS = 14  # the writer's slots spread over these days, from FIRST_DAY_AHEAD on
FIRST_DAY_AHEAD = 2
# Each client follows one of these (first, last) day offsets into the writer's days, so the
# date filter is exercised: whole span, first half and a little, last half and a little.
WINDOWS = ((0, FOLLOW_DAYS - 1), (0, 7), (6, FOLLOW_DAYS - 1))
CONNECT_CONCURRENCY = 25  # per client process: sockets opening at once
QUIET_SECONDS = 3.0  # after the last commit, a client process stops once this long quiet
GIVE_UP_SECONDS = 60.0  # ... or this long after the last commit, whatever still missing is lost
PROBE_CHANNEL = "medbook_bench_probe"
GP_CODE = "gp-consultation"
ACTIVE = frozenset(status.value for status in ACTIVE_STATUSES)
GOAL_P99_MS = 100.0
BARE_RATIO_FLOOR_MS = 0.2  # below this a bare NOTIFY latency is clock noise: no ratio shown
# The feed keeps a week of events (MEDBOOK_CHANGE_FEED_RETENTION_DAYS): pad it with old events up
# to this many rows to see what a week's retention costs. 0: leave it as seeded (the seed's
# COPY of 50,000 appointments fires the trigger too, so it holds about 50,000 already).
FEED_EVENTS = int(os.environ.get("BENCH_RT_FEED_EVENTS", "0"))
# What the clients offer: "deflate", as browsers do, or "none".
COMPRESSION = os.environ.get("BENCH_RT_COMPRESSION", "deflate")


@dataclass(frozen=True, slots=True)
class Follower:
    """One client socket: where it connects, as whom, and what it follows."""

    number: int
    url: str
    api_process: int
    channel: str  # staff or availability
    clinic_id: str
    first_day: date
    last_day: date
    token: str | None  # the staff session cookie; None on the public availability channel

    def subscribe_message(self) -> str:
        return json.dumps(
            {
                "type": "subscribe",
                "channel": self.channel,
                "clinic_ids": [self.clinic_id],
                "from": self.first_day.isoformat(),
                "to": self.last_day.isoformat(),
            }
        )


@dataclass(frozen=True, slots=True)
class Visit:
    """A free GP slot the writer holds, then confirms, releases or expires."""

    appointment_id: uuid.UUID
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    start: datetime
    end: datetime
    blocked_from: datetime
    blocked_until: datetime
    ending: str


@dataclass(slots=True)
class ClientReport:
    """What one client process heard: per follower, (cursor, time received) of each change."""

    received: dict[int, list[tuple[str, float]]]
    closed: dict[int, str]  # sockets the server closed during the run, and why
    cpu_seconds: float


@dataclass(slots=True)
class WriterLog:
    committed: dict[tuple[uuid.UUID, str], float] = field(default_factory=dict)
    commit_ms: list[float] = field(default_factory=list)  # how long each commit took
    probes_sent: dict[int, float] = field(default_factory=dict)
    started: float = 0.0


# --- the client side (runs in client processes) -----------------------------------------------


def follow_in_process(followers: list[Follower], outbox: Any, writer_done: Any) -> None:
    """A client process: open the sockets, report live, record changes until told to stop."""
    _run_and_report("done", _follow(followers, outbox, writer_done), outbox)


def _run_and_report(kind: str, work: Coroutine[Any, Any, Any], outbox: Any) -> None:
    """Run a client process's work on uvloop and put (kind, pid, result) in the outbox, or
    ("failed", pid, traceback)."""
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(work)
        outbox.put((kind, os.getpid(), result))
    except BaseException:
        outbox.put(("failed", os.getpid(), traceback.format_exc()))


async def _open(follower: Follower, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        headers = {"Cookie": f"{SESSION_COOKIE}={follower.token}"} if follower.token else None
        # No client pings: browsers send none.
        socket = await connect(
            follower.url,
            additional_headers=headers,
            compression=None if COMPRESSION == "none" else COMPRESSION,
            proxy=None,
            open_timeout=60,
            ping_interval=None,
        )
        await socket.send(follower.subscribe_message())
        while True:
            reply = json.loads(await socket.recv())
            if reply["type"] == "live":
                return socket
            if reply["type"] == "error":
                raise RuntimeError(f"follower {follower.number} refused: {reply}")


async def _follow(followers: list[Follower], outbox: Any, writer_done: Any) -> ClientReport:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets = await asyncio.gather(*(_open(follower, gate) for follower in followers))
    logs: list[list[tuple[float, str]]] = [[] for _ in followers]
    closed: dict[int, str] = {}
    last_heard = [0.0]

    async def read(socket: ClientConnection, log: list[tuple[float, str]], number: int) -> None:
        # The receive time is taken first; parsing waits until the run is over.
        try:
            async for text in socket:
                now = time.monotonic()
                if isinstance(text, str) and text.startswith('{"type":"change"'):
                    log.append((now, text))
                    last_heard[0] = now
        except ConnectionClosed as closing:
            closed[number] = f"{closing.rcvd.code} {closing.rcvd.reason}" if closing.rcvd else "?"
            return
        closed[number] = "closed by the server"

    readers = [
        asyncio.create_task(read(socket, log, follower.number))
        for socket, log, follower in zip(sockets, logs, followers, strict=True)
    ]
    outbox.put(("live", os.getpid(), None))
    cpu_started = time.process_time()
    while not writer_done.is_set():
        await asyncio.sleep(0.1)
    done_at = time.monotonic()
    while time.monotonic() - max(done_at, last_heard[0]) < QUIET_SECONDS:
        if time.monotonic() - done_at > GIVE_UP_SECONDS:
            break
        await asyncio.sleep(0.1)
    cpu_seconds = time.process_time() - cpu_started
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    received = {
        follower.number: [(json.loads(text)["change"]["cursor"], at) for at, text in log]
        for follower, log in zip(followers, logs, strict=True)
    }
    return ClientReport(received, closed, cpu_seconds)


def listen_in_process(dsn: str, outbox: Any, writer_done: Any) -> None:
    """The bare path: one asyncpg LISTEN connection, recording when each NOTIFY arrives."""
    _run_and_report("probe", _listen(dsn, outbox, writer_done), outbox)


async def _listen(dsn: str, outbox: Any, writer_done: Any) -> list[tuple[int, float]]:
    heard: list[tuple[int, float]] = []

    def notified(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        heard.append((int(payload), time.monotonic()))

    connection = await asyncpg.connect(dsn)
    try:
        await connection.add_listener(PROBE_CHANNEL, notified)
        outbox.put(("live", os.getpid(), None))
        while not writer_done.is_set():
            await asyncio.sleep(0.1)
        await asyncio.sleep(QUIET_SECONDS)
    finally:
        await connection.close()
    return heard


# --- preparation ------------------------------------------------------------------------------

_INSERT_STAFF = """
INSERT INTO staff_members (id, email, full_name, password_hash)
SELECT id, 'bench-rt-' || id::text || '@medical.example', 'Bench Receptionist', 'not-a-real-hash'
  FROM unnest($1::uuid[]) AS s(id)
"""
_INSERT_GRANTS = """
INSERT INTO staff_roles (staff_id, role, clinic_id)
SELECT staff_id, 'receptionist', clinic_id FROM unnest($1::uuid[], $2::uuid[]) AS g(staff_id, clinic_id)
"""
# Past both factors, as the staff sign-in flow leaves a session (identity.sessions.start_session).
_INSERT_STAFF_SESSIONS = """
INSERT INTO user_sessions (token_hash, kind, stage, staff_id, csrf_token, idle_seconds, expires_at)
SELECT token_hash, 'staff', 'full', staff_id, csrf_token, $4, now() + make_interval(secs => $5)
  FROM unnest($1::bytea[], $2::uuid[], $3::text[]) AS s(token_hash, staff_id, csrf_token)
"""


async def sign_in_receptionists(
    connection: asyncpg.Connection, clinic_ids: Sequence[uuid.UUID]
) -> list[str]:
    """One receptionist per clinic in `clinic_ids` (repeats allowed), each signed in once;
    answers their session cookies, in order."""
    settings = get_settings()
    staff_ids = [uuid.uuid4() for _ in clinic_ids]
    tokens = [secrets.token_urlsafe(32) for _ in clinic_ids]
    async with connection.transaction():
        await connection.execute(_INSERT_STAFF, staff_ids)
        await connection.execute(_INSERT_GRANTS, staff_ids, list(clinic_ids))
        await connection.execute(
            _INSERT_STAFF_SESSIONS,
            [hash_token(token) for token in tokens],
            staff_ids,
            [secrets.token_urlsafe(32) for _ in tokens],
            idle_seconds(settings, "staff"),
            settings.session_absolute_hours * 3600,
        )
    return tokens


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


async def pick_visits(
    connection: asyncpg.Connection, server_url: str, first_day: date, count: int
) -> list[Visit]:
    """`count` free GP slots over the followed days, clear of one another by practitioner and
    by room (buffers included), so every hold succeeds; shuffled across clinics and days."""
    gp = await connection.fetchrow(
        "SELECT id, buffer_before_minutes, buffer_after_minutes FROM services WHERE code = $1",
        GP_CODE,
    )
    templates = await connection.fetch(
        "SELECT practitioner_id, clinic_id, room_id, weekday, start_time, end_time FROM weekly_availability"
    )
    last_day = first_day + timedelta(days=FOLLOW_DAYS - 1)
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        response = await http.get(
            "/api/v1/availability",
            params={
                "service_id": str(gp["id"]),
                "from": first_day.isoformat(),
                "to": last_day.isoformat(),
            },
        )
    response.raise_for_status()
    slots = response.json()["slots"]
    random.Random(20261125).shuffle(slots)
    before = timedelta(minutes=gp["buffer_before_minutes"])
    after = timedelta(minutes=gp["buffer_after_minutes"])
    taken: dict[object, list[tuple[datetime, datetime]]] = {}
    visits: list[Visit] = []
    for slot in slots:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        practitioner, clinic = uuid.UUID(slot["practitioner_id"]), uuid.UUID(slot["clinic_id"])
        # The room the rota puts this practitioner in at this (local) time, as slot search does.
        room = next(
            (
                t["room_id"]
                for t in templates
                if t["practitioner_id"] == practitioner
                and t["clinic_id"] == clinic
                and t["weekday"] == start.weekday()
                and t["start_time"] <= start.time()
                and end.time() <= t["end_time"]
            ),
            None,
        )
        blocked = (start - before, end + after)
        keys = [("practitioner", practitioner)] + ([("room", room)] if room else [])
        if any(overlaps(blocked, other) for key in keys for other in taken.get(key, [])):
            continue
        for key in keys:
            taken.setdefault(key, []).append(blocked)
        ending = ENDINGS[len(visits) % len(ENDINGS)]
        visits.append(Visit(uuid.uuid4(), clinic, practitioner, room, start, end, *blocked, ending))
        if len(visits) == count:
            return visits
    raise RuntimeError(f"only {len(visits)} free slots to hold, need {count}")


def schedule(ticks: int, hold_ticks: int) -> list[tuple[str, int]]:
    """One action per tick: ("hold", visit) or ("settle", visit). A hold is settled once it has
    been held `hold_ticks` ticks; in between, new holds fill the ticks."""
    plan: list[tuple[str, int]] = []
    pending: list[tuple[int, int]] = []  # (tick held, visit)
    holds = 0
    for tick in range(ticks):
        if pending and pending[0][0] <= tick - hold_ticks:
            plan.append(("settle", pending.pop(0)[1]))
        else:
            plan.append(("hold", holds))
            pending.append((tick, holds))
            holds += 1
    return plan


def plan_followers(
    server_urls: Sequence[str], clinic_ids: Sequence[uuid.UUID], first_day: date
) -> list[tuple[int, str, str, uuid.UUID, date, date]]:
    """(number, url, channel, clinic, first day, last day) for every client: the combinations of
    API process, channel, clinic and window taken in turn, so each is evenly represented."""
    combinations = list(
        product(range(len(server_urls)), ("staff", "availability"), clinic_ids, WINDOWS)
    )
    plan = []
    for number in range(CLIENTS):
        api, channel, clinic, (first, last) = combinations[number % len(combinations)]
        plan.append(
            (
                number,
                server_urls[api],
                channel,
                clinic,
                first_day + timedelta(days=first),
                first_day + timedelta(days=last),
            )
        )
    return plan


# --- the writer and the NOTIFY probe (in this process) -----------------------------------------

_HOLD = """
INSERT INTO appointments (id, kind, status, clinic_id, practitioner_id, room_id, service_id,
                          starts_at, ends_at, blocked, hold_expires_at, holder, source)
VALUES ($1, 'appointment', 'held', $2, $3, $4, $5, $6, $7, tstzrange($8, $9, '[)'),
        now() + make_interval(secs => 300), 'bench-realtime', 'online')
"""
_SETTLE = (
    "UPDATE appointments SET status = $2, updated_at = now() WHERE id = $1 AND status = 'held'"
)


async def write_changes(dsn: str, visits: list[Visit], gp_id: uuid.UUID) -> WriterLog:
    """Commit the scheduled changes at CHANGES_PER_SECOND, and a NOTIFY probe half a tick after
    each, noting when every commit returned."""
    period = 1 / CHANGES_PER_SECOND
    ticks = WRITE_SECONDS * CHANGES_PER_SECOND
    plan = schedule(ticks, round(HOLD_SECONDS * CHANGES_PER_SECOND))
    log = WriterLog()
    writers = await asyncpg.create_pool(
        dsn, min_size=WRITER_CONNECTIONS, max_size=WRITER_CONNECTIONS
    )
    prober = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
    held: dict[int, asyncio.Task[None]] = {}

    async def commit(statement: str, *args: Any) -> float:
        async with writers.acquire() as connection:
            started = time.monotonic()
            status = await connection.execute(statement, *args)
            committed = time.monotonic()
        assert status.endswith(" 1"), status
        log.commit_ms.append((committed - started) * 1000)
        return committed

    async def hold(visit: Visit) -> None:
        log.committed[(visit.appointment_id, "held")] = await commit(
            _HOLD,
            visit.appointment_id,
            visit.clinic_id,
            visit.practitioner_id,
            visit.room_id,
            gp_id,
            visit.start,
            visit.end,
            visit.blocked_from,
            visit.blocked_until,
        )

    async def settle(number: int) -> None:
        await held[number]  # long done by now; this only guards the order
        visit = visits[number]
        log.committed[(visit.appointment_id, visit.ending)] = await commit(
            _SETTLE, visit.appointment_id, visit.ending
        )

    async def probe(sequence: int) -> None:
        async with prober.acquire() as connection:
            await connection.execute("SELECT pg_notify($1, $2)", PROBE_CHANNEL, str(sequence))
            log.probes_sent[sequence] = time.monotonic()

    tasks: list[asyncio.Task[None]] = []
    try:
        log.started = time.monotonic()
        for tick, (action, number) in enumerate(plan):
            await asyncio.sleep(max(0.0, log.started + tick * period - time.monotonic()))
            if action == "hold":
                held[number] = asyncio.create_task(hold(visits[number]))
                tasks.append(held[number])
            else:
                tasks.append(asyncio.create_task(settle(number)))
            await asyncio.sleep(max(0.0, log.started + (tick + 0.5) * period - time.monotonic()))
            tasks.append(asyncio.create_task(probe(tick)))
        await asyncio.gather(*tasks)
    finally:
        await writers.close()
        await prober.close()
    return log


# --- measuring the machine --------------------------------------------------------------------


class CpuMeter:
    """CPU seconds spent by each group of processes, and by the whole machine, over a window."""

    def __init__(self, groups: dict[str, list[int]], postgres_pid: int | None) -> None:
        self._groups = groups
        self._postgres_pid = postgres_pid
        self._start: dict[int, float] = {}
        self._machine_start = psutil.cpu_times()
        self._wall_start = 0.0

    def _postgres_pids(self) -> list[int]:
        if self._postgres_pid is None:
            return []
        with contextlib.suppress(psutil.Error):
            postmaster = psutil.Process(self._postgres_pid)
            return [postmaster.pid, *(child.pid for child in postmaster.children(recursive=True))]
        return []

    def _sample(self, pids: list[int]) -> dict[int, float]:
        used: dict[int, float] = {}
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                used[pid] = times.user + times.system
        return used

    def start(self) -> None:
        pids = [pid for group in self._groups.values() for pid in group] + self._postgres_pids()
        self._start = self._sample(pids)
        self._machine_start = psutil.cpu_times()
        self._wall_start = time.monotonic()

    def stop(self) -> tuple[float, dict[str, float], float]:
        """(wall seconds, cores busy per group, cores busy on the whole machine)."""
        wall = time.monotonic() - self._wall_start
        groups = {**self._groups, "PostgreSQL (all its processes)": self._postgres_pids()}
        busy: dict[str, float] = {}
        for name, pids in groups.items():
            now = self._sample(pids)
            busy[name] = sum(used - self._start.get(pid, 0.0) for pid, used in now.items()) / wall
        machine = psutil.cpu_times()
        idle = (machine.idle + machine.iowait) - (
            self._machine_start.idle + self._machine_start.iowait
        )
        total = sum(machine) - sum(self._machine_start)
        cores = psutil.cpu_count() or 1
        return wall, busy, cores * (total - idle) / total if total else 0.0


# --- the run ----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_cells(samples_ms: Sequence[float]) -> str:
    if not samples_ms:
        return "- | - | - | -"
    return " | ".join(
        [
            *(f"{percentile(samples_ms, q):.1f} ms" for q in (0.50, 0.99, 0.999)),
            f"{max(samples_ms):.1f} ms",
        ]
    )


def wait_for(outbox: Any, counts: dict[str, int], timeout: float) -> dict[str, list[Any]]:
    """As many messages of each kind as `counts` says, from the child processes, in whatever
    order they come; a failure or a timeout raises."""
    answers: dict[str, list[Any]] = {kind: [] for kind in counts}
    deadline = time.monotonic() + timeout
    while any(len(answers[kind]) < count for kind, count in counts.items()):
        try:
            kind, pid, payload = outbox.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            heard = {kind: len(payloads) for kind, payloads in answers.items()}
            raise RuntimeError(f"child processes: waited for {counts}, heard {heard}") from None
        if kind == "failed":
            raise RuntimeError(f"child process {pid} failed:\n{payload}")
        answers.setdefault(kind, []).append(payload)
    return answers


async def postgres_facts(dsn: str) -> tuple[str, int | None, int, int]:
    """The server's version, its postmaster's pid when it runs on this machine, the newest
    change event (everything after it is this run's) and how many events the feed holds."""
    connection = await asyncpg.connect(dsn)
    try:
        version = await connection.fetchval("SHOW server_version")
        newest = await connection.fetchval("SELECT coalesce(max(id), 0) FROM change_events")
        retained = await connection.fetchval("SELECT count(*) FROM change_events")
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        postmaster: int | None = None
        # Ask while the backend still exists: it goes with the connection.
        with contextlib.suppress(psutil.Error):
            postmaster = psutil.Process(backend).ppid()
    finally:
        await connection.close()
    return str(version).split()[0], postmaster, int(newest), int(retained)


# Old events, from transactions long finished (xids spread below the current one) and recorded
# within the retention period, so neither readers nor pruning treat them as new.
_PAD_FEED = """
INSERT INTO change_events (xid, recorded_at, appointment_id, kind, status, clinic_id,
                           practitioner_id, starts_at, ends_at, blocked_from, blocked_until)
SELECT (3 + g * (pg_current_xact_id()::text::bigint - 100) / $1)::text::xid8,
       now() - make_interval(secs => 6 * 86400 * (1 - g::float8 / $1)),
       gen_random_uuid(), 'appointment', 'confirmed', ($2::uuid[])[1 + g % 3], gen_random_uuid(),
       now(), now() + interval '15 minutes', now(), now() + interval '15 minutes'
  FROM generate_series(1, $1) AS g
"""


async def pad_feed(connection: asyncpg.Connection, clinic_ids: list[uuid.UUID]) -> None:
    missing = FEED_EVENTS - await connection.fetchval("SELECT count(*) FROM change_events")
    if missing > 0:
        await connection.execute(_PAD_FEED, missing, clinic_ids)
        await connection.execute("VACUUM ANALYZE change_events")


async def prepare(
    dsn: str, server_urls: Sequence[str], today: date
) -> tuple[list[Follower], list[Visit], uuid.UUID, dict[uuid.UUID, str]]:
    first_day = today + timedelta(days=FIRST_DAY_AHEAD)
    connection = await asyncpg.connect(dsn)
    try:
        zones = {
            row["id"]: row["timezone"]
            for row in await connection.fetch("SELECT id, timezone FROM clinics ORDER BY name")
        }
        gp_id = await connection.fetchval("SELECT id FROM services WHERE code = $1", GP_CODE)
        plan = plan_followers(server_urls, list(zones), first_day)
        staff_plan = [entry for entry in plan if entry[2] == "staff"]
        tokens = iter(await sign_in_receptionists(connection, [entry[3] for entry in staff_plan]))
        holds = sum(action == "hold" for action, _ in schedule_for_run())
        visits = await pick_visits(connection, server_urls[0], first_day, holds)
        await connection.execute("ANALYZE staff_members, staff_roles, user_sessions")
        await pad_feed(connection, list(zones))
    finally:
        await connection.close()
    followers = [
        Follower(
            number=number,
            url=url.replace("http://", "ws://", 1) + "/api/v1/ws",
            api_process=server_urls.index(url),
            channel=channel,
            clinic_id=str(clinic),
            first_day=first,
            last_day=last,
            token=next(tokens) if channel == "staff" else None,
        )
        for number, url, channel, clinic, first, last in plan
    ]
    return followers, visits, gp_id, zones


def schedule_for_run() -> list[tuple[str, int]]:
    return schedule(WRITE_SECONDS * CHANGES_PER_SECOND, round(HOLD_SECONDS * CHANGES_PER_SECOND))


@dataclass(frozen=True, slots=True)
class Event:
    cursor: str
    clinic_id: str
    blocked: tuple[datetime, datetime]
    shows_on_availability: bool  # the time went from free to taken, or back
    committed: float | None  # None: not the writer's (nothing else should write)


async def run_events(dsn: str, after_id: int, log: WriterLog) -> list[Event]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            """SELECT id, xid::text AS xid, appointment_id, status, previous_status, clinic_id,
                      blocked_from, blocked_until
                 FROM change_events WHERE id > $1 ORDER BY xid, id""",
            after_id,
        )
    finally:
        await connection.close()
    return [
        Event(
            cursor=f"{row['xid']}-{row['id']}",
            clinic_id=str(row["clinic_id"]),
            blocked=(row["blocked_from"], row["blocked_until"]),
            shows_on_availability=(row["status"] in ACTIVE) != (row["previous_status"] in ACTIVE),
            committed=log.committed.get((row["appointment_id"], row["status"])),
        )
        for row in rows
    ]


def expected_for(follower: Follower, events: list[Event], zone: str) -> list[Event]:
    """The changes this client must get: its clinic, overlapping its local days, and (on the
    availability channel) only those that free or take time."""
    tz = ZoneInfo(zone)
    window = (
        datetime.combine(follower.first_day, clock_time(0), tzinfo=tz),
        datetime.combine(follower.last_day + timedelta(days=1), clock_time(0), tzinfo=tz),
    )
    return [
        event
        for event in events
        if event.clinic_id == follower.clinic_id
        and overlaps(event.blocked, window)
        and (follower.channel == "staff" or event.shows_on_availability)
    ]


def run(url: str, keys: Path, scratch: Path, today: date) -> str:
    """Start the API processes, run the clients, the writer and the probe; answer the report."""
    dsn = asyncpg_dsn(url)
    load_before = os.getloadavg()
    servers: list[LiveServer] = []
    children: list[multiprocessing.process.BaseProcess] = []
    try:
        for number in range(API_PROCESSES):
            log_path = scratch / f"realtime-server-{number}.log"
            server = start_live_server(
                url,
                log_path,
                workers=1,
                MEDBOOK_KEYS_DIR=str(keys),
                # Every bench socket comes from 127.0.0.1, and a session may hold few sockets.
                MEDBOOK_WS_MAX_CONNECTIONS_PER_ADDRESS="100000",
                MEDBOOK_WS_MAX_CONNECTIONS_PER_SESSION="100000",
            )
            servers.append(server)
        server_urls = [server.url for server in servers]
        followers, visits, gp_id, zones = asyncio.run(prepare(dsn, server_urls, today))

        context = multiprocessing.get_context("spawn")
        outbox = context.Queue()
        writer_done = context.Event()
        shares = [followers[number::CLIENT_PROCESSES] for number in range(CLIENT_PROCESSES)]
        connecting = time.monotonic()
        for share in shares:
            children.append(
                context.Process(target=follow_in_process, args=(share, outbox, writer_done))
            )
        listener = context.Process(target=listen_in_process, args=(dsn, outbox, writer_done))
        children.append(listener)
        for child in children:
            child.start()
        wait_for(outbox, {"live": len(children)}, timeout=300)
        setup_seconds = time.monotonic() - connecting
        print(f"{len(followers):,} sockets live in {setup_seconds:.1f} s; writing", flush=True)

        version, postmaster, newest, retained = asyncio.run(postgres_facts(dsn))
        meter = CpuMeter(
            {
                f"API processes ({API_PROCESSES})": [server.process.pid for server in servers],
                f"WebSocket client processes ({CLIENT_PROCESSES})": [
                    child.pid for child in children[:-1] if child.pid
                ],
                "writer and NOTIFY sender (bench process)": [os.getpid()],
                "bare LISTEN process": [listener.pid] if listener.pid else [],
            },
            postmaster,
        )
        meter.start()
        log = asyncio.run(write_changes(dsn, visits, gp_id))
        wall, busy, machine_busy = meter.stop()
        load_during = os.getloadavg()
        writer_done.set()
        answers = wait_for(
            outbox,
            {"done": CLIENT_PROCESSES, "probe": 1},
            timeout=GIVE_UP_SECONDS + QUIET_SECONDS + 120,
        )
        for child in children:
            child.join(30)
        events = asyncio.run(run_events(dsn, newest, log))
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
        for server in servers:
            stop_live_server(server)

    reports: list[ClientReport] = answers["done"]
    return describe(
        followers=followers,
        events=events,
        zones=zones,
        reports=reports,
        log=log,
        heard=answers["probe"][0],
        facts={
            "version": version,
            "retained": retained,
            "setup_seconds": setup_seconds,
            "wall": wall,
            "busy": busy,
            "machine_busy": machine_busy,
            "load_before": load_before,
            "load_during": load_during,
        },
    )


def describe(
    *,
    followers: list[Follower],
    events: list[Event],
    zones: dict[uuid.UUID, str],
    reports: list[ClientReport],
    log: WriterLog,
    heard: list[tuple[int, float]],
    facts: dict[str, Any],
) -> str:
    received: dict[int, list[tuple[str, float]]] = {}
    closed: dict[int, str] = {}
    for report in reports:
        received.update(report.received)
        closed.update(report.closed)
    zone_of = {str(clinic): zone for clinic, zone in zones.items()}

    latencies: list[float] = []
    by_group: dict[str, list[float]] = {}
    last_delivery: dict[str, float] = {}  # per change: when its last client got it
    expected_total = lost = duplicated = unexpected = 0
    for follower in followers:
        expected = {
            event.cursor: event
            for event in expected_for(follower, events, zone_of[follower.clinic_id])
        }
        got = Counter(cursor for cursor, _ in received.get(follower.number, []))
        expected_total += len(expected)
        lost += sum(1 for cursor in expected if cursor not in got)
        duplicated += sum(count - 1 for count in got.values())
        unexpected += sum(1 for cursor in got if cursor not in expected)
        first_seen: dict[str, float] = {}
        for cursor, at in received.get(follower.number, []):
            first_seen.setdefault(cursor, at)
        groups = (f"{follower.channel} channel", f"API process {follower.api_process + 1}")
        for cursor, at in first_seen.items():
            event = expected.get(cursor)
            if event is None or event.committed is None:
                continue
            delay = (at - event.committed) * 1000
            latencies.append(delay)
            for group in groups:
                by_group.setdefault(group, []).append(delay)
            last_delivery[cursor] = max(last_delivery.get(cursor, delay), delay)

    first_heard: dict[int, float] = {}
    for sequence, at in heard:
        first_heard.setdefault(sequence, at)
    probe = [
        (at - log.probes_sent[sequence]) * 1000
        for sequence, at in first_heard.items()
        if sequence in log.probes_sent
    ]
    probe_lost = len(log.probes_sent) - len({sequence for sequence, _ in heard})
    probe_duplicated = len(heard) - len({sequence for sequence, _ in heard})
    foreign = sum(1 for event in events if event.committed is None)
    writes = len(log.committed)
    met = (
        bool(latencies)
        and percentile(latencies, 0.99) < GOAL_P99_MS
        and lost == 0
        and duplicated == 0
        and unexpected == 0
    )
    channels = Counter(follower.channel for follower in followers)
    per_clinic = Counter(follower.clinic_id for follower in followers)
    cores = os.cpu_count() or 1
    busy = facts["busy"]
    accounted = sum(busy.values())
    quantiles = (0.50, 0.99, 0.999)
    ratios, added = [], []
    for q in quantiles:
        ours, bare = (
            (percentile(latencies, q), percentile(probe, q)) if latencies and probe else (0, 0)
        )
        # Near zero the bare figure is noise: the NOTIFY and the commit's own reply race.
        ratios.append(f"{ours / bare:.0f}x" if bare >= BARE_RATIO_FLOOR_MS else "-")
        added.append(f"{ours - bare:+.1f} ms")
    rows = [
        f"| commit -> WebSocket client | {len(latencies):,} of {expected_total:,} expected "
        f"| {latency_cells(latencies)} | {lost:,} | {duplicated:,} |",
        f"| commit -> bare asyncpg LISTEN | {len(probe):,} of {len(log.probes_sent):,} sent "
        f"| {latency_cells(probe)} | {probe_lost:,} | {probe_duplicated:,} |",
    ]
    breakdown = [
        f"| {name} | {len(samples):,} | {latency_cells(samples)} |"
        for name, samples in sorted(by_group.items())
    ]
    spread = list(last_delivery.values())
    breakdown.append(
        f"| last client of each change ({len(spread):,} changes) | {len(spread):,} "
        f"| {latency_cells(spread)} |"
    )
    cpu = ", ".join(f"{name} {used:.2f}" for name, used in busy.items())
    lines = [
        f"- clients: {len(followers):,} WebSockets ({channels['staff']:,} on the staff channel, one "
        f"receptionist session each; {channels['availability']:,} on the public availability "
        f"channel), {' / '.join(f'{n:,}' for n in per_clinic.values())} per clinic, each over one of "
        f"{len(WINDOWS)} date windows within {FOLLOW_DAYS} days; spread over {CLIENT_PROCESSES} "
        f"client processes (websockets; compression offered: {COMPRESSION})",
        f"- server: {API_PROCESSES} API processes (`medbook serve --workers 1` on two ports, "
        f"{len(followers) // API_PROCESSES:,} sockets each), one LISTEN connection each; the "
        f"feed held {facts['retained']:,} events when the writer started",
        f"- writer: {writes:,} commits in {facts['wall']:.1f} s ({CHANGES_PER_SECOND}/s, plain SQL "
        f"on asyncpg, single-statement transactions: a hold, then {HOLD_SECONDS:.0f} s later a "
        f"confirm, release or expiry); commit p50 {percentile(log.commit_ms, 0.5):.1f} ms, p99 "
        f"{percentile(log.commit_ms, 0.99):.1f} ms; {len(events):,} change events "
        f"({foreign:,} not the writer's). Bare NOTIFY probe: `SELECT pg_notify(...)` at the same "
        f"rate, half a tick after each change, heard by one asyncpg connection in its own process",
        f"- setup: {len(followers):,} sockets connected, subscribed and live in "
        f"{facts['setup_seconds']:.1f} s",
        f"- machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, "
        f"PostgreSQL {facts['version']}; load average before "
        f"{', '.join(f'{x:.2f}' for x in facts['load_before'])}, after the write window "
        f"{', '.join(f'{x:.2f}' for x in facts['load_during'])}",
        f"- CPU during the write window, in cores busy (of {cores}): machine "
        f"{facts['machine_busy']:.2f}; {cpu}; everything else (other jobs on the machine) "
        f"{max(0.0, facts['machine_busy'] - accounted):.2f}",
        "",
        "| path | deliveries | p50 | p99 | p99.9 | max | lost | duplicated |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        f"| ratio (WebSocket / bare) | | {' | '.join(ratios)} | | | |",
        f"| added by the real-time path | | {' | '.join(added)} | | | |",
        "",
        "| breakdown (commit -> client) | deliveries | p50 | p99 | p99.9 | max |",
        "|---|---|---|---|---|---|",
        *breakdown,
        "",
        f"- goal p99 < {GOAL_P99_MS:.0f} ms, zero lost, zero duplicated: "
        f"**{'met' if met else 'missed'}** (p99 "
        f"{percentile(latencies, 0.99) if latencies else float('nan'):.1f} ms, {lost:,} lost, "
        f"{duplicated:,} duplicated, {unexpected:,} delivered outside the subscription)",
        f"- sockets closed by the server during the run: {len(closed):,}"
        + (f" ({', '.join(sorted(set(closed.values())))})" if closed else ""),
        f"- client processes' CPU from live to done: "
        f"{', '.join(f'{report.cpu_seconds:.1f} s' for report in reports)}",
    ]
    return "\n".join(lines)
