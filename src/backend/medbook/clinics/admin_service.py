"""The clinic administration's rules: practitioners, services and prices, weekly templates,
time off and closures, for staff with Permission.MANAGE_CLINIC.

Who may do what. Each permission is checked against the clinic of the row touched: a template
line's or a closure's clinic, and for a practitioner the clinics they work at (those of their
template lines). A clinic manager manages their clinics' rows; an administrator (a grant at
every clinic) manages everything. Services are shared by every clinic, so only a grant at every
clinic may create or change one. Staff with no role at the row's clinic get the same 404 as for
an id that does not exist; staff who work there but may not manage it get 403 not_permitted.

What reaches beyond one clinic needs a manager of each clinic it reaches. Whether a practitioner
is bookable and for what (active, services) is theirs at every clinic where they work. Time off
takes them away from every clinic whose hours it covers. A practitioner who works elsewhere
joins a manager's clinic only through a manager of a clinic they already work at (or an
administrator); one who works nowhere yet may be given hours by any manager.

Nothing here touches an appointment. A change that takes working time away answers the future
confirmed appointments it leaves outside the new timetable (its `conflicts`), so the desk can
call those patients; the appointments stay exactly as they were.

Every change is recorded in the audit trail by ids and values, never personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit import service as audit
from medbook.audit.service import AuditContext
from medbook.clinics import admin_repository as repository
from medbook.clinics import repository as catalogue
from medbook.clinics import service as clinics_service
from medbook.clinics.errors import (
    AvailabilityNotFoundError,
    AvailabilityOverlapsError,
    ClinicAlreadyClosedError,
    ClinicNotFoundError,
    ClosureNotFoundError,
    InvalidAvailabilityError,
    InvalidPeriodError,
    InvalidTimeOffError,
    PractitionerNotFoundError,
    RegistrationNumberTakenError,
    RoomNotAtClinicError,
    ServiceCodeTakenError,
    ServiceNotFoundError,
    TimeOffNotFoundError,
    TimeOffOverlapsError,
    UnknownServicesError,
)
from medbook.clinics.models import (
    Clinic,
    ClinicClosure,
    Practitioner,
    Service,
    TimeOff,
    WeeklyAvailability,
)
from medbook.clinics.terms import check_service_terms
from medbook.clinics.values import (
    BookedVisit,
    BookedVisits,
    Changed,
    PractitionerChanges,
    PractitionerView,
    TemplateLine,
)
from medbook.kernel.errors import ForbiddenError
from medbook.kernel.permissions import Permission, StaffPrincipal
from medbook.kernel.time import local_day_bounds
from medbook.scheduling import Interval, WeeklyRule, working_windows

MANAGE = Permission.MANAGE_CLINIC
# A service's code names it for good; everything else about it is a term an administrator sets.
SERVICE_FIXED = frozenset({"id", "code"})
SERVICE_COLUMNS = frozenset(Service.__table__.columns.keys())
# One closure request covers at most a year of days (a row per day).
MAX_CLOSURE_DAYS = 366

# --- who may ------------------------------------------------------------------------------------


def _works_at(staff: StaffPrincipal, clinic_id: uuid.UUID) -> bool:
    """Do they hold any role at that clinic (or at every clinic)? If not, it is not theirs to see."""
    return any(grant.clinic_id in (None, clinic_id) for grant in staff.grants)


def _require_manager_somewhere(staff: StaffPrincipal) -> frozenset[uuid.UUID] | None:
    """The clinics they manage (None: every clinic); 403 when they manage none."""
    clinics = staff.clinics_with(MANAGE)
    if clinics is not None and not clinics:
        staff.require(MANAGE, None)
    return clinics


async def _managed_clinic(
    session: AsyncSession, staff: StaffPrincipal, clinic_id: uuid.UUID
) -> Clinic:
    clinic = await catalogue.get_clinic(session, clinic_id)
    if clinic is None or not _works_at(staff, clinic_id):
        raise ClinicNotFoundError(f"There is no clinic {clinic_id}.")
    staff.require(MANAGE, clinic_id)
    return clinic


def _require_practitioner_manager(
    staff: StaffPrincipal, practitioner_id: uuid.UUID, clinics: Collection[uuid.UUID]
) -> None:
    """Managing a practitioner means managing one of the clinics they work at."""
    managed = staff.clinics_with(MANAGE)
    if managed is None or any(clinic in managed for clinic in clinics):
        return
    if any(_works_at(staff, clinic) for clinic in clinics):
        raise ForbiddenError(
            "You may manage only practitioners working at a clinic you manage.",
            code="not_permitted",
        )
    raise PractitionerNotFoundError(f"There is no practitioner {practitioner_id}.")


async def _managed_practitioner(
    session: AsyncSession, staff: StaffPrincipal, practitioner_id: uuid.UUID
) -> Practitioner:
    """The practitioner, locked for the change, once the caller may manage them."""
    practitioner = await repository.lock_practitioner(session, practitioner_id)
    clinics = (await repository.clinics_of(session, [practitioner_id])).get(practitioner_id, set())
    if practitioner is None:
        raise PractitionerNotFoundError(f"There is no practitioner {practitioner_id}.")
    _require_practitioner_manager(staff, practitioner_id, clinics)
    return practitioner


def _require_manager_of_each(staff: StaffPrincipal, clinics: Iterable[Clinic], what: str) -> None:
    """403 unless they manage every one of these clinics, naming the first they do not."""
    unmanaged = next((clinic for clinic in clinics if not staff.may(MANAGE, clinic.id)), None)
    if unmanaged is not None:
        raise ForbiddenError(
            f"{what} also reaches {unmanaged.name}, which you do not manage: ask its manager "
            "or an administrator.",
            code="not_permitted",
        )


async def _require_manager_of_hours(
    session: AsyncSession,
    staff: StaffPrincipal,
    practitioner_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    """Time off takes the practitioner away wherever it covers their hours: only someone who
    manages each of those clinics may record or lift it."""
    places = await clinics_service.workplaces(session, practitioner_id, starts_at, ends_at)
    _require_manager_of_each(
        staff,
        (place.clinic for place in places if place.hours is not None),
        "This time off",
    )


def _require_every_clinic(staff: StaffPrincipal) -> None:
    if not staff.may(MANAGE, None):
        raise ForbiddenError(
            "Services are shared by every clinic: only an administrator of every clinic may "
            "create or change them.",
            code="not_permitted",
        )


# --- practitioners ------------------------------------------------------------------------------


async def _views(
    session: AsyncSession, practitioners: Sequence[Practitioner]
) -> list[PractitionerView]:
    clinics = await repository.clinics_of(session, [p.id for p in practitioners])
    return [
        PractitionerView(
            p,
            sorted((service.id for service in p.services), key=str),
            sorted(clinics.get(p.id, ()), key=str),
        )
        for p in practitioners
    ]


async def _view(session: AsyncSession, practitioner_id: uuid.UUID) -> PractitionerView:
    practitioner = await repository.reload_practitioner(session, practitioner_id)
    return (await _views(session, [practitioner]))[0]


async def list_practitioners(
    session: AsyncSession,
    staff: StaffPrincipal,
    clinic_id: uuid.UUID | None,
    active: bool | None,
) -> list[PractitionerView]:
    """Practitioners, inactive ones too: at one clinic, or at every clinic the caller manages."""
    managed = _require_manager_somewhere(staff)
    if clinic_id is not None:
        await _managed_clinic(session, staff, clinic_id)
        managed = frozenset({clinic_id})
    return await _views(session, await repository.list_practitioners(session, managed, active))


async def get_practitioner(
    session: AsyncSession, staff: StaffPrincipal, practitioner_id: uuid.UUID
) -> PractitionerView:
    practitioner = await catalogue.get_practitioner(session, practitioner_id)
    if practitioner is None:
        raise PractitionerNotFoundError(f"There is no practitioner {practitioner_id}.")
    view = await _view(session, practitioner_id)
    _require_practitioner_manager(staff, practitioner_id, view.clinic_ids)
    return view


async def _require_services(session: AsyncSession, service_ids: Collection[uuid.UUID]) -> None:
    missing = set(service_ids) - await repository.existing_service_ids(session, service_ids)
    if missing:
        listed = ", ".join(sorted(str(service_id) for service_id in missing))
        raise UnknownServicesError(f"There is no service {listed}.")


async def create_practitioner(
    session: AsyncSession,
    staff: StaffPrincipal,
    *,
    clinic_id: uuid.UUID | None,
    registration_number: str,
    title: str,
    full_name: str,
    profession: str,
    active: bool,
    service_ids: Sequence[uuid.UUID],
    context: AuditContext,
) -> PractitionerView:
    """A new practitioner, for a clinic the caller manages (or, for an administrator of every
    clinic, for none in particular). They work there once a template line there says when."""
    if clinic_id is None:
        staff.require(MANAGE, None)
    else:
        await _managed_clinic(session, staff, clinic_id)
    number = registration_number.strip().upper()
    taken = RegistrationNumberTakenError(f"A practitioner with number {number} already exists.")
    if await repository.registration_number_taken(session, number):
        raise taken
    unique_services = list(dict.fromkeys(service_ids))
    await _require_services(session, unique_services)
    practitioner = Practitioner(
        registration_number=number,
        title=title,
        full_name=full_name,
        profession=profession,
        active=active,
    )
    if not await repository.insert_practitioner(session, practitioner):
        raise taken  # the same number, added by someone else a moment ago
    await repository.replace_services(session, practitioner.id, unique_services)
    await audit.record(
        session,
        "clinic.practitioner.created",
        context,
        subject_kind="practitioner",
        subject_id=practitioner.id,
        clinic_id=clinic_id,
        active=active,
        service_ids=[str(service_id) for service_id in unique_services],
    )
    return await _view(session, practitioner.id)


async def update_practitioner(
    session: AsyncSession,
    staff: StaffPrincipal,
    practitioner_id: uuid.UUID,
    changes: PractitionerChanges,
    *,
    visits: BookedVisits,
    context: AuditContext,
) -> Changed[PractitionerView]:
    """Change a practitioner's details, whether they are bookable, and what they offer.

    Their appointments stay; those a deactivation or a withdrawn service leaves behind are
    answered as conflicts.
    """
    practitioner = await _managed_practitioner(session, staff, practitioner_id)
    offered = {service.id for service in practitioner.services}
    if (changes.active is not None and changes.active != practitioner.active) or (
        changes.service_ids is not None and set(changes.service_ids) != offered
    ):
        clinics = await repository.current_clinics_of(session, practitioner_id)
        _require_manager_of_each(staff, clinics, "Whether and for what they are bookable")
    changed_fields = []
    for name in ("title", "full_name", "profession", "active"):
        value = getattr(changes, name)
        if value is not None and value != getattr(practitioner, name):
            setattr(practitioner, name, value)
            changed_fields.append(name)
    added: list[uuid.UUID] = []
    removed: set[uuid.UUID] = set()
    if changes.service_ids is not None:
        wanted = list(dict.fromkeys(changes.service_ids))
        await _require_services(session, wanted)
        added = [service_id for service_id in wanted if service_id not in offered]
        removed = offered - set(wanted)
        if added or removed:
            await repository.replace_services(session, practitioner_id, wanted)
    await repository.save(session)
    if not (changed_fields or added or removed):
        return Changed(await _view(session, practitioner_id), [])

    conflicts: list[BookedVisit] = []
    if "active" in changed_fields and not practitioner.active:
        conflicts = await visits(session, practitioner_id=practitioner_id)
    elif removed:
        conflicts = await visits(session, practitioner_id=practitioner_id, service_ids=removed)
    await audit.record(
        session,
        "clinic.practitioner.updated",
        context,
        subject_kind="practitioner",
        subject_id=practitioner_id,
        fields=changed_fields,
        active=practitioner.active,
        services_added=[str(service_id) for service_id in added],
        services_removed=sorted(str(service_id) for service_id in removed),
        conflicts=_ids(conflicts),
    )
    return Changed(await _view(session, practitioner_id), conflicts)


# --- services -----------------------------------------------------------------------------------


def _set_terms(service: Service, terms: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Write the terms onto the row; answer what changed, as [old, new] by name."""
    changed: dict[str, list[Any]] = {}
    for name, value in terms.items():
        if name in SERVICE_FIXED or name not in SERVICE_COLUMNS:
            raise ValueError(f"{name} is not a term of a service")
        old = getattr(service, name)
        if old != value:
            changed[name] = [old, value]
            setattr(service, name, value)
    return changed


