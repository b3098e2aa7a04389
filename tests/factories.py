"""Plain functions that put clinics, people and rules in the database for a test's story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics.models import (
    Clinic,
    Practitioner,
    Room,
    Service,
    WeeklyAvailability,
    practitioner_services,
)

SINGAPORE = ZoneInfo("Asia/Singapore")


async def make_clinic(session: AsyncSession, code: str = "tampines", **values: object) -> Clinic:
    clinic = Clinic(
        code=code,
        name=values.pop("name", f"Medical Inc. {code.title()}"),
        address=values.pop("address", "1 Tampines Central 5, Singapore"),
        postal_code=values.pop("postal_code", "529508"),
        phone=values.pop("phone", "+6567891234"),
        timezone=values.pop("timezone", "Asia/Singapore"),
        **values,
    )
    session.add(clinic)
    await session.flush()
    return clinic


async def make_room(session: AsyncSession, clinic: Clinic, name: str = "Room 1") -> Room:
    room = Room(clinic_id=clinic.id, name=name)
    session.add(room)
    await session.flush()
    return room


async def make_service(session: AsyncSession, code: str = "gp", **values: object) -> Service:
    defaults: dict[str, object] = {
        "name": "GP consultation",
        "duration_minutes": 15,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "grid_minutes": 15,
        "price_cents": 4500,
        "deposit_cents": 0,
        "min_notice_minutes": 0,
        "max_days_ahead": 60,
        "cancellation_window_hours": 24,
    }
    service = Service(code=code, **{**defaults, **values})
    session.add(service)
    await session.flush()
    return service


async def make_practitioner(
    session: AsyncSession,
    number: str = "M12345A",
    services: list[Service] | None = None,
    **values: object,
) -> Practitioner:
    practitioner = Practitioner(
        registration_number=number,
        full_name=values.pop("full_name", f"Practitioner {number}"),
        title=values.pop("title", "Dr"),
        profession=values.pop("profession", "doctor"),
        **values,
    )
    practitioner.services = list(services or [])
    session.add(practitioner)
    await session.flush()
    return practitioner


async def make_weekly_hours(
    session: AsyncSession,
    practitioner: Practitioner,
    clinic: Clinic,
    room: Room | None,
    start: time = time(8, 0),
    end: time = time(20, 0),
    valid_from: date | None = None,
) -> None:
    """The practitioner works these hours every day of the week at this clinic."""
    for weekday in range(7):
        session.add(
            WeeklyAvailability(
                practitioner_id=practitioner.id,
                clinic_id=clinic.id,
                room_id=room.id if room else None,
                weekday=weekday,
                start_time=start,
                end_time=end,
                valid_from=valid_from or date(2020, 1, 1),
            )
        )
    await session.flush()


async def database_now(session: AsyncSession) -> datetime:
    now: datetime = (await session.execute(text("SELECT now()"))).scalar_one()
    return now


@dataclass
class World:
    """One clinic, two doctors in their own rooms working 08:00-20:00 daily, and a few services."""

    clinic: Clinic
    rooms: list[Room]
    doctors: list[Practitioner]
    gp: Service
    screening: Service
    tomorrow: date

    def at(self, hour: int, minute: int = 0, day: date | None = None) -> datetime:
        """A Singapore wall-clock time, tomorrow unless told."""
        return datetime.combine(day or self.tomorrow, time(hour, minute), tzinfo=SINGAPORE)


async def make_world(session: AsyncSession) -> World:
    clinic = await make_clinic(session)
    rooms = [await make_room(session, clinic, f"Room {n}") for n in (1, 2)]
    gp = await make_service(session, "gp")
    screening = await make_service(
        session,
        "screening",
        name="Health screening",
        duration_minutes=45,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        price_cents=18000,
        deposit_cents=5000,
    )
    doctors = [
        await make_practitioner(session, f"M1234{n}A", [gp, screening], full_name=f"Doctor {n}")
        for n in (1, 2)
    ]
    for doctor, room in zip(doctors, rooms, strict=True):
        await make_weekly_hours(session, doctor, clinic, room)
    now = await database_now(session)
    await session.commit()
    return World(
        clinic, rooms, doctors, gp, screening, now.astimezone(SINGAPORE).date() + timedelta(days=1)
    )


async def make_racing_services(
    session: AsyncSession, world: World, *doctors: Practitioner
) -> tuple[Service, Service]:
    """Physiotherapy (30 min + 10) and vaccination (10 min + 5) beside the world's GP and
    screening, offered by these doctors: services of other lengths and grids whose times
    overlap, for races where exactly one of several different holds may win."""
    physio = await make_service(
        session,
        "physio",
        name="Physiotherapy",
        duration_minutes=30,
        grid_minutes=30,
        buffer_after_minutes=10,
    )
    vaccination = await make_service(
        session,
        "vaccination",
        name="Vaccination",
        duration_minutes=10,
        grid_minutes=10,
        buffer_after_minutes=5,
    )
    await session.execute(
        practitioner_services.insert(),
        [
            {"practitioner_id": doctor.id, "service_id": service.id}
            for doctor in doctors or world.doctors[:1]
            for service in (physio, vaccination)
        ],
    )
    return physio, vaccination


def later_today(minutes: int) -> timedelta:
    """`minutes` from now, or as long ago when that would be tomorrow in Singapore: for a test
    that needs a time today, whatever the hour it runs at (23:50 included)."""
    now = datetime.now(SINGAPORE)
    if (now + timedelta(minutes=minutes)).date() == now.date():
        return timedelta(minutes=minutes)
    return -timedelta(minutes=minutes)
