"""`make bench`: booking throughput and week-view latency, each beside its bare-SQL limit; 500
holds racing for one time (tests/bench/race.py); real-time fan-out latency beside a bare NOTIFY
(tests/bench/realtime.py); the web app (tests/bench/web.py).

Runs on a database of its own (medbook_bench on the embedded server, or BENCH_DATABASE_URL),
seeded with the demo clinics and 50,000 appointments, against a real `medbook serve` process
with throwaway keys. Every hold and confirm is made by a signed-in patient (a session row and
its cookie, made up front in bulk), as the API requires.
With BENCH_BASELINE=<commit>, the booking and race benchmarks run that commit's API too, beside
this one, rounds alternating (tests/bench/baseline.py), and report the ratios.
Prints a Markdown report; copy it into docs/performance.md with the machine and the date.
`python -m tests.bench booking` (or race, realtime, web) runs only those named.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from medbook import schema
from medbook.booking import repository
from medbook.data_key import generate_data_key
from medbook.db import asyncpg_dsn, start_embedded_server
from medbook.identity import sessions
from medbook.identity.keys import generate_key_set, rp_keys_path
from medbook.kernel.statuses import active_statuses_sql
from medbook.kernel.time import local_day_bounds
from medbook.privacy.notice import CURRENT_NOTICE_VERSION
from medbook.settings import REPO_ROOT
from tests.bench import race, realtime, web
from tests.bench.baseline import Baseline, baseline_code
from tests.bench.data import SignedInPatient, build, sign_in_patients
from tests.bench.http import KeepAliveConnection
from tests.live import LiveServer, start_live_server, stop_live_server

GP_CODE = "gp-consultation"
SINGAPORE = ZoneInfo("Asia/Singapore")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
API_WORKERS = os.cpu_count() or 1
OPERATIONS = 300
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WEEK_VIEW_REQUESTS = 200
SEARCH_DAYS = 7  # free slots are looked for a week at a time
BARE_SQL = "bare SQL"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples_ms: list[float]) -> str:
    return f"p50 {percentile(samples_ms, 0.50):.1f} ms, p99 {percentile(samples_ms, 0.99):.1f} ms"


async def run_concurrently(
    jobs: list[Callable[[], Awaitable[float]]], concurrency: int
) -> tuple[float, list[float]]:
    """Run the jobs `concurrency` at a time; answer (operations per second, latencies in ms)."""
    queue = list(reversed(jobs))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            job = queue.pop()
            latencies.append(await job())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(jobs) / (time.perf_counter() - started), latencies


async def free_slots(
    http: httpx.AsyncClient, gp_id: str, today: date, needed: int, horizon_days: int
) -> list[dict[str, Any]]:
    """`needed` free GP slots that do not overlap one another, so every hold in the run can
    succeed: searched a week at a time from tomorrow until enough are found, within the days the
    service may be booked ahead. The window follows the free time there is (public holidays,
    leave, month and year ends), not a fixed number of days."""
    chosen: list[dict[str, Any]] = []
    last_end: dict[str, datetime] = {}
    first = today + timedelta(days=1)
    last_bookable = today + timedelta(days=horizon_days)
    while len(chosen) < needed and first <= last_bookable:
        last = min(first + timedelta(days=SEARCH_DAYS - 1), last_bookable)
        response = await http.get(
            "/api/v1/availability",
            params={"service_id": gp_id, "from": first.isoformat(), "to": last.isoformat()},
        )
        response.raise_for_status()
        for slot in response.json()["slots"]:
            start = datetime.fromisoformat(slot["start"])
            owner = slot["practitioner_id"]
            if owner in last_end and start < last_end[owner] + timedelta(minutes=30):
                continue
            last_end[owner] = datetime.fromisoformat(slot["end"])
            chosen.append(slot)
        first = last + timedelta(days=1)
    if len(chosen) < needed:
        raise SystemExit(
            f"only {len(chosen)} free GP slots from {today + timedelta(days=1)} to "
            f"{last_bookable}, need {needed}: the bench data leaves too little free time"
        )
    return chosen[:needed]


async def release_bookings(url: str, patients: list[SignedInPatient]) -> None:
    """Cancel what these patients booked, so the next side of a round books the same slots."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE patient_id = ANY($1::uuid[])"
            " AND status IN ('held', 'confirmed')",
            [patient.patient_id for patient in patients],
        )
    finally:
        await connection.close()


