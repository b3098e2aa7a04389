import asyncio
import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import FromClause, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from medbook.clinics.demo import seed_demo
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
from medbook.clinics.repository import CLINIC_DETAILS
from medbook.db import session_factory
from medbook.scheduling import SlotRules, WeeklyRule, find_slots, working_windows

SINGAPORE = ZoneInfo("Asia/Singapore")
TODAY = date(2026, 3, 4)  # a Wednesday
NEXT_MONDAY = date(2026, 3, 9)

TABLES: dict[str, FromClause] = {
    "clinics": Clinic.__table__,
    "opening_hours": OpeningHours.__table__,
    "rooms": Room.__table__,
    "services": Service.__table__,
    "practitioners": Practitioner.__table__,
    "practitioner_services": practitioner_services,
    "weekly_availability": WeeklyAvailability.__table__,
    "public_holidays": ClinicClosure.__table__,
    "time_off": TimeOff.__table__,
}

REGISTRATION_PATTERNS = {
    "doctor": re.compile(r"M\d{5}[A-Z]"),
    "physiotherapist": re.compile(r"P\d{5}[A-Z]"),
    "nurse": re.compile(r"N\d{5}[A-Z]"),
}


async def row_counts(session: AsyncSession) -> dict[str, int]:
    return {
        name: (await session.execute(select(func.count()).select_from(table))).scalar_one()
        for name, table in TABLES.items()
    }


async def snapshot(session: AsyncSession) -> dict[str, list[str]]:
    """Every row of every seeded table, as text, in a stable order."""
    return {
        name: sorted(repr(tuple(row)) for row in (await session.execute(select(table))).all())
        for name, table in TABLES.items()
    }


async def templates(session: AsyncSession) -> list[WeeklyAvailability]:
    return list((await session.scalars(select(WeeklyAvailability))).all())


def slot_rules(service: Service) -> SlotRules:
    return SlotRules(
        duration=timedelta(minutes=service.duration_minutes),
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        grid=timedelta(minutes=service.grid_minutes),
        min_notice=timedelta(minutes=service.min_notice_minutes),
        max_ahead=timedelta(days=service.max_days_ahead),
    )


def overlaps(a: WeeklyAvailability, b: WeeklyAvailability) -> bool:
    return a.weekday == b.weekday and a.start_time < b.end_time and b.start_time < a.end_time


async def test_seeding_twice_creates_everything_once(session: AsyncSession) -> None:
    first = await seed_demo(session, TODAY)
    await session.commit()
    after_first = await snapshot(session)

    second = await seed_demo(session, TODAY)
    await session.commit()

    assert first == await row_counts(session)
    assert all(count > 0 for count in first.values())
    assert second == dict.fromkeys(first, 0)
    assert await snapshot(session) == after_first


async def test_seeding_again_later_adds_nothing_already_there(session: AsyncSession) -> None:
    await seed_demo(session, TODAY)

    again = await seed_demo(session, TODAY + timedelta(days=3))

    assert again == dict.fromkeys(again, 0)


