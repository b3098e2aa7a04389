"""Slot search: loads what the pure scheduling code needs, in one query, and asks it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.booking import repository
from medbook.clinics.models import Clinic, Practitioner, Service
from medbook.kernel.time import local_day_bounds
from medbook.scheduling import (
    Interval,
    Slot,
    SlotRules,
    WeeklyRule,
    WorkingWindow,
    find_slots,
    is_bookable,
    working_windows,
)


def slot_rules(service: Service) -> SlotRules:
    return SlotRules(
        duration=timedelta(minutes=service.duration_minutes),
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        grid=timedelta(minutes=service.grid_minutes),
        min_notice=timedelta(minutes=service.min_notice_minutes),
        max_ahead=timedelta(days=service.max_days_ahead),
    )


@dataclass(slots=True)
class PractitionerDay:
    """Everything slot search needs about one practitioner at one clinic over a date range."""

    clinic: Clinic
    practitioner_id: uuid.UUID
    windows: list[WorkingWindow]
    busy: list[Interval] = field(default_factory=list)


@dataclass(slots=True)
class Schedule:
    now: datetime
    days: list[PractitionerDay]
    busy_by_room: dict[Hashable, list[Interval]]
    # Holds past their expiry not yet marked expired: free time, but the exclusion constraints
    # still count them until a booking expires them (repository.expire_stale_holds).
    stale_holds: list[repository.BusyPeriod] = field(default_factory=list)

    def stale_hold_in(
        self, practitioner_id: uuid.UUID, room_id: uuid.UUID | None, blocked: Interval
    ) -> bool:
        """Whether a booking of this time must first expire a stale hold in its way."""
        return any(
            (
                hold.practitioner_id == practitioner_id
                or (room_id is not None and hold.room_id == room_id)
            )
            and blocked.overlaps(Interval(hold.start, hold.end))
            for hold in self.stale_holds
        )


@dataclass(frozen=True, slots=True)
class OfferedSlot:
    clinic: Clinic
    practitioner_id: uuid.UUID
    slot: Slot


async def load_schedule(
    session: AsyncSession,
    clinics: Sequence[Clinic],
    practitioners: Sequence[Practitioner],
    first_day: date,
    last_day: date,
    exclude_appointment_id: uuid.UUID | None = None,
) -> Schedule:
    """Working windows and busy time of these practitioners at these clinics, by local day."""
    if not clinics or not practitioners:
        return Schedule(await repository.database_now(session), [], {})
    practitioner_ids = [practitioner.id for practitioner in practitioners]
    clinic_ids = [clinic.id for clinic in clinics]
    # Working windows lie inside the clinics' local days, so nothing outside them can matter.
    bounds = [
        local_day_bounds(ZoneInfo(clinic.timezone), first_day, last_day) for clinic in clinics
    ]
    span_start = min(start for start, _ in bounds)
    span_end = max(end for _, end in bounds)
    rows = await repository.schedule_rows(
        session,
        practitioner_ids,
        clinic_ids,
        first_day,
        last_day,
        (span_start, span_end),
        exclude_appointment_id,
    )

    rules_by_owner: dict[tuple[uuid.UUID, uuid.UUID], list[WeeklyRule]] = defaultdict(list)
    for rule in rows.rules:
        rules_by_owner[(rule.clinic_id, rule.practitioner_id)].append(
            WeeklyRule(
                rule.weekday, rule.start, rule.end, rule.valid_from, rule.valid_until, rule.room_id
            )
        )
    time_off_by_practitioner: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    for absence in rows.absences:
        time_off_by_practitioner[absence.practitioner_id].append(
            Interval(absence.start, absence.end)
        )
    closed_days: dict[uuid.UUID | None, set[date]] = defaultdict(set)
    for clinic_id, day in rows.closures:
        closed_days[clinic_id].add(day)
    busy_by_practitioner: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    busy_by_room: dict[Hashable, list[Interval]] = defaultdict(list)
    stale_holds: list[repository.BusyPeriod] = []
    for period in rows.busy:
        if period.stale:
            stale_holds.append(period)
            continue
        interval = Interval(period.start, period.end)
        busy_by_practitioner[period.practitioner_id].append(interval)
        if period.room_id is not None:
            busy_by_room[period.room_id].append(interval)
    now = rows.now

    days: list[PractitionerDay] = []
    for clinic in clinics:
        tz = ZoneInfo(clinic.timezone)
        clinic_closed = closed_days[None] | closed_days[clinic.id]
        for practitioner_id in practitioner_ids:
            owner_rules = rules_by_owner.get((clinic.id, practitioner_id))
            if not owner_rules:
                continue
            windows = working_windows(
                owner_rules,
                tz,
                first_day,
                last_day,
                clinic_closed,
                time_off_by_practitioner[practitioner_id],
            )
            days.append(
                PractitionerDay(
                    clinic, practitioner_id, windows, busy_by_practitioner[practitioner_id]
                )
            )
    return Schedule(now, days, busy_by_room, stale_holds)


def offered_slots(
    schedule: Schedule, service: Service, first_day: date, last_day: date
) -> list[OfferedSlot]:
    rules = slot_rules(service)
    offered: list[OfferedSlot] = []
    for day in schedule.days:
        tz = ZoneInfo(day.clinic.timezone)
        search_from, search_to = local_day_bounds(tz, first_day, last_day)
        slots = find_slots(
            rules,
            tz,
            day.windows,
            day.busy,
            schedule.busy_by_room,
            schedule.now,
            search_from,
            search_to,
        )
        offered.extend(OfferedSlot(day.clinic, day.practitioner_id, slot) for slot in slots)
    offered.sort(key=lambda item: (item.slot.start, item.clinic.name, str(item.practitioner_id)))
    return offered


def check_slot(
    schedule: Schedule, service: Service, start: datetime
) -> tuple[Slot | None, Slot | None]:
    """(the slot if the timetable offers it at all, the slot if it is also free right now)."""
    rules = slot_rules(service)
    day = schedule.days[0] if schedule.days else None
    if day is None:
        return None, None
    tz = ZoneInfo(day.clinic.timezone)
    offered = is_bookable(start, rules, tz, day.windows, [], {}, schedule.now)
    if offered is None:
        return None, None
    free = is_bookable(start, rules, tz, day.windows, day.busy, schedule.busy_by_room, schedule.now)
    return offered, free