async def bench_api_holds(
    server_url: str, gp_id: str, slots: list[dict[str, Any]], patients: list[SignedInPatient]
) -> tuple[float, list[float]]:
    # A fresh connection per patient, as a load balancer would spread them: long-lived
    # connections would all stick to whichever worker process accepted them first.

    def job(slot: dict[str, Any], patient: SignedInPatient) -> Callable[[], Awaitable[float]]:
        async def hold_then_confirm() -> float:
            connection = KeepAliveConnection(server_url)
            try:
                started = time.perf_counter()
                body = {
                    "clinic_id": slot["clinic_id"],
                    "practitioner_id": slot["practitioner_id"],
                    "service_id": gp_id,
                    "start": slot["start"],
                }
                held = await connection.request("POST", "/api/v1/holds", body, patient.headers)
                assert held.status == 201, held.body
                confirmed = await connection.request(
                    "POST",
                    f"/api/v1/holds/{held.json()['hold_id']}/confirm",
                    {
                        "patient": {"full_name": "Bench Patient", "phone": "+65 9123 4567"},
                        "privacy_consent": True,
                    },
                    patient.headers,
                )
                assert confirmed.status == 200, confirmed.body
                return (time.perf_counter() - started) * 1000
            finally:
                await connection.close()

        return hold_then_confirm

    jobs = [job(slot, patient) for slot, patient in zip(slots, patients, strict=True)]
    return await run_concurrently(jobs, CONCURRENCY)


def positional(statement: object, names: list[str]) -> str:
    """A SQLAlchemy text() statement with :named parameters, as asyncpg's $1, $2, ..."""
    return re.sub(r"(?<!:):(\w+)", lambda m: f"${names.index(m.group(1)) + 1}", str(statement))


# The statements the API issues for one hold and one confirm, in the same order, driven
# straight through asyncpg: the limit the API is measured against. Each request starts with
# the session lookup, which also refreshes the session's last_seen_at when it is stale.
RESOLVE_SQL = positional(sessions._RESOLVE, ["token_hash", "touch_every"])
TARGET_SQL = """
SELECT c.*, p.*, s.*,
       EXISTS (SELECT 1 FROM practitioner_services ps WHERE ps.practitioner_id = $2 AND ps.service_id = $3),
       now()
  FROM clinics c JOIN practitioners p ON true JOIN services s ON true
 WHERE c.id = $1 AND p.id = $2 AND s.id = $3
"""
SCHEDULE_PARAMS = [
    "practitioners",
    "clinics",
    "first_day",
    "last_day",
    "span_start",
    "span_end",
    "exclude",
]
SCHEDULE_SQL = positional(repository.SCHEDULE_SQL, SCHEDULE_PARAMS)
# The holder's lock; then the booking locks (practitioner and room), the live-hold count and
# the insert in one statement. No stale hold is in the way of the bench's slots, so the app
# skips the stale-hold expiry, and so does this.
HOLDER_LOCK_SQL = positional(repository._LOCK_NAMES, ["names"])
HOLD_SQL = """
INSERT INTO appointments (kind, status, clinic_id, practitioner_id, room_id, service_id, patient_id, starts_at,
                          ends_at, blocked, hold_expires_at, holder, source)
SELECT 'appointment', 'held', $1, $2, $3, $4, $5, $6, $7, tstzrange($8, $9, '[)'),
       now() + make_interval(secs => 300), $10::text, 'online'
  FROM (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(key)
          FROM (SELECT DISTINCT ('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint AS key
                  FROM unnest($11::text[]) AS name) AS keys ORDER BY key) AS locks) AS booking_locks
 WHERE (SELECT count(*) FROM appointments
         WHERE holder = $10::text AND status = 'held' AND hold_expires_at > now()) < 3
RETURNING *
"""
LOCK_OF_SQL = positional(repository._LOCK_APPOINTMENT_OWNERS, ["appointment_id"])
LOAD_SQL = """
SELECT a.*, c.*, now() FROM appointments a JOIN clinics c ON c.id = a.clinic_id
 WHERE a.id = $1 FOR UPDATE OF a
"""
CONTACT_SQL = "UPDATE patients SET full_name = $1, phone = $2, email = $3 WHERE id = $4"
CONSENT_SQL = """
INSERT INTO consents (patient_id, notice_version, channel) VALUES ($1, $2, 'online')
ON CONFLICT ON CONSTRAINT uq_consents_patient_version DO NOTHING
"""
CONFIRM_SQL = "UPDATE appointments SET status = 'confirmed', updated_at = now() WHERE id = $1"