async def test_two_seeders_at_once_fill_in_missing_templates_once(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    # Given the catalogue is there but the rota and hours are not (the unique keys of clinics
    # and practitioners then no longer make a second seeder wait for the first)
    first_counts = await seed_demo(session, TODAY)
    await session.execute(delete(WeeklyAvailability))
    await session.execute(delete(OpeningHours))
    await session.commit()

    async def seed_and_commit() -> dict[str, int]:
        async with session_factory(engine)() as own_session, own_session.begin():
            return await seed_demo(own_session, TODAY)

    # When two seeders run at once
    first, second = await asyncio.gather(seed_and_commit(), seed_and_commit())

    # Then one of them does the work and the other finds it done
    for kind in ("weekly_availability", "opening_hours"):
        assert sorted([first[kind], second[kind]]) == [0, first_counts[kind]]
    assert await row_counts(session) == first_counts


async def test_three_singapore_clinics_with_rooms_and_hours(session: AsyncSession) -> None:
    await seed_demo(session, TODAY)

    clinics = (
        await session.scalars(select(Clinic).options(*CLINIC_DETAILS).order_by(Clinic.code))
    ).all()

    assert [clinic.code for clinic in clinics] == ["jurong-east", "novena", "tampines"]
    for clinic in clinics:
        assert clinic.timezone == "Asia/Singapore"
        assert re.fullmatch(r"\d{6}", clinic.postal_code)
        assert re.fullmatch(r"\+65 6\d{3} \d{4}", clinic.phone)
        assert len([room for room in clinic.rooms if room.name.startswith("Consult")]) >= 3
        assert {"Physiotherapy Room", "Treatment Room"} <= {room.name for room in clinic.rooms}
        assert {hours.weekday for hours in clinic.opening_hours} >= {0, 1, 2, 3, 4, 5}
    open_on_sunday = [c.code for c in clinics if any(h.weekday == 6 for h in c.opening_hours)]
    assert open_on_sunday == ["tampines"]


async def test_practitioners_have_registration_numbers_of_their_profession(
    session: AsyncSession,
) -> None:
    await seed_demo(session, TODAY)

    practitioners = (
        await session.scalars(select(Practitioner).options(selectinload(Practitioner.services)))
    ).all()

    assert 18 <= len(practitioners) <= 22
    assert {p.profession for p in practitioners} == set(REGISTRATION_PATTERNS)
    for practitioner in practitioners:
        pattern = REGISTRATION_PATTERNS[practitioner.profession]
        assert pattern.fullmatch(practitioner.registration_number), practitioner.registration_number
        assert (practitioner.title == "Dr") == (practitioner.profession == "doctor")


async def test_each_profession_offers_its_services(session: AsyncSession) -> None:
    await seed_demo(session, TODAY)

    practitioners = (
        await session.scalars(select(Practitioner).options(selectinload(Practitioner.services)))
    ).all()

    offered = {
        practitioner.profession: {service.code for service in practitioner.services}
        for practitioner in practitioners
    }
    assert offered == {
        "doctor": {"gp-consultation", "chronic-review", "health-screening", "vaccination"},
        "physiotherapist": {"physiotherapy"},
        "nurse": {"vaccination"},
    }


async def test_back_to_back_bookings_leave_no_gaps_on_the_grid(session: AsyncSession) -> None:
    await seed_demo(session, TODAY)

    services = (await session.scalars(select(Service))).all()

    assert len(services) == 5
    for service in services:
        blocked = service.buffer_before_minutes + service.duration_minutes
        blocked += service.buffer_after_minutes
        assert blocked % service.grid_minutes == 0, service.code
        assert 0 <= service.deposit_cents <= service.price_cents


async def test_some_practitioners_work_at_two_clinics_on_different_days(
    session: AsyncSession,
) -> None:
    await seed_demo(session, TODAY)

    clinics_by_practitioner = defaultdict(set)
    clinics_by_practitioner_day = defaultdict(set)
    for template in await templates(session):
        clinics_by_practitioner[template.practitioner_id].add(template.clinic_id)
        key = (template.practitioner_id, template.weekday)
        clinics_by_practitioner_day[key].add(template.clinic_id)

    assert sum(len(clinics) == 2 for clinics in clinics_by_practitioner.values()) >= 4
    assert all(len(clinics) == 1 for clinics in clinics_by_practitioner_day.values())
    assert len(clinics_by_practitioner) == 20


async def test_no_room_and_no_practitioner_is_booked_twice_at_once(session: AsyncSession) -> None:
    await seed_demo(session, TODAY)

    rows = await templates(session)

    assert all(row.room_id is not None for row in rows)
    for a, b in combinations(rows, 2):
        assert not (a.room_id == b.room_id and overlaps(a, b)), (a.id, b.id)
        assert not (a.practitioner_id == b.practitioner_id and overlaps(a, b)), (a.id, b.id)


async def test_templates_lie_inside_opening_hours_in_a_room_of_that_clinic(
    session: AsyncSession,
) -> None:
    await seed_demo(session, TODAY)

    clinics = {
        clinic.id: clinic
        for clinic in (await session.scalars(select(Clinic).options(*CLINIC_DETAILS))).all()
    }

    for template in await templates(session):
        clinic = clinics[template.clinic_id]
        assert template.room_id in {room.id for room in clinic.rooms}
        assert any(
            hours.weekday == template.weekday
            and hours.opens <= template.start_time
            and template.end_time <= hours.closes
            for hours in clinic.opening_hours
        ), (clinic.code, template.weekday, template.start_time, template.end_time)
        assert template.valid_from == TODAY - timedelta(days=30)
        assert template.valid_until is None


async def test_public_holidays_of_this_year_and_next_close_every_clinic(
    session: AsyncSession,
) -> None:
    await seed_demo(session, TODAY)

    closures = (await session.scalars(select(ClinicClosure))).all()

    expected = holidays.country_holidays("SG", years=[2026, 2027])
    assert len(closures) == len(expected)
    assert {closure.day for closure in closures} == set(expected)
    assert all(c.clinic_id is None and c.kind == "public_holiday" for c in closures)
    national_days = {c.day: c.reason for c in closures if c.reason.startswith("National Day")}
    assert date(2026, 8, 9) in national_days
    assert date(2027, 8, 9) in national_days
    # 9 August 2026 is a Sunday, so the Monday after is a holiday too.
    assert "observed" in national_days[date(2026, 8, 10)]


async def test_one_practitioner_is_on_leave_next_week(session: AsyncSession) -> None:
    await seed_demo(session, TODAY)

    leave = (await session.scalars(select(TimeOff))).one()

    assert leave.starts_at == datetime.combine(NEXT_MONDAY, time(0), tzinfo=SINGAPORE)
    assert leave.ends_at == datetime.combine(
        NEXT_MONDAY + timedelta(days=5), time(0), tzinfo=SINGAPORE
    )


async def test_every_practitioner_has_slots_for_every_service_they_offer(
    session: AsyncSession,
) -> None:
    await seed_demo(session, TODAY)
    practitioners = (
        await session.scalars(select(Practitioner).options(selectinload(Practitioner.services)))
    ).all()
    rows = await templates(session)
    week_after_next = NEXT_MONDAY + timedelta(days=7)
    now = datetime.combine(TODAY, time(9), tzinfo=SINGAPORE).astimezone(UTC)

    for practitioner in practitioners:
        rules_by_clinic = defaultdict(list)
        for r in rows:
            if r.practitioner_id == practitioner.id:
                rule = WeeklyRule(
                    r.weekday, r.start_time, r.end_time, r.valid_from, r.valid_until, r.room_id
                )
                rules_by_clinic[r.clinic_id].append(rule)
        for rules in rules_by_clinic.values():
            windows = working_windows(
                rules, SINGAPORE, week_after_next, week_after_next + timedelta(days=6)
            )
            for service in practitioner.services:
                slots = find_slots(
                    slot_rules(service),
                    SINGAPORE,
                    windows,
                    [],
                    {},
                    now,
                    windows[0].interval.start,
                    windows[-1].interval.end,
                )
                assert slots, (practitioner.full_name, service.code)
