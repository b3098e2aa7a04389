"""Benchmark data: the demo clinics plus 50,000 past and future appointments, and signed-in
patients to book with."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import select, text

from medbook.booking.availability import slot_rules
from medbook.clinics.demo import seed_demo
from medbook.clinics.models import Clinic, Service, WeeklyAvailability
from medbook.db import asyncpg_dsn, create_engine, session_factory
from medbook.identity.sessions import CSRF_HEADER, SESSION_COOKIE, hash_token, idle_seconds
from medbook.scheduling import Interval, WeeklyRule, find_slots, working_windows
from medbook.settings import get_settings

# (clinic, practitioner, room, service, start, end, blocked interval)
VisitRow = tuple[uuid.UUID, uuid.UUID, Hashable | None, uuid.UUID, datetime, datetime, Interval]


async def seed(url: str) -> date:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            today: date = (await session.execute(text("SELECT current_date"))).scalar_one()
            await seed_demo(session, today)
            return today
    finally:
        await engine.dispose()


async def appointment_rows(
    url: str, today: date, target: int, past_days: int, future_days: int
) -> list[VisitRow]:
    """Book about `target` GP visits on the demo timetable, leaving every other slot free.

    The slots come from the scheduling code itself, so every generated visit is one a patient
    could have booked: on the grid, inside working hours, clear of buffers.
    """
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            gp = (
                await session.scalars(select(Service).where(Service.code == "gp-consultation"))
            ).first()
            assert gp is not None
            clinics = {c.id: c for c in (await session.scalars(select(Clinic))).all()}
            templates = (await session.scalars(select(WeeklyAvailability))).all()
    finally:
        await engine.dispose()
    rules = slot_rules(gp)
    by_owner: dict[tuple[uuid.UUID, uuid.UUID], list[WeeklyRule]] = defaultdict(list)
    for t in templates:
        by_owner[(t.clinic_id, t.practitioner_id)].append(
            WeeklyRule(t.weekday, t.start_time, t.end_time, date(2000, 1, 1), None, t.room_id)
        )
    first, last = today - timedelta(days=past_days), today + timedelta(days=future_days)
    long_ago = datetime.combine(
        first - timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo("UTC")
    )
    now = datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo("UTC"))
    anywhen = replace(rules, min_notice=timedelta(0), max_ahead=timedelta(days=10_000))
    past: list[VisitRow] = []
    future: list[VisitRow] = []
    for (clinic_id, practitioner_id), owner_rules in by_owner.items():
        tz = ZoneInfo(clinics[clinic_id].timezone)
        windows = working_windows(owner_rules, tz, first, last)
        search_to = long_ago + timedelta(days=past_days + future_days + 3)
        last_taken: Interval | None = None
        for number, slot in enumerate(
            find_slots(anywhen, tz, windows, [], {}, long_ago, long_ago, search_to)
        ):
            # The past is busy (every other slot); the future keeps most slots free for booking.
            keep_every = 2 if slot.start < now else 4
            if number % keep_every or (last_taken and last_taken.overlaps(slot.blocked)):
                continue
            last_taken = slot.blocked
            row = (
                clinic_id,
                practitioner_id,
                slot.room_id,
                gp.id,
                slot.start,
                slot.end,
                slot.blocked,
            )
            (past if slot.start < now else future).append(row)
    wanted_past = max(0, target - len(future))
    step = max(1, len(past) // max(1, wanted_past))
    return future + past[::step][:wanted_past]


async def insert_appointments(url: str, rows: list[VisitRow], today: date) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        now = datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo("UTC"))
        records = [
            (
                uuid.uuid4(),
                "appointment",
                "completed" if start < now else "confirmed",
                clinic_id,
                practitioner_id,
                room_id,
                service_id,
                start,
                end,
                asyncpg.Range(blocked.start, blocked.end, upper_inc=False),
                "online",
            )
            for clinic_id, practitioner_id, room_id, service_id, start, end, blocked in rows
        ]
        await connection.copy_records_to_table(
            "appointments",
            records=records,
            columns=[
                "id",
                "kind",
                "status",
                "clinic_id",
                "practitioner_id",
                "room_id",
                "service_id",
                "starts_at",
                "ends_at",
                "blocked",
                "source",
            ],
        )
        await connection.execute("ANALYZE")
        return len(records)
    finally:
        await connection.close()


def build(url: str, target: int = 50_000) -> tuple[date, int]:
    today = asyncio.run(seed(url))
    rows = asyncio.run(appointment_rows(url, today, target, past_days=330, future_days=45))
    return today, asyncio.run(insert_appointments(url, rows, today))


@dataclass(frozen=True, slots=True)
class SignedInPatient:
    """A Singpass patient with a live session, as the sign-in flow would have left them."""

    patient_id: uuid.UUID
    token: str  # the session cookie's value; the database keeps only its hash
    csrf_token: str

    @property
    def holder(self) -> str:
        """The key the API counts live holds and rate limits against (Actor.key)."""
        return f"patient:{self.patient_id}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.token}", CSRF_HEADER: self.csrf_token}


_INSERT_PATIENTS = """
INSERT INTO patients (id, singpass_uuid) SELECT * FROM unnest($1::uuid[], $2::text[])
"""
# As identity.sessions.start_session writes them. last_seen_at is a minute back, as if the
# patient signed in and then took a minute to pick a time: the hold's session lookup then
# always refreshes last_seen_at and the confirm's never does, through the API and in bare SQL
# alike, whatever the timing of the run.
_INSERT_SESSIONS = """
INSERT INTO user_sessions
    (token_hash, kind, stage, patient_id, csrf_token, idle_seconds, last_seen_at, expires_at)
SELECT token_hash, 'patient', 'full', patient_id, csrf_token, $4,
       now() - interval '1 minute', now() + make_interval(secs => $5)
  FROM unnest($1::bytea[], $2::uuid[], $3::text[]) AS s(token_hash, patient_id, csrf_token)
"""


async def sign_in_patients(url: str, count: int) -> list[SignedInPatient]:
    """`count` patients, each signed in once, in two bulk statements: new Singpass patients,
    who give their name and phone at checkout."""
    settings = get_settings()
    patients = [
        SignedInPatient(uuid.uuid4(), secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        for _ in range(count)
    ]
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute(
                _INSERT_PATIENTS,
                [p.patient_id for p in patients],
                [str(uuid.uuid4()) for _ in patients],
            )
            await connection.execute(
                _INSERT_SESSIONS,
                [hash_token(p.token) for p in patients],
                [p.patient_id for p in patients],
                [p.csrf_token for p in patients],
                idle_seconds(settings, "patient"),
                settings.session_absolute_hours * 3600,
            )
        await connection.execute("ANALYZE patients, user_sessions")
    finally:
        await connection.close()
    return patients