async def bench_sql_holds(
    url: str, gp: asyncpg.Record, slots: list[dict[str, Any]], patients: list[SignedInPatient]
) -> tuple[float, list[float]]:
    """The hold and confirm transactions as the app issues them, minus Python and HTTP."""
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=CONCURRENCY, max_size=CONCURRENCY)
    templates = await pool.fetch(
        "SELECT practitioner_id, clinic_id, room_id, weekday, start_time, end_time FROM weekly_availability"
    )

    def room_for(
        practitioner: uuid.UUID, clinic: uuid.UUID, start: datetime, end: datetime
    ) -> uuid.UUID | None:
        """The room the rota puts this practitioner in at this time (slot search's rule)."""
        for t in templates:
            if (
                t["practitioner_id"] == practitioner
                and t["clinic_id"] == clinic
                and t["weekday"] == start.weekday()
                and t["start_time"] <= start.time()
                and end.time() <= t["end_time"]
            ):
                return t["room_id"]  # type: ignore[no-any-return]
        return None

    def job(slot: dict[str, Any], patient: SignedInPatient) -> Callable[[], Awaitable[float]]:
        async def hold_then_confirm() -> float:
            started = time.perf_counter()
            start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
            practitioner, clinic = uuid.UUID(slot["practitioner_id"]), uuid.UUID(slot["clinic_id"])
            room = room_for(practitioner, clinic, start, end)
            blocked_start = start - timedelta(minutes=gp["buffer_before_minutes"])
            blocked_end = end + timedelta(minutes=gp["buffer_after_minutes"])
            day = start.date()
            span = local_day_bounds(SINGAPORE, day, day)
            owners = repository.lock_names(repository.TimeOwner(practitioner, room))
            touch_every = sessions.TOUCH_EVERY_SECONDS
            async with pool.acquire() as connection:
                async with connection.transaction():
                    token_hash = sessions.hash_token(patient.token)
                    signed_in = await connection.fetchrow(RESOLVE_SQL, token_hash, touch_every)
                    assert signed_in is not None
                    await connection.fetchrow(TARGET_SQL, clinic, practitioner, gp["id"])
                    await connection.fetchrow(
                        SCHEDULE_SQL, [practitioner], [clinic], day, day, span[0], span[1], None
                    )
                    await connection.execute(HOLDER_LOCK_SQL, [patient.holder])
                    hold = await connection.fetchrow(
                        HOLD_SQL,
                        clinic,
                        practitioner,
                        room,
                        gp["id"],
                        patient.patient_id,
                        start,
                        end,
                        blocked_start,
                        blocked_end,
                        patient.holder,
                        owners,
                    )
                async with connection.transaction():
                    token_hash = sessions.hash_token(patient.token)
                    signed_in = await connection.fetchrow(RESOLVE_SQL, token_hash, touch_every)
                    assert signed_in is not None
                    await connection.execute(LOCK_OF_SQL, hold["id"])
                    await connection.fetchrow(LOAD_SQL, hold["id"])
                    await connection.execute(
                        CONTACT_SQL, "Bench Patient", "+6591234567", None, patient.patient_id
                    )
                    await connection.execute(
                        CONSENT_SQL, patient.patient_id, CURRENT_NOTICE_VERSION
                    )
                    await connection.execute(CONFIRM_SQL, hold["id"])
            return (time.perf_counter() - started) * 1000

        return hold_then_confirm

    jobs = [job(slot, patient) for slot, patient in zip(slots, patients, strict=True)]
    try:
        return await run_concurrently(jobs, CONCURRENCY)
    finally:
        await pool.close()


