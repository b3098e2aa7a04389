"""Where a practitioner works, read from their weekly templates: the rule every action that takes
a practitioner's time away (a block at the desk, time off) is checked against.

A practitioner works at a clinic when they have a weekly availability line there. Their time at
one clinic is that clinic's to give away, and nobody else's.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics import repository
from medbook.clinics.models import Clinic
from medbook.scheduling import Interval, WeeklyRule, working_windows

# Local dates differ from UTC dates by less than a day either way.
_ZONE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Workplace:
    """A clinic where the practitioner has template lines valid during a period."""

    clinic: Clinic
    # The first of their template hours there that falls in the period; None: none falls in it.
    hours: Interval | None


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
    period = Interval(start, end)
    found = []
    for clinic_id, clinic in clinics.items():
        tz = ZoneInfo(clinic.timezone)
        windows = working_windows(
            rules[clinic_id], tz, start.astimezone(tz).date(), end.astimezone(tz).date()
        )
        hours = next(
            (
                Interval(max(w.interval.start, start), min(w.interval.end, end))
                for w in windows
                if w.interval.overlaps(period)
            ),
            None,
        )
        if hours is not None or any(
            _valid_during(rule, start, end, tz) for rule in rules[clinic_id]
        ):
            found.append(Workplace(clinic, hours))
    return found


def _valid_during(rule: WeeklyRule, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """Is the line in force on some local day of the period (whatever its weekday)?"""
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    return rule.valid_from <= last and (rule.valid_until is None or rule.valid_until >= first)