async def list_services(session: AsyncSession, staff: StaffPrincipal) -> Sequence[Service]:
    """Every service, inactive ones too (active first)."""
    _require_manager_somewhere(staff)
    return await repository.list_all_services(session)


async def get_service(
    session: AsyncSession, staff: StaffPrincipal, service_id: uuid.UUID
) -> Service:
    _require_manager_somewhere(staff)
    service = await catalogue.get_service(session, service_id)
    if service is None:
        raise ServiceNotFoundError(f"There is no service {service_id}.")
    return service


async def create_service(
    session: AsyncSession,
    staff: StaffPrincipal,
    code: str,
    terms: Mapping[str, Any],
    *,
    context: AuditContext,
) -> Service:
    """A new service with every term given (name, duration, prices and so on)."""
    _require_every_clinic(staff)
    service = Service(code=code)
    _set_terms(service, terms)
    check_service_terms(service)
    taken = ServiceCodeTakenError(f"A service with code {code} already exists.")
    if await repository.service_code_taken(session, code):
        raise taken
    if not await repository.insert_service(session, service):
        raise taken
    await audit.record(
        session,
        "clinic.service.created",
        context,
        subject_kind="service",
        subject_id=service.id,
        code=code,
        **terms,
    )
    return service


async def update_service(
    session: AsyncSession,
    staff: StaffPrincipal,
    service_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    context: AuditContext,
) -> Service:
    """Change a service's terms. Appointments already made keep the terms they were made on."""
    _require_every_clinic(staff)
    service = await repository.lock_service(session, service_id)
    if service is None:
        raise ServiceNotFoundError(f"There is no service {service_id}.")
    changed = _set_terms(service, changes)
    check_service_terms(service)
    if not changed:
        return service
    await repository.save(session)
    await audit.record(
        session,
        "clinic.service.updated",
        context,
        subject_kind="service",
        subject_id=service_id,
        changes=changed,
    )
    return service