async def bench_week_view(
    server_url: str, url: str, gp_id: str, clinic_id: str, first: date
) -> tuple[list[float], list[float]]:
    params = {
        "service_id": gp_id,
        "clinic_id": clinic_id,
        "from": first.isoformat(),
        "to": (first + timedelta(days=6)).isoformat(),
    }
    api: list[float] = []
    http = KeepAliveConnection(server_url)
    path = "/api/v1/availability?" + urlencode(params)
    for number in range(WEEK_VIEW_REQUESTS + 20):
        started = time.perf_counter()
        response = await http.request("GET", path)
        assert response.status == 200
        if number >= 20:  # the first requests warm the pool and caches
            api.append((time.perf_counter() - started) * 1000)
    sql: list[float] = []
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        practitioners = [
            r["practitioner_id"]
            for r in await connection.fetch(
                "SELECT DISTINCT practitioner_id FROM weekly_availability WHERE clinic_id = $1",
                uuid.UUID(clinic_id),
            )
        ]
        rooms = [
            r["room_id"]
            for r in await connection.fetch(
                "SELECT DISTINCT room_id FROM weekly_availability WHERE clinic_id = $1",
                uuid.UUID(clinic_id),
            )
        ]
        span_start = datetime.combine(first - timedelta(days=1), datetime.min.time()).astimezone()
        span_end = span_start + timedelta(days=9)
        for number in range(WEEK_VIEW_REQUESTS + 20):
            started = time.perf_counter()
            async with connection.transaction():
                await connection.fetch(
                    "SELECT * FROM weekly_availability WHERE practitioner_id = ANY($1) AND clinic_id = $2",
                    practitioners,
                    uuid.UUID(clinic_id),
                )
                await connection.fetch(
                    "SELECT * FROM time_off WHERE practitioner_id = ANY($1) AND starts_at < $3 AND ends_at > $2",
                    practitioners,
                    span_start,
                    span_end,
                )
                await connection.fetch(
                    "SELECT * FROM clinic_closures WHERE (clinic_id IS NULL OR clinic_id = $1) AND day BETWEEN $2 AND $3",
                    uuid.UUID(clinic_id),
                    first,
                    first + timedelta(days=6),
                )
                await connection.fetch(
                    f"SELECT practitioner_id, room_id, lower(blocked), upper(blocked) FROM appointments WHERE (practitioner_id = ANY($1) OR room_id = ANY($2)) AND status IN ({active_statuses_sql()}) AND (status <> 'held' OR hold_expires_at > now()) AND blocked && tstzrange($3, $4, '[)')",
                    practitioners,
                    rooms,
                    span_start,
                    span_end,
                )
            if number >= 20:
                sql.append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
    return api, sql


async def prepare_database() -> tuple[str, str]:
    """The bench's database, made anew, and the URL of the server's admin database (where
    the race benchmark makes its own)."""
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        connection = await asyncpg.connect(asyncpg_dsn(given))
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        await connection.close()
        admin: str = make_url(given).set(database="postgres").render_as_string(hide_password=False)
        return given, admin
    server = start_embedded_server(REPO_ROOT / ".data" / "bench-postgres")
    admin = server.get_uri("postgres")
    connection = await asyncpg.connect(asyncpg_dsn(admin))
    await connection.execute('DROP DATABASE IF EXISTS "medbook_bench" WITH (FORCE)')
    await connection.execute('CREATE DATABASE "medbook_bench"')
    await connection.close()
    url: str = server.get_uri("medbook_bench")
    return url, admin


