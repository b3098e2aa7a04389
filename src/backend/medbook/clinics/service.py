"""Where a practitioner works, read from their weekly templates: the rule every action that takes
a practitioner's time away (a block at the desk, time off) is checked against.

A practitioner works at a clinic when they have a weekly availability line there. Their time at
one clinic is that clinic's to give away, and nobody else's.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics import repository
from medbook.clinics.models import Clinic, Practitioner, Service
from medbook.scheduling import Interval, WeeklyRule, working_windows

# Local dates differ from UTC dates by less than a day either way.
_ZONE_SLACK = timedelta(days=1)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Workplace:
    """A clinic where the practitioner has template lines valid during a period."""

    clinic: Clinic
    # The first of their template hours there that falls in the period; None: none falls in it.
    hours: Interval | None


async def timezones(
    session: AsyncSession, clinic_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Each of these clinics' timezone (an IANA name), by id; unknown ids are left out."""
    return await repository.timezones(session, clinic_ids)


async def workplaces(
    session: AsyncSession, practitioner_id: uuid.UUID, start: datetime, end: datetime
) -> list[Workplace]:
    """Where the practitioner works during [start, end), and when, by their weekly templates.

    Template hours only: closures and time off are not taken out, because they can be lifted
    and the hours come back.
    """
    first_day = (start - _ZONE_SLACK).date()
    last_day = (end + _ZONE_SLACK).date()
    rules: dict[uuid.UUID, list[WeeklyRule]] = defaultdict(list)
    clinics: dict[uuid.UUID, Clinic] = {}
    for clinic, line in await repository.template_lines_during(
        session, practitioner_id, first_day, last_day
    ):
        clinics[clinic.id] = clinic
        rules[clinic.id].append(
            WeeklyRule(
                line.weekday, line.start_time, line.end_time, line.valid_from, line.valid_until
            )
        )
    found = []
    for clinic_id, clinic in clinics.items():
        tz = ZoneInfo(clinic.timezone)
        hours = first_hours(rules[clinic_id], tz, start, end)
        if hours is not None or any(
            _valid_during(rule, start, end, tz) for rule in rules[clinic_id]
        ):
            found.append(Workplace(clinic, hours))
    return found


def first_hours(
    rules: Sequence[WeeklyRule], tz: ZoneInfo, start: datetime, end: datetime
) -> Interval | None:
    """The first stretch of the rules' working hours inside [start, end), or None. Pure.

    Looks at a few days whatever the period's length (time off may run for years): the first
    and last local days, which the period may cut, and for each rule the first whole day
    between them that it applies on, since a whole day's hours lie inside the period.
    """
    period = Interval(start, end)
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    days = {first, last}
    for rule in rules:
        day = _first_day_of(rule, first + _ONE_DAY, last - _ONE_DAY)
        if day is not None:
            days.add(day)
    inside = [
        Interval(max(window.interval.start, period.start), min(window.interval.end, period.end))
        for day in days
        for window in working_windows(rules, tz, day, day)
        if window.interval.overlaps(period)
    ]
    return min(inside, default=None)


def _first_day_of(rule: WeeklyRule, first: date, last: date) -> date | None:
    """The first date in first..last that the rule applies on, if any."""
    first = max(first, rule.valid_from)
    if rule.valid_until is not None:
        last = min(last, rule.valid_until)
    if first > last:
        return None
    day = first + timedelta(days=(rule.weekday - first.weekday()) % 7)
    return day if day <= last else None


def _valid_during(rule: WeeklyRule, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """Is the line in force on some local day of the period (whatever its weekday)?"""
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    return rule.valid_from <= last and (rule.valid_until is None or rule.valid_until >= first)


# What other domains read of clinics, practitioners and services: they ask here, never the
# repository, so the SQL stays this domain's own.


async def get_clinic(session: AsyncSession, clinic_id: uuid.UUID) -> Clinic | None:
    return await repository.get_clinic(session, clinic_id)


async def list_clinics(session: AsyncSession) -> Sequence[Clinic]:
    return await repository.list_clinics(session)


async def get_practitioner(
    session: AsyncSession, practitioner_id: uuid.UUID
) -> Practitioner | None:
    return await repository.get_practitioner(session, practitioner_id)


async def list_practitioners(
    session: AsyncSession, clinic_id: uuid.UUID | None = None, service_id: uuid.UUID | None = None
) -> Sequence[Practitioner]:
    """Active practitioners (working at the clinic, offering the service, if given), by name."""
    return await repository.list_practitioners(session, clinic_id, service_id)


async def get_service(session: AsyncSession, service_id: uuid.UUID) -> Service | None:
    return await repository.get_service(session, service_id)


async def booking_target(
    session: AsyncSession, clinic_id: uuid.UUID, practitioner_id: uuid.UUID, service_id: uuid.UUID
) -> tuple[Clinic, Practitioner, Service, bool, datetime] | None:
    """Clinic, practitioner, service, whether the practitioner offers it, and now(), in one
    round trip (the booking path); None when any of the three does not exist."""
    return await repository.booking_target(session, clinic_id, practitioner_id, service_id)
