"""Demo content for `medbook seed-demo`: Medical Inc.'s three Singapore clinics, ready to book.

Everything is matched on its natural key and inserted only when missing, so seeding again creates
nothing and changes nothing, and rows an operator has edited since are left as they are.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import Result, Table, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import (
    Clinic,
    ClinicClosure,
    OpeningHours,
    Practitioner,
    Room,
    Service,
    TimeOff,
    WeeklyAvailability,
    practitioner_services,
)
from medbook.clinics.terms import check_service_terms
from medbook.db import Base

SINGAPORE = "Asia/Singapore"
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = (MON, TUE, WED, THU, FRI)

# Templates start a month back, so the demo also has a past to look at.
TEMPLATES_VALID_SINCE = timedelta(days=30)

Hours = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class DemoClinic:
    code: str
    name: str
    address: str
    postal_code: str
    phone: str
    # Weekday -> opening sessions; a weekday left out is closed all day.
    opening_hours: Mapping[int, Hours]
    rooms: tuple[str, ...]
    # The shifts practitioners are rostered into; each lies inside one opening session.
    shifts: Mapping[str, tuple[time, time]]


@dataclass(frozen=True)
class DemoService:
    code: str
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    grid_minutes: int
    price_cents: int
    deposit_cents: int
    min_notice_minutes: int
    max_days_ahead: int
    cancellation_window_hours: int
    online_payment: str = "none"  # the rest is paid at the clinic


@dataclass(frozen=True)
class DemoPractitioner:
    registration_number: str
    title: str
    full_name: str
    profession: str


@dataclass(frozen=True)
class RotaLine:
    """One practitioner in one room of one clinic, on these weekdays, for these shifts."""

    registration_number: str
    clinic_code: str
    room: str
    weekdays: tuple[int, ...]
    shifts: tuple[str, ...]


MORNING = (time(8, 30), time(13, 0))

CLINICS = (
    DemoClinic(
        code="tampines",
        name="Medical Inc. Tampines",
        address="Blk 823 Tampines Street 81, #01-234",
        postal_code="520823",
        phone="+65 6783 2150",
        opening_hours={
            **{
                day: (MORNING, (time(14, 0), time(17, 0)), (time(18, 0), time(21, 0)))
                for day in WEEKDAYS
            },
            SAT: (MORNING,),
            SUN: ((time(9, 0), time(13, 0)),),
        },
        rooms=(
            "Consult Room 1",
            "Consult Room 2",
            "Consult Room 3",
            "Consult Room 4",
            "Physiotherapy Room",
            "Treatment Room",
        ),
        shifts={
            "am": MORNING,
            "pm": (time(14, 0), time(17, 0)),
            "eve": (time(18, 0), time(21, 0)),
            "sun": (time(9, 0), time(13, 0)),
        },
    ),
    DemoClinic(
        code="jurong-east",
        name="Medical Inc. Jurong East",
        address="Blk 135 Jurong Gateway Road, #01-317",
        postal_code="600135",
        phone="+65 6561 4827",
        opening_hours={
            **{day: (MORNING, (time(14, 0), time(21, 0))) for day in WEEKDAYS},
            SAT: (MORNING,),
        },
        rooms=(
            "Consult Room 1",
            "Consult Room 2",
            "Consult Room 3",
            "Consult Room 4",
            "Physiotherapy Room",
            "Treatment Room",
        ),
        shifts={
            "am": MORNING,
            "pm": (time(14, 0), time(17, 30)),
            "eve": (time(17, 30), time(21, 0)),
        },
    ),
    DemoClinic(
        code="novena",
        name="Medical Inc. Novena",
        address="10 Sinaran Drive, #09-18 Novena Medical Center",
        postal_code="307506",
        phone="+65 6352 9013",
        opening_hours={
            **{day: (MORNING, (time(14, 0), time(18, 0))) for day in WEEKDAYS},
            SAT: ((time(8, 30), time(12, 30)),),
        },
        rooms=(
            "Consult Room 1",
            "Consult Room 2",
            "Consult Room 3",
            "Physiotherapy Room",
            "Treatment Room",
        ),
        shifts={
            "am": MORNING,
            "pm": (time(14, 0), time(18, 0)),
            "sat": (time(8, 30), time(12, 30)),
        },
    ),
)

# Each duration plus its buffers is a whole number of grid steps, so back-to-back bookings leave
# no unbookable gaps.
SERVICES = (
    DemoService(
        code="gp-consultation",
        name="GP consultation",
        description=(
            "See a family doctor for fever, cough, flu or a minor injury, or for a medical "
            "certificate."
        ),
        duration_minutes=15,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        grid_minutes=15,
        price_cents=4500,
        deposit_cents=0,
        min_notice_minutes=30,
        max_days_ahead=30,
        cancellation_window_hours=2,
    ),
    DemoService(
        code="chronic-review",
        name="Chronic disease review",
        description=(
            "Follow-up for diabetes, high blood pressure or high cholesterol, "
            "with a review of your medication."
        ),
        duration_minutes=20,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        grid_minutes=20,
        price_cents=6000,
        deposit_cents=0,
        min_notice_minutes=60,
        max_days_ahead=90,
        cancellation_window_hours=24,
    ),
    DemoService(
        code="health-screening",
        name="Health screening",
        description=(
            "Blood pressure, BMI, blood and urine tests and a doctor's review. "
            "Please fast for 8 to 10 hours before your appointment."
        ),
        duration_minutes=45,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        grid_minutes=15,
        price_cents=18000,
        deposit_cents=5000,
        min_notice_minutes=120,
        max_days_ahead=90,
        cancellation_window_hours=48,
        online_payment="deposit",
    ),
    DemoService(
        code="vaccination",
        name="Vaccination",
        description="Influenza, pneumococcal, HPV, hepatitis B and travel vaccines.",
        duration_minutes=10,
        buffer_before_minutes=0,
        buffer_after_minutes=5,
        grid_minutes=15,
        price_cents=3500,
        deposit_cents=0,
        min_notice_minutes=60,
        max_days_ahead=60,
        cancellation_window_hours=12,
    ),
    DemoService(
        code="physiotherapy",
        name="Physiotherapy session",
        description="Assessment and treatment of back, neck, sports and post-operative conditions.",
        duration_minutes=45,
        buffer_before_minutes=0,
        buffer_after_minutes=15,
        grid_minutes=30,
        price_cents=9500,
        deposit_cents=3000,
        min_notice_minutes=120,
        max_days_ahead=60,
        cancellation_window_hours=24,
        online_payment="deposit",
    ),
)

SERVICES_BY_PROFESSION = {
    "doctor": ("gp-consultation", "chronic-review", "health-screening", "vaccination"),
    "physiotherapist": ("physiotherapy",),
    "nurse": ("vaccination",),
}

# Doctors carry Singapore Medical Council numbers (M + 5 digits + letter); physiotherapists and
# nurses get look-alike numbers of their own (P... and N...) so the three never collide.
PRACTITIONERS = (
    DemoPractitioner("M23817J", "Dr", "Tan Wei Ming", "doctor"),
    DemoPractitioner("M41562C", "Dr", "Lim Hui Min", "doctor"),
    DemoPractitioner("M30975H", "Dr", "Nurul Aisyah binte Rahman", "doctor"),
    DemoPractitioner("M18344E", "Dr", "Rajesh Kumar s/o Subramaniam", "doctor"),
    DemoPractitioner("M52208K", "Dr", "Goh Kai Xiang", "doctor"),
    DemoPractitioner("M47731B", "Dr", "Siti Hajar binte Ismail", "doctor"),
    DemoPractitioner("M35586D", "Dr", "Priya Nair", "doctor"),
    DemoPractitioner("M29473G", "Dr", "Marcus de Souza", "doctor"),
    DemoPractitioner("M60129F", "Dr", "Ong Li Ting", "doctor"),
    DemoPractitioner("M44902A", "Dr", "Muhammad Faizal bin Osman", "doctor"),
    DemoPractitioner("M57016L", "Dr", "Chua Jun Jie", "doctor"),
    DemoPractitioner("M38260N", "Dr", "Kavitha Ramasamy", "doctor"),
    DemoPractitioner("M26691T", "Dr", "Sarah Pereira", "doctor"),
    DemoPractitioner("P10427K", "Mr", "Daniel Rozario", "physiotherapist"),
    DemoPractitioner("P11853D", "Ms", "Wong Pei Shan", "physiotherapist"),
    DemoPractitioner("P12096R", "Mr", "Muhammad Hafiz bin Abdullah", "physiotherapist"),
    DemoPractitioner("P10734S", "Ms", "Deepa Menon", "physiotherapist"),
    DemoPractitioner("N20318F", "Ms", "Lee Mei Ling", "nurse"),
    DemoPractitioner("N21475W", "Ms", "Farah binte Yusof", "nurse"),
    DemoPractitioner("N19862M", "Mr", "Arun Pillai", "nurse"),
)

MWF = (MON, WED, FRI)
TT = (TUE, THU)
MTW = (MON, TUE, WED)
TF = (THU, FRI)

# Who works where, room by room: one person per room and shift, and a practitioner who works
# at two clinics does so on different days.
ROTA = (
    # Tampines
    RotaLine("M41562C", "tampines", "Consult Room 1", (*WEEKDAYS, SAT), ("am",)),
    RotaLine("M41562C", "tampines", "Consult Room 1", WEEKDAYS, ("pm",)),
    RotaLine("M44902A", "tampines", "Consult Room 1", WEEKDAYS, ("eve",)),
    RotaLine("M60129F", "tampines", "Consult Room 1", (SUN,), ("sun",)),
    RotaLine("M23817J", "tampines", "Consult Room 2", MWF, ("am", "pm")),
    RotaLine("M38260N", "tampines", "Consult Room 2", TT, ("am", "pm")),
    RotaLine("M60129F", "tampines", "Consult Room 2", MTW, ("eve",)),
    RotaLine("M44902A", "tampines", "Consult Room 2", (SAT,), ("am",)),
    RotaLine("M30975H", "tampines", "Consult Room 3", MTW, ("am", "pm")),
    RotaLine("M60129F", "tampines", "Consult Room 3", TF, ("am", "pm")),
    RotaLine("M44902A", "tampines", "Consult Room 4", TT, ("am",)),
    RotaLine("P10427K", "tampines", "Physiotherapy Room", (*MWF, SAT), ("am",)),
    RotaLine("P10427K", "tampines", "Physiotherapy Room", MWF, ("pm",)),
    RotaLine("P10734S", "tampines", "Physiotherapy Room", TT, ("am", "pm")),
    RotaLine("N20318F", "tampines", "Treatment Room", (*WEEKDAYS, SAT), ("am",)),
    RotaLine("N20318F", "tampines", "Treatment Room", WEEKDAYS, ("pm",)),
    # Jurong East
    RotaLine("M18344E", "jurong-east", "Consult Room 1", (*WEEKDAYS, SAT), ("am",)),
    RotaLine("M18344E", "jurong-east", "Consult Room 1", WEEKDAYS, ("pm",)),
    RotaLine("M52208K", "jurong-east", "Consult Room 2", (*WEEKDAYS, SAT), ("am",)),
    RotaLine("M52208K", "jurong-east", "Consult Room 2", WEEKDAYS, ("pm",)),
    RotaLine("M47731B", "jurong-east", "Consult Room 3", MTW, ("am", "pm")),
    RotaLine("M30975H", "jurong-east", "Consult Room 3", TF, ("am", "pm")),
    RotaLine("M57016L", "jurong-east", "Consult Room 4", WEEKDAYS, ("pm", "eve")),
    RotaLine("P11853D", "jurong-east", "Physiotherapy Room", (*MWF, SAT), ("am",)),
    RotaLine("P11853D", "jurong-east", "Physiotherapy Room", MWF, ("pm",)),
    RotaLine("P10427K", "jurong-east", "Physiotherapy Room", TT, ("am", "pm")),
    RotaLine("N21475W", "jurong-east", "Treatment Room", WEEKDAYS, ("am", "pm")),
    RotaLine("N19862M", "jurong-east", "Treatment Room", (SAT,), ("am",)),
    # Novena
    RotaLine("M35586D", "novena", "Consult Room 1", WEEKDAYS, ("am", "pm")),
    RotaLine("M35586D", "novena", "Consult Room 1", (SAT,), ("sat",)),
    RotaLine("M38260N", "novena", "Consult Room 2", MWF, ("am", "pm")),
    RotaLine("M23817J", "novena", "Consult Room 2", TT, ("am", "pm")),
    RotaLine("M26691T", "novena", "Consult Room 2", (SAT,), ("sat",)),
    RotaLine("M29473G", "novena", "Consult Room 3", MTW, ("am",)),
    RotaLine("M26691T", "novena", "Consult Room 3", MTW, ("pm",)),
    RotaLine("M47731B", "novena", "Consult Room 3", TF, ("am", "pm")),
    RotaLine("P12096R", "novena", "Physiotherapy Room", WEEKDAYS, ("am", "pm")),
    RotaLine("P10734S", "novena", "Physiotherapy Room", (SAT,), ("sat",)),
    RotaLine("N19862M", "novena", "Treatment Room", WEEKDAYS, ("am", "pm")),
)

# Dr Tan works at Tampines and Novena: leave next week shows he is away at both.
ON_LEAVE = "M23817J"
LEAVE_REASON = "Annual leave"

_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"medbook.clinics.seed_demo").digest()[:8], "big", signed=True
)


async def seed_demo(session: AsyncSession, today: date) -> dict[str, int]:
    """Create the demo clinics, services, practitioners, rota and public holidays if missing.

    Only flushes; the caller commits. Returns how many rows of each kind this run created (all
    zero when everything was there already). `today` anchors the templates' validity, the public
    holidays (this year and next) and the practitioner leave next week.
    """
    # Two seeders at once would both find a template missing and both insert it.
    await session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))

    created = {"clinics": await _seed_clinics(session)}
    clinic_ids = await _clinic_ids(session)
    created["opening_hours"] = await _seed_opening_hours(session, clinic_ids)
    created["rooms"] = await _seed_rooms(session, clinic_ids)
    for service in SERVICES:  # the administration's rule, before the database's checks
        check_service_terms(service)
    created["services"] = await _insert_missing(
        session, Service, [asdict(service) for service in SERVICES], ["code"]
    )
    created["practitioners"] = await _insert_missing(
        session,
        Practitioner,
        [asdict(practitioner) for practitioner in PRACTITIONERS],
        ["registration_number"],
    )
    practitioner_ids = await _practitioner_ids(session)
    created["practitioner_services"] = await _seed_practitioner_services(session, practitioner_ids)
    created["weekly_availability"] = await _seed_rota(
        session, clinic_ids, practitioner_ids, today - TEMPLATES_VALID_SINCE
    )
    created["public_holidays"] = await _seed_public_holidays(session, today)
    created["time_off"] = await _seed_leave(session, practitioner_ids[ON_LEAVE], today)
    return created


async def _insert_missing(
    session: AsyncSession,
    table: type[Base] | Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
) -> int:
    """Insert the rows whose `key` columns are not taken yet; return how many went in."""
    if not rows:
        return 0
    inserted: Result[Any] = await session.execute(
        insert(table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(literal_column("1"))
    )
    return len(inserted.all())


async def _seed_clinics(session: AsyncSession) -> int:
    rows = [
        {
            "code": clinic.code,
            "name": clinic.name,
            "address": clinic.address,
            "postal_code": clinic.postal_code,
            "phone": clinic.phone,
            "timezone": SINGAPORE,
        }
        for clinic in CLINICS
    ]
    return await _insert_missing(session, Clinic, rows, ["code"])


async def _clinic_ids(session: AsyncSession) -> dict[str, uuid.UUID]:
    query = select(Clinic.code, Clinic.id).where(Clinic.code.in_([c.code for c in CLINICS]))
    return {code: clinic_id for code, clinic_id in (await session.execute(query)).all()}


async def _practitioner_ids(session: AsyncSession) -> dict[str, uuid.UUID]:
    numbers = [p.registration_number for p in PRACTITIONERS]
    query = select(Practitioner.registration_number, Practitioner.id).where(
        Practitioner.registration_number.in_(numbers)
    )
    return {number: pid for number, pid in (await session.execute(query)).all()}


async def _seed_opening_hours(session: AsyncSession, clinic_ids: Mapping[str, uuid.UUID]) -> int:
    """Hours belong to the clinic as a whole: a clinic that has any is left as it is."""
    query = select(OpeningHours.clinic_id).where(OpeningHours.clinic_id.in_(clinic_ids.values()))
    with_hours = set((await session.scalars(query)).all())
    rows = [
        {"clinic_id": clinic_ids[clinic.code], "weekday": day, "opens": opens, "closes": closes}
        for clinic in CLINICS
        if clinic_ids[clinic.code] not in with_hours
        for day, sessions in clinic.opening_hours.items()
        for opens, closes in sessions
    ]
    if rows:
        await session.execute(insert(OpeningHours).values(rows))
    return len(rows)


async def _seed_rooms(session: AsyncSession, clinic_ids: Mapping[str, uuid.UUID]) -> int:
    rows = [
        {"clinic_id": clinic_ids[clinic.code], "name": room}
        for clinic in CLINICS
        for room in clinic.rooms
    ]
    return await _insert_missing(session, Room, rows, ["clinic_id", "name"])


async def _room_ids(
    session: AsyncSession, clinic_ids: Mapping[str, uuid.UUID]
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    query = select(Room.clinic_id, Room.name, Room.id).where(
        Room.clinic_id.in_(clinic_ids.values())
    )
    rooms = (await session.execute(query)).all()
    return {(clinic_id, name): room_id for clinic_id, name, room_id in rooms}


async def _seed_practitioner_services(
    session: AsyncSession, practitioner_ids: Mapping[str, uuid.UUID]
) -> int:
    codes = [service.code for service in SERVICES]
    query = select(Service.code, Service.id).where(Service.code.in_(codes))
    service_ids = {code: sid for code, sid in (await session.execute(query)).all()}
    rows = [
        {
            "practitioner_id": practitioner_ids[p.registration_number],
            "service_id": service_ids[code],
        }
        for p in PRACTITIONERS
        for code in SERVICES_BY_PROFESSION[p.profession]
    ]
    return await _insert_missing(
        session, practitioner_services, rows, ["practitioner_id", "service_id"]
    )


async def _seed_rota(
    session: AsyncSession,
    clinic_ids: Mapping[str, uuid.UUID],
    practitioner_ids: Mapping[str, uuid.UUID],
    valid_from: date,
) -> int:
    """Weekly templates, matched on (practitioner, clinic, weekday, start time)."""
    room_ids = await _room_ids(session, clinic_ids)
    existing_query = select(
        WeeklyAvailability.practitioner_id,
        WeeklyAvailability.clinic_id,
        WeeklyAvailability.weekday,
        WeeklyAvailability.start_time,
    ).where(WeeklyAvailability.practitioner_id.in_(practitioner_ids.values()))
    existing = {tuple(row) for row in await session.execute(existing_query)}
    clinics = {clinic.code: clinic for clinic in CLINICS}

    rows: list[dict[str, Any]] = []
    for line in ROTA:
        practitioner_id = practitioner_ids[line.registration_number]
        clinic_id = clinic_ids[line.clinic_code]
        for day in line.weekdays:
            for shift in line.shifts:
                start, end = clinics[line.clinic_code].shifts[shift]
                if (practitioner_id, clinic_id, day, start) in existing:
                    continue
                rows.append(
                    {
                        "practitioner_id": practitioner_id,
                        "clinic_id": clinic_id,
                        "room_id": room_ids[(clinic_id, line.room)],
                        "weekday": day,
                        "start_time": start,
                        "end_time": end,
                        "valid_from": valid_from,
                        "valid_until": None,
                    }
                )
    if rows:
        await session.execute(insert(WeeklyAvailability).values(rows))
    return len(rows)


def _public_holidays(today: date) -> dict[date, str]:
    """Singapore's public holidays this year and next, observed days included."""
    calendar = holidays.country_holidays("SG", years=[today.year, today.year + 1])
    return {day: str(name) for day, name in sorted(calendar.items())}


async def _seed_public_holidays(session: AsyncSession, today: date) -> int:
    rows = [
        {"clinic_id": None, "day": day, "kind": "public_holiday", "reason": name[:200]}
        for day, name in _public_holidays(today).items()
    ]
    return await _insert_missing(session, ClinicClosure, rows, ["clinic_id", "day"])


async def _seed_leave(session: AsyncSession, practitioner_id: uuid.UUID, today: date) -> int:
    """A week's leave from next Monday, unless some leave of theirs has not ended yet."""
    tz = ZoneInfo(SINGAPORE)
    start_of_today = datetime.combine(today, time(0), tzinfo=tz)
    pending = select(TimeOff.id).where(
        TimeOff.practitioner_id == practitioner_id, TimeOff.ends_at > start_of_today
    )
    if (await session.execute(pending.limit(1))).first() is not None:
        return 0
    monday = today + timedelta(days=7 - today.weekday())
    leave = TimeOff(
        practitioner_id=practitioner_id,
        starts_at=datetime.combine(monday, time(0), tzinfo=tz),
        ends_at=datetime.combine(monday + timedelta(days=5), time(0), tzinfo=tz),
        reason=LEAVE_REASON,
    )
    session.add(leave)
    await session.flush()
    return 1