async def measure(url: str, servers: dict[str, str], today: date) -> str:
    """Hold then confirm through each API (this code, and the baseline's if given) and as bare
    SQL, and the week view through each API and as bare SQL. Every side of a round books the
    same slots (each side's bookings are cancelled after it), with patients of its own."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    gp = await connection.fetchrow(
        "SELECT id, buffer_before_minutes, buffer_after_minutes, max_days_ahead FROM services"
        " WHERE code = $1",
        GP_CODE,
    )
    clinic_id = str(await connection.fetchval("SELECT id FROM clinics ORDER BY name LIMIT 1"))
    appointments = await connection.fetchval("SELECT count(*) FROM appointments")
    await connection.close()
    gp_id = str(gp["id"])
    this_code = next(iter(servers.values()))
    async with httpx.AsyncClient(base_url=this_code, timeout=30) as http:
        slots = await free_slots(http, gp_id, today, OPERATIONS, gp["max_days_ahead"])
    sides = [*servers, BARE_SQL]
    patients = iter(await sign_in_patients(url, OPERATIONS * len(sides) * ROUNDS))
    # The machine is shared and noisy: alternate the sides, rotating who goes first, and
    # compare medians.
    rates: dict[str, list[float]] = {side: [] for side in sides}
    latency: dict[str, list[float]] = {side: [] for side in sides}
    week: dict[str, list[float]] = {side: [] for side in sides}
    for round_number in range(ROUNDS):
        turn = round_number % len(sides)
        for side in sides[turn:] + sides[:turn]:
            people = [next(patients) for _ in range(OPERATIONS)]
            if side == BARE_SQL:
                rate, took = await bench_sql_holds(url, gp, slots, people)
            else:
                rate, took = await bench_api_holds(servers[side], gp_id, slots, people)
            rates[side].append(rate)
            latency[side] += took
            await release_bookings(url, people)
        for side, server_url in servers.items():
            api, sql = await bench_week_view(
                server_url, url, gp_id, clinic_id, today + timedelta(days=7)
            )
            week[side] += api
            week[BARE_SQL] += sql
    median = {side: statistics.median(rates[side]) for side in sides}
    sql_rate = median[BARE_SQL]
    lines = [
        f"- data: {appointments:,} appointments, 3 clinics, demo practitioners; "
        f"{OPERATIONS} free GP slots from {slots[0]['start'][:10]} to {slots[-1]['start'][:10]}",
        f"- load: {CONCURRENCY} concurrent clients; {API_WORKERS} API worker processes per API; "
        f"{ROUNDS} rounds, sides alternating, medians shown",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL embedded 18",
        "",
        "| hold then confirm | ops/s | latency | / bare SQL (rounds) |",
        "|---|---|---|---|",
    ]
    for side in sides:
        by_round = ", ".join(
            f"{a / b:.2f}" for a, b in zip(rates[side], rates[BARE_SQL], strict=True)
        )
        lines.append(
            f"| {side}, {OPERATIONS} ops x {ROUNDS} | {median[side]:.0f} | {summary(latency[side])} "
            f"| {median[side] / sql_rate:.2f} ({by_round}) |"
        )
    lines += ["", "| week view, one clinic | latency |", "|---|---|"]
    lines += [f"| {side}, {len(week[side])} requests | {summary(week[side])} |" for side in sides]
    if len(servers) == 2:
        mine, theirs = servers
        by_round = ", ".join(
            f"{a / b:.2f}" for a, b in zip(rates[mine], rates[theirs], strict=True)
        )
        lines += [
            "",
            f"- hold then confirm, {mine} / {theirs}: {median[mine] / median[theirs]:.2f} "
            f"(rounds: {by_round}); goal >= 1.00",
            f"- week view p99, {mine} / {theirs}: "
            f"{percentile(week[mine], 0.99) / percentile(week[theirs], 0.99):.2f}",
        ]
    return "\n".join(lines)


BENCHMARKS = ("booking", "race", "realtime", "web")


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    if not set(chosen) <= set(BENCHMARKS):
        raise SystemExit(f"usage: python -m tests.bench [{' '.join(BENCHMARKS)}]")
    url, admin_url = asyncio.run(prepare_database())
    schema.upgrade(url)
    started = time.perf_counter()
    today, count = build(url)
    print(f"seeded {count:,} appointments in {time.perf_counter() - started:.1f} s", flush=True)
    scratch = Path(tempfile.mkdtemp())
    # Throwaway keys: the server will not start without a data key and a Singpass key set.
    keys = scratch / "keys"
    generate_data_key(keys)
    generate_key_set(rp_keys_path(keys), rotate=False)
    with baseline_code(os.environ.get("BENCH_BASELINE")) as baseline:
        if "booking" in chosen:
            report = run_booking(url, keys, scratch, today, baseline)
            print(f"\n## make bench, {date.today().isoformat()}\n\n{report}\n", flush=True)
        if "race" in chosen:
            report = race.run(admin_url, keys, scratch, baseline)
            print(f"\n## make bench, holds racing, {date.today().isoformat()}\n\n{report}\n")
    if "realtime" in chosen:
        report = realtime.run(url, keys, scratch, today)
        print(f"\n## make bench, real-time fan-out, {date.today().isoformat()}\n\n{report}\n")
    if "web" in chosen:
        service_id = asyncio.run(service_of(url, "gp-consultation"))
        report = web.run(url, keys, scratch, service_id, (today + timedelta(days=1)).isoformat())
        print(f"\n## make bench, web app, {date.today().isoformat()}\n\n{report}\n")


def run_booking(url: str, keys: Path, scratch: Path, today: date, baseline: Baseline | None) -> str:
    """One API per code version, one process per core each, as production would run them."""
    # This code refuses several workers with per-process rate-limit counters unless told:
    # the figures are measured as before Redis-shared counters (older code has no such flag).
    versions: dict[str, tuple[dict[str, str], list[str]]] = {
        "this code": ({}, ["--per-process-rate-limits"])
    }
    if baseline is not None:
        versions[baseline.label] = (baseline.env, [])
    servers: dict[str, LiveServer] = {}
    try:
        for number, (label, (env, args)) in enumerate(versions.items()):
            log = scratch / f"server-{number}.log"
            servers[label] = start_live_server(
                url, log, workers=API_WORKERS, extra_args=args, MEDBOOK_KEYS_DIR=str(keys), **env
            )
        return asyncio.run(measure(url, {label: s.url for label, s in servers.items()}, today))
    finally:
        for server in servers.values():
            stop_live_server(server)


async def service_of(url: str, code: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return str(await connection.fetchval("SELECT id FROM services WHERE code = $1", code))
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