# --- weekly availability ------------------------------------------------------------------------


def line_of(row: WeeklyAvailability) -> TemplateLine:
    return TemplateLine(
        practitioner_id=row.practitioner_id,
        clinic_id=row.clinic_id,
        room_id=row.room_id,
        weekday=row.weekday,
        start_time=row.start_time,
        end_time=row.end_time,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def check_line(line: TemplateLine) -> None:
    """Raise the 422 that says what is wrong with a template line on its own."""
    if not 0 <= line.weekday <= 6:
        raise InvalidAvailabilityError(
            "weekday must be 0 (Monday) to 6 (Sunday).", code="invalid_weekday"
        )
    if line.start_time.tzinfo is not None or line.end_time.tzinfo is not None:
        raise InvalidAvailabilityError(
            "Template times are the clinic's wall-clock times: give them without a UTC offset "
            "(e.g. 09:00).",
            code="availability_time_has_offset",
        )
    if line.end_time <= line.start_time:
        raise InvalidAvailabilityError(
            f"The line must end after it starts on the same day ({line.start_time:%H:%M} to "
            f"{line.end_time:%H:%M}).",
            code="availability_ends_before_start",
        )
    if line.valid_until is not None and line.valid_until < line.valid_from:
        raise InvalidAvailabilityError(
            f"valid_until ({line.valid_until}) is before valid_from ({line.valid_from}).",
            code="availability_validity_ends_before_start",
        )


async def _check_line_fits(
    session: AsyncSession, line: TemplateLine, exclude_id: int | None
) -> None:
    """The room belongs to the line's clinic, and the practitioner is nowhere else then."""
    check_line(line)
    if line.room_id is not None:
        room = await repository.get_room(session, line.room_id)
        if room is None or room.clinic_id != line.clinic_id:
            raise RoomNotAtClinicError(f"The clinic has no room {line.room_id}.")
    clashes = await repository.overlapping_lines(session, line, exclude_id)
    if clashes:
        clash = clashes[0]
        where = "here" if clash.clinic_id == line.clinic_id else "at another clinic"
        until = f" until {clash.valid_until}" if clash.valid_until else ""
        raise AvailabilityOverlapsError(
            f"The practitioner already works {clash.start_time:%H:%M}-{clash.end_time:%H:%M} "
            f"on that weekday {where}, from {clash.valid_from}{until} (line {clash.id})."
        )


def _fits(lines: Sequence[TemplateLine], visit: BookedVisit) -> bool:
    """Does the visit lie inside the working time these lines give on its day?"""
    tz = ZoneInfo(visit.timezone)
    day = visit.starts_at.astimezone(tz).date()
    # Time only: a line moved to another room still covers the visit's hours.
    rules = [
        WeeklyRule(line.weekday, line.start_time, line.end_time, line.valid_from, line.valid_until)
        for line in lines
    ]
    visit_time = Interval(visit.starts_at, visit.ends_at)
    return any(
        window.interval.contains(visit_time) for window in working_windows(rules, tz, day, day)
    )


async def _stranded_by_template_change(
    session: AsyncSession,
    visits: BookedVisits,
    practitioner_id: uuid.UUID,
    clinic_id: uuid.UUID,
    before: Sequence[TemplateLine],
) -> list[BookedVisit]:
    """Future confirmed appointments the template covered before the change and no longer does."""
    booked = await visits(session, practitioner_id=practitioner_id, clinic_id=clinic_id)
    if not booked:
        return []
    after = [line_of(row) for row in await repository.lines_of(session, practitioner_id, clinic_id)]
    return [visit for visit in booked if _fits(before, visit) and not _fits(after, visit)]


async def _template_before(
    session: AsyncSession, practitioner_id: uuid.UUID, clinic_id: uuid.UUID
) -> list[TemplateLine]:
    return [line_of(row) for row in await repository.lines_of(session, practitioner_id, clinic_id)]


async def list_availability(
    session: AsyncSession,
    staff: StaffPrincipal,
    clinic_id: uuid.UUID,
    practitioner_id: uuid.UUID | None,
) -> Sequence[WeeklyAvailability]:
    await _managed_clinic(session, staff, clinic_id)
    return await repository.list_availability(session, clinic_id, practitioner_id)


async def create_availability(
    session: AsyncSession, staff: StaffPrincipal, line: TemplateLine, *, context: AuditContext
) -> Changed[WeeklyAvailability]:
    """Add a line to a practitioner's weekly template at a clinic the caller manages."""
    await _managed_clinic(session, staff, line.clinic_id)
    if await repository.lock_practitioner(session, line.practitioner_id) is None:
        raise PractitionerNotFoundError(f"There is no practitioner {line.practitioner_id}.")
    clinics = (await repository.clinics_of(session, [line.practitioner_id])).get(
        line.practitioner_id, set()
    )
    if clinics:
        # Already working somewhere: another clinic's practitioner is not taken by adding hours.
        _require_practitioner_manager(staff, line.practitioner_id, clinics)
    await _check_line_fits(session, line, exclude_id=None)
    row = await repository.insert_availability(session, line)
    await _record_line(session, "clinic.availability.created", context, row, after=line)
    # A new line only adds working time: nothing booked can fall outside because of it.
    return Changed(row, [])


async def _managed_line(
    session: AsyncSession, staff: StaffPrincipal, line_id: int
) -> WeeklyAvailability:
    missing = AvailabilityNotFoundError(f"There is no availability line {line_id}.")
    row = await repository.get_availability(session, line_id)
    if row is None or not _works_at(staff, row.clinic_id):
        raise missing
    staff.require(MANAGE, row.clinic_id)
    # Changes to a practitioner's lines are serialised on the practitioner (see create): lock
    # it, then read the line again, as the last change before ours left it.
    await repository.lock_practitioner(session, row.practitioner_id)
    row = await repository.get_availability(session, line_id, again=True)
    if row is None:
        raise missing
    return row


async def update_availability(
    session: AsyncSession,
    staff: StaffPrincipal,
    line_id: int,
    changes: Mapping[str, Any],
    *,
    visits: BookedVisits,
    context: AuditContext,
) -> Changed[WeeklyAvailability]:
    """Change a line's room, weekday, hours or validity (its practitioner and clinic stay)."""
    row = await _managed_line(session, staff, line_id)
    before = line_of(row)
    after = replace(before, **changes)
    if after == before:
        return Changed(row, [])
    await _check_line_fits(session, after, exclude_id=line_id)
    template = await _template_before(session, row.practitioner_id, row.clinic_id)
    for name, value in asdict(after).items():
        setattr(row, name, value)
    await repository.save(session)
    conflicts = await _stranded_by_template_change(
        session, visits, row.practitioner_id, row.clinic_id, template
    )
    await _record_line(
        session, "clinic.availability.updated", context, row, before, after, conflicts
    )
    return Changed(row, conflicts)


async def delete_availability(
    session: AsyncSession,
    staff: StaffPrincipal,
    line_id: int,
    *,
    visits: BookedVisits,
    context: AuditContext,
) -> list[BookedVisit]:
    """Remove a line; the appointments it covered stay, and are answered as conflicts."""
    row = await _managed_line(session, staff, line_id)
    before = line_of(row)
    template = await _template_before(session, row.practitioner_id, row.clinic_id)
    await repository.remove(session, row)
    conflicts = await _stranded_by_template_change(
        session, visits, before.practitioner_id, before.clinic_id, template
    )
    await _record_line(
        session, "clinic.availability.deleted", context, row, before, None, conflicts
    )
    return conflicts


async def _record_line(
    session: AsyncSession,
    action: str,
    context: AuditContext,
    row: WeeklyAvailability,
    before: TemplateLine | None = None,
    after: TemplateLine | None = None,
    conflicts: Sequence[BookedVisit] = (),
) -> None:
    await audit.record(
        session,
        action,
        context,
        subject_kind="practitioner",
        subject_id=row.practitioner_id,
        clinic_id=row.clinic_id,
        availability_id=row.id,
        before=_json_values(asdict(before)) if before else None,
        after=_json_values(asdict(after)) if after else None,
        conflicts=_ids(conflicts),
    )


# --- time off -----------------------------------------------------------------------------------


async def list_time_off(
    session: AsyncSession,
    staff: StaffPrincipal,
    practitioner_id: uuid.UUID,
    ending_after: datetime | None,
) -> Sequence[TimeOff]:
    await get_practitioner(session, staff, practitioner_id)
    return await repository.list_time_off(session, practitioner_id, ending_after)


async def create_time_off(
    session: AsyncSession,
    staff: StaffPrincipal,
    practitioner_id: uuid.UUID,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    visits: BookedVisits,
    context: AuditContext,
) -> Changed[TimeOff]:
    """The practitioner is away, at every clinic, over [starts_at, ends_at). Appointments in
    that time stay, and are answered as conflicts."""
    await _managed_practitioner(session, staff, practitioner_id)
    if ends_at <= starts_at:
        raise InvalidTimeOffError(f"Time off must end after it starts ({starts_at} to {ends_at}).")
    await _require_manager_of_hours(session, staff, practitioner_id, starts_at, ends_at)
    clashes = await repository.overlapping_time_off(session, practitioner_id, starts_at, ends_at)
    if clashes:
        clash = clashes[0]
        raise TimeOffOverlapsError(
            f"The practitioner is already away from {clash.starts_at.isoformat()} to "
            f"{clash.ends_at.isoformat()} (time off {clash.id}): change that one instead."
        )
    row = await repository.insert_time_off(session, practitioner_id, starts_at, ends_at, reason)
    conflicts = await visits(
        session, practitioner_id=practitioner_id, overlapping=(starts_at, ends_at)
    )
    # Not the reason: "sick" or "surgery" says something about a person's health.
    await audit.record(
        session,
        "clinic.time_off.created",
        context,
        subject_kind="practitioner",
        subject_id=practitioner_id,
        time_off_id=row.id,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
        conflicts=_ids(conflicts),
    )
    return Changed(row, conflicts)


async def delete_time_off(
    session: AsyncSession, staff: StaffPrincipal, time_off_id: int, *, context: AuditContext
) -> list[BookedVisit]:
    """The practitioner is back: removing time off only gives working time back."""
    missing = TimeOffNotFoundError(f"There is no time off {time_off_id}.")
    row = await repository.get_time_off(session, time_off_id)
    if row is None:
        raise missing
    try:
        await _managed_practitioner(session, staff, row.practitioner_id)
    except PractitionerNotFoundError:
        raise missing from None
    row = await repository.get_time_off(session, time_off_id, again=True)
    if row is None:
        raise missing
    await _require_manager_of_hours(session, staff, row.practitioner_id, row.starts_at, row.ends_at)
    await repository.remove(session, row)
    await audit.record(
        session,
        "clinic.time_off.deleted",
        context,
        subject_kind="practitioner",
        subject_id=row.practitioner_id,
        time_off_id=time_off_id,
        starts_at=row.starts_at.isoformat(),
        ends_at=row.ends_at.isoformat(),
    )
    return []


# --- closures -----------------------------------------------------------------------------------


async def list_closures(
    session: AsyncSession,
    staff: StaffPrincipal,
    clinic_id: uuid.UUID,
    first_day: date | None,
    last_day: date | None,
) -> Sequence[ClinicClosure]:
    """The clinic's closures and the public holidays (which close every clinic)."""
    await _managed_clinic(session, staff, clinic_id)
    return await repository.list_closures(session, clinic_id, first_day, last_day)


def _days(first_day: date, last_day: date) -> list[date]:
    if last_day < first_day:
        raise InvalidPeriodError(f"last_day ({last_day}) is before first_day ({first_day}).")
    count = (last_day - first_day).days + 1
    if count > MAX_CLOSURE_DAYS:
        raise InvalidPeriodError(f"Close at most {MAX_CLOSURE_DAYS} days at a time.")
    return [first_day + timedelta(days=n) for n in range(count)]


async def create_closure(
    session: AsyncSession,
    staff: StaffPrincipal,
    clinic_id: uuid.UUID,
    *,
    first_day: date,
    last_day: date,
    reason: str,
    visits: BookedVisits,
    context: AuditContext,
) -> Changed[Sequence[ClinicClosure]]:
    """Close a clinic on a day or every day of a period (a closure row per local day).
    Appointments on those days stay, and are answered as conflicts."""
    clinic = await _managed_clinic(session, staff, clinic_id)
    days = _days(first_day, last_day)
    already = await repository.own_closures_between(session, clinic_id, first_day, last_day)
    if already:
        listed = ", ".join(str(closure.day) for closure in already[:10])
        more = " and more" if len(already) > 10 else ""
        raise ClinicAlreadyClosedError(
            f"The clinic is already closed on {listed}{more}: leave those days out, or delete "
            "those closures first."
        )
    rows = await repository.insert_closures(session, clinic_id, days, reason)
    if rows is None:  # someone closed one of the days a moment ago
        raise ClinicAlreadyClosedError(
            "Someone else has just closed the clinic on one of those days. Please look again."
        )
    period = local_day_bounds(ZoneInfo(clinic.timezone), first_day, last_day)
    conflicts = await visits(session, clinic_id=clinic_id, overlapping=period)
    await audit.record(
        session,
        "clinic.closure.created",
        context,
        subject_kind="clinic",
        subject_id=clinic_id,
        clinic_id=clinic_id,
        closure_ids=[row.id for row in rows],
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        conflicts=_ids(conflicts),
    )
    return Changed(rows, conflicts)


async def delete_closure(
    session: AsyncSession, staff: StaffPrincipal, closure_id: int, *, context: AuditContext
) -> list[BookedVisit]:
    """Open a closed day again. A public holiday closes every clinic: only an administrator of
    every clinic may remove one."""
    row = await repository.lock_closure(session, closure_id)
    if row is None or (row.clinic_id is not None and not _works_at(staff, row.clinic_id)):
        raise ClosureNotFoundError(f"There is no closure {closure_id}.")
    staff.require(MANAGE, row.clinic_id)
    await repository.remove(session, row)
    await audit.record(
        session,
        "clinic.closure.deleted",
        context,
        subject_kind="clinic",
        subject_id=row.clinic_id,
        clinic_id=row.clinic_id,
        closure_id=closure_id,
        day=row.day.isoformat(),
        kind=row.kind,
    )
    return []


# --- shared -------------------------------------------------------------------------------------


def _ids(conflicts: Iterable[BookedVisit]) -> list[str]:
    return [str(visit.appointment_id) for visit in conflicts]


def _json_value(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """For the audit trail's JSON: ids, times and dates as strings."""
    return {name: _json_value(value) for name, value in values.items()}
