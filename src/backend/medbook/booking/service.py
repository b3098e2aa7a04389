"""Booking rules: holds, confirmation, cancellation, rescheduling and the staff actions.

Services flush but never commit: the request's transaction commits once, at the end, so a
reschedule or a hold is all-or-nothing. Every "now" is the database's transaction timestamp.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.service import AuditContext, record
from medbook.booking import repository
from medbook.booking.availability import (
    OfferedSlot,
    Schedule,
    check_slot,
    load_schedule,
    offered_slots,
)
from medbook.booking.errors import (
    AppointmentNotFoundError,
    ContactDetailsMissingError,
    HoldExpiredError,
    HoldLimitReachedError,
    HoldReleasedError,
    InvalidTransitionConflictError,
    NotBookedError,
    PaymentRequiredError,
    PractitionerNotAtClinicError,
    SlotNotOfferedError,
    SlotTakenError,
    TooEarlyError,
    TooLateError,
    WorksElsewhereThenError,
)
from medbook.booking.models import Appointment
from medbook.booking.repository import HoldTerms, NewAppointment, TimeOwner
from medbook.booking.states import Action, InvalidTransitionError, next_status
from medbook.booking.values import CheckoutDetails
from medbook.clinics import service as clinics_service
from medbook.clinics.errors import PractitionerNotFoundError, ServiceNotFoundError
from medbook.clinics.models import Clinic, Practitioner, Service
from medbook.clinics.values import BookedVisit
from medbook.db import sqlstate
from medbook.kernel.errors import (
    BusyError,
    ClinicNotFoundError,
    ForbiddenError,
    UnprocessableError,
)
from medbook.kernel.permissions import Actor, Permission, StaffPrincipal
from medbook.kernel.statuses import Status
from medbook.kernel.time import local_day_bounds
from medbook.patients import service as patients_service
from medbook.patients.errors import PatientNotFoundError
from medbook.patients.models import Patient
from medbook.patients.service import register_patient, update_contact
from medbook.patients.values import ContactDetails
from medbook.privacy import service as privacy
from medbook.scheduling import Interval

EXCLUSION_VIOLATION = "23P01"
LOCK_NOT_AVAILABLE = "55P03"
# A walk-in may be recorded a little after the patient sat down.
WALK_IN_GRACE = timedelta(hours=1)
MY_APPOINTMENTS_LIMIT = 100
CLINIC_BOOK_MAX_DAYS = 14  # the desk's week view, with a week either side to spare
# What a calendar entry may be made for: a booking that is still going to happen, or happening.
BOOKED = frozenset({Status.CONFIRMED, Status.CHECKED_IN})


@dataclass(frozen=True, slots=True)
class BookingTarget:
    clinic: Clinic
    practitioner: Practitioner
    service: Service


def current_status(appointment: Appointment, now: datetime) -> Status:
    """A held row past its expiry is expired, whether or not anything has marked it yet."""
    status = Status(appointment.status)
    if (
        status is Status.HELD
        and appointment.hold_expires_at is not None
        and appointment.hold_expires_at <= now
    ):
        return Status.EXPIRED
    return status


async def database_now(session: AsyncSession) -> datetime:
    """The transaction's timestamp: the one clock of holds, expiry and payments."""
    return await repository.database_now(session)


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """An appointment as it is shown: its status at `now` (a hold past its expiry is expired)
    and its clinic's timezone, which its times are shown in."""

    appointment: Appointment
    status: Status
    tz: ZoneInfo
    now: datetime


async def appointment_view(
    session: AsyncSession, appointment: Appointment, now: datetime | None = None
) -> AppointmentView:
    """The appointment as it is shown, at `now` (default: the transaction's timestamp)."""
    if now is None:
        now = await repository.database_now(session)
    clinic = repository.loaded_clinic(appointment)
    if clinic is None:  # a row just written: its clinic was not read with it
        clinic = await clinics_service.get_clinic(session, appointment.clinic_id)
        assert clinic is not None  # a foreign key
    return AppointmentView(
        appointment, current_status(appointment, now), ZoneInfo(clinic.timezone), now
    )


async def appointment_of_payment(
    session: AsyncSession, appointment_id: uuid.UUID
) -> AppointmentView:
    """The booking a payment is for, as it stands: for checkout, which has checked already
    that its caller may see it (or acts for the clinic itself)."""
    appointment = await repository.get_appointment(session, appointment_id)
    assert appointment is not None  # a payment's foreign key
    return await appointment_view(session, appointment)


async def resolve_target(
    session: AsyncSession, clinic_id: uuid.UUID, practitioner_id: uuid.UUID, service_id: uuid.UUID
) -> BookingTarget:
    found = await clinics_service.booking_target(session, clinic_id, practitioner_id, service_id)
    if found is None:
        await _require_clinic_and_practitioner(session, clinic_id, practitioner_id)
        raise ServiceNotFoundError(f"There is no service {service_id}.")
    clinic, practitioner, service, offered, now = found
    repository.remember_now(session, now)
    if not practitioner.active:
        raise PractitionerNotFoundError(f"There is no practitioner {practitioner_id}.")
    if not service.active:
        raise ServiceNotFoundError(f"There is no service {service_id}.")
    if not offered:
        raise UnprocessableError(
            f"{practitioner.title} {practitioner.full_name} does not offer {service.name}.",
            code="service_not_offered",
        )
    return BookingTarget(clinic, practitioner, service)


async def _require_clinic_and_practitioner(
    session: AsyncSession, clinic_id: uuid.UUID, practitioner_id: uuid.UUID
) -> None:
    """Raise the 404 that names which of the two does not exist, if either."""
    if await clinics_service.get_clinic(session, clinic_id) is None:
        raise ClinicNotFoundError(f"There is no clinic {clinic_id}.")
    if await clinics_service.get_practitioner(session, practitioner_id) is None:
        raise PractitionerNotFoundError(f"There is no practitioner {practitioner_id}.")


async def _schedule_for(
    session: AsyncSession,
    target: BookingTarget,
    start: datetime,
    exclude_id: uuid.UUID | None = None,
) -> Schedule:
    local_day = start.astimezone(ZoneInfo(target.clinic.timezone)).date()
    return await load_schedule(
        session, [target.clinic], [target.practitioner], local_day, local_day, exclude_id
    )


async def _lock_time(session: AsyncSession, *owners: TimeOwner) -> None:
    """Take the booking locks of these practitioners' and rooms' time (ADR 0010): before any
    appointment row is locked or written, so writers of one time queue instead of deadlocking.
    Still waiting at lock_timeout, the time is being booked by others right now."""
    try:
        await repository.lock_time(session, *owners)
    except DBAPIError as error:
        if sqlstate(error) == LOCK_NOT_AVAILABLE:
            raise SlotTakenError("That time is being booked by someone else right now.") from error
        raise


async def _take_time(
    session: AsyncSession,
    row: NewAppointment,
    *,
    stale_holds: bool = True,
    hold: HoldTerms | None = None,
) -> Appointment:
    """Insert an active row, under the booking locks of its practitioner and room (ADR 0010).
    The exclusion constraints have the last word on overlaps.

    Stale holds in the way (`stale_holds`: the schedule showed one, or nobody looked) are
    marked expired first, under the locks. Without them, taking the locks and inserting are
    one statement, so a racer that loses holds the locks for the shortest time.
    """
    owner = row.owner
    # No savepoint: a refused insert ends the request, and its transaction rolls back whole.
    try:
        if stale_holds:
            await repository.lock_time(session, owner)
            await repository.expire_stale_holds(
                session, owner.practitioner_id, owner.room_id, row.blocked
            )
        appointment = await repository.insert_appointment(session, row, hold)
    except IntegrityError as error:
        if sqlstate(error) == EXCLUSION_VIOLATION:
            raise SlotTakenError("That time was just taken. Please choose another time.") from error
        raise
    except DBAPIError as error:
        if sqlstate(error) == LOCK_NOT_AVAILABLE:
            raise SlotTakenError("That time is being booked by someone else right now.") from error
        raise
    if appointment is None:
        assert hold is not None  # only a hold's insert is conditional
        raise HoldLimitReachedError(
            f"You already hold {hold.max_live_holds} times. Finish or release one before "
            "holding another."
        )
    return appointment


async def _bookable_slot(
    session: AsyncSession,
    target: BookingTarget,
    start: datetime,
    exclude_id: uuid.UUID | None = None,
) -> tuple[Interval, uuid.UUID | None, bool]:
    """The slot's blocked time and room, if the timetable offers it and it is free, and
    whether a stale hold is in its way."""
    schedule = await _schedule_for(session, target, start, exclude_id)
    offered, free = check_slot(schedule, target.service, start)
    if offered is None:
        raise SlotNotOfferedError(
            f"{target.service.name} is not offered at {start.isoformat()} with this practitioner at "
            f"{target.clinic.name}: pick a time from the availability search."
        )
    if free is None:
        raise SlotTakenError("That time is already taken. Please choose another time.")
    room_id = free.room_id
    assert room_id is None or isinstance(room_id, uuid.UUID)
    stale = schedule.stale_hold_in(target.practitioner.id, room_id, free.blocked)
    return free.blocked, room_id, stale


async def place_hold(
    session: AsyncSession,
    actor: Actor,
    target: BookingTarget,
    start: datetime,
    patient_id: uuid.UUID | None,
    hold_ttl_seconds: int,
    max_live_holds: int,
) -> Appointment:
    """Hold a slot for `hold_ttl_seconds` of database time while its patient checks out.

    A patient holds for themself; staff hold for a patient at a clinic where they may book.
    """
    patient_id = await _patient_for(session, actor, target.clinic.id, patient_id)
    blocked, room_id, stale = await _bookable_slot(session, target, start)
    # The holder's lock serialises their attempts; their live holds are counted with the insert.
    await repository.lock_holder(session, actor.key)
    return await _take_time(
        session,
        NewAppointment(
            kind="appointment",
            status=Status.HELD,
            clinic_id=target.clinic.id,
            practitioner_id=target.practitioner.id,
            room_id=room_id,
            service_id=target.service.id,
            starts_at=start,
            ends_at=start + timedelta(minutes=target.service.duration_minutes),
            blocked=Range(blocked.start, blocked.end, bounds="[)"),
            patient_id=patient_id,
            holder=actor.key,
            source="staff" if actor.is_staff else "online",
        ),
        stale_holds=stale,
        hold=HoldTerms(hold_ttl_seconds, max_live_holds),
    )


async def _patient_for(
    session: AsyncSession, actor: Actor, clinic_id: uuid.UUID, patient_id: uuid.UUID | None
) -> uuid.UUID:
    if actor.staff is None:
        assert actor.patient_id is not None
        if patient_id is not None and patient_id != actor.patient_id:
            raise UnprocessableError(
                "Patients book for themselves; leave patient_id out.", code="not_your_patient_id"
            )
        return actor.patient_id
    actor.staff.require(Permission.BOOK, clinic_id)
    if patient_id is None:
        raise UnprocessableError(
            "Staff booking for a patient must say which: give patient_id.",
            code="patient_required",
        )
    await _require_patient(session, patient_id)
    return patient_id


async def _require_patient(session: AsyncSession, patient_id: uuid.UUID) -> None:
    if not await patients_service.patient_exists(session, patient_id):
        raise PatientNotFoundError(f"There is no patient {patient_id}.")


async def _load(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor, permission: Permission
) -> Appointment:
    """The appointment, locked for a change: its time's booking locks first, then its row."""
    await repository.lock_time_of(session, appointment_id)
    appointment = await repository.get_appointment(session, appointment_id, for_update=True)
    _check_access(appointment_id, appointment, actor, permission)
    assert appointment is not None
    return appointment


def _check_access(
    appointment_id: uuid.UUID,
    appointment: Appointment | None,
    actor: Actor,
    permission: Permission,
) -> None:
    """A patient reaches only their own appointments; staff those of clinics they work at.

    "No such row", "another patient's" and "another clinic's" get the same 404, so ids cannot
    be probed; staff who can see the row but not do this to it get a 403 that says so.
    """
    if appointment is not None:
        if actor.staff is None:
            if appointment.patient_id is not None and appointment.patient_id == actor.patient_id:
                return
        elif actor.staff.may(Permission.VIEW_SCHEDULE, appointment.clinic_id):
            actor.staff.require(permission, appointment.clinic_id)
            return
    raise AppointmentNotFoundError(f"There is no appointment {appointment_id} you can access.")


def _allowed(status: Status, action: Action) -> Status:
    """The state machine's answer, as the error a caller should see when it says no."""
    try:
        return next_status(status, action)
    except InvalidTransitionError as error:
        if status is Status.EXPIRED and action in (Action.CONFIRM, Action.RELEASE):
            raise HoldExpiredError("This hold ran out. Please pick a time again.") from error
        if status is Status.RELEASED and action in (Action.CONFIRM, Action.RELEASE):
            raise HoldReleasedError("This hold was released. Please pick a time again.") from error
        raise InvalidTransitionConflictError(str(error).capitalize() + ".") from error


async def _transition(
    session: AsyncSession,
    appointment: Appointment,
    action: Action,
    now: datetime,
    *,
    late_cancellation: bool | None = None,
    note: str | None = None,
) -> Appointment:
    """Move the appointment on by `action`, if the state machine allows it; a cancellation
    also records whether it was late, and why."""
    new_status = _allowed(current_status(appointment, now), action)
    await repository.set_status(
        session, appointment, new_status, late_cancellation=late_cancellation, note=note
    )
    return appointment


async def view_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor, *, to_book: bool = False
) -> tuple[Appointment, datetime]:
    """The appointment, if the actor may see it (to_book: and book for it), and now()."""
    appointment = await repository.get_appointment(session, appointment_id)
    permission = Permission.BOOK if to_book else Permission.VIEW_SCHEDULE
    _check_access(appointment_id, appointment, actor, permission)
    assert appointment is not None
    return appointment, await repository.database_now(session)


async def appointment_for(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor
) -> AppointmentView:
    """The appointment as it is shown now, if the actor may see it."""
    appointment, now = await view_appointment(session, appointment_id, actor)
    return await appointment_view(session, appointment, now)


async def view_booking_now(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor
) -> tuple[Appointment, datetime]:
    """The booking as it stands now (where a reschedule moved it, perhaps to another clinic),
    if the actor may see it there."""
    current = await repository.booking_now(session, appointment_id)
    return await view_appointment(session, current or appointment_id, actor)


async def release_hold(session: AsyncSession, hold_id: uuid.UUID, actor: Actor) -> None:
    appointment = await _load(session, hold_id, actor, Permission.BOOK)
    now = await repository.database_now(session)
    await _transition(session, appointment, Action.RELEASE, now)


async def confirm_hold(
    session: AsyncSession, hold_id: uuid.UUID, actor: Actor, details: CheckoutDetails
) -> Appointment:
    """Turn a live hold into a booking, saving what was given at checkout.

    A service paid online is confirmed by its payment (see checkout), not by this call; staff
    booking at the desk may confirm it here, and the patient pays at the clinic.
    """
    appointment, service = await _live_hold(session, hold_id, actor)
    if not actor.is_staff and service is not None and service.online_payment != "none":
        raise PaymentRequiredError(
            f"{service.name} is paid online before it is confirmed: start the payment with "
            f"POST /api/v1/holds/{hold_id}/payment."
        )
    await take_checkout_details(session, appointment, actor, details)
    now = await repository.database_now(session)
    return await _transition(session, appointment, Action.CONFIRM, now)


async def hold_for_checkout(
    session: AsyncSession, hold_id: uuid.UUID, actor: Actor
) -> tuple[Appointment, Service]:
    """The live hold a payment is for (locked), with its service."""
    appointment, service = await _live_hold(session, hold_id, actor)
    assert service is not None  # holds are of services; blocks are never held
    return appointment, service


async def _live_hold(
    session: AsyncSession, hold_id: uuid.UUID, actor: Actor
) -> tuple[Appointment, Service | None]:
    appointment = await _load(session, hold_id, actor, Permission.BOOK)
    now = await repository.database_now(session)
    # 410 for a hold that ran out or was released, 409 for one already confirmed.
    _allowed(current_status(appointment, now), Action.CONFIRM)
    service = (
        await clinics_service.get_service(session, appointment.service_id)
        if appointment.service_id
        else None
    )
    return appointment, service


async def take_checkout_details(
    session: AsyncSession, appointment: Appointment, actor: Actor, details: CheckoutDetails
) -> None:
    """Save what was given at checkout for a (locked, live) hold: contact details (needed once),
    consent to the privacy notice (patients: needed once per version) and the visit's reason."""
    patient_id = appointment.patient_id
    assert patient_id is not None
    if details.contact is not None:
        await update_contact(session, patient_id, details.contact)
    elif not await patients_service.has_contact_details(session, patient_id):
        raise ContactDetailsMissingError(
            "We need the patient's name and phone number before confirming: send `patient`."
        )
    await privacy.consent_at_checkout(
        session, patient_id, given=details.privacy_consent, by_staff=actor.is_staff
    )
    if details.visit_reason:
        await repository.set_visit_reason(session, appointment, details.visit_reason)


class PaidOutcome(StrEnum):
    CONFIRMED = "confirmed"  # the hold was live: it is a booking now
    RECLAIMED = "reclaimed"  # the hold had run out, but its time was still free
    ALREADY_CONFIRMED = "already_confirmed"  # staff confirmed it meanwhile
    SLOT_TAKEN = "slot_taken"  # the hold had run out and somebody else has the time now
    NOT_NEEDED = "not_needed"  # the booking was cancelled or moved meanwhile


async def confirm_paid(session: AsyncSession, appointment_id: uuid.UUID) -> PaidOutcome:
    """A payment for this booking succeeded: confirm it, or take its time back if the hold ran
    out and the time is still free. The caller refunds when the answer is neither."""
    await repository.lock_time_of(session, appointment_id)
    appointment = await repository.get_appointment(session, appointment_id, for_update=True)
    assert appointment is not None
    now = await repository.database_now(session)
    status = current_status(appointment, now)
    if status is Status.HELD:
        await _transition(session, appointment, Action.CONFIRM, now)
        return PaidOutcome.CONFIRMED
    if status in (Status.EXPIRED, Status.RELEASED):
        return await _reclaim(session, appointment, status)
    if status in (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED):
        return PaidOutcome.ALREADY_CONFIRMED
    return PaidOutcome.NOT_NEEDED


async def _reclaim(session: AsyncSession, appointment: Appointment, status: Status) -> PaidOutcome:
    blocked: Range[datetime] = appointment.blocked
    await repository.expire_stale_holds(
        session, appointment.practitioner_id, appointment.room_id, blocked
    )
    # A savepoint: when the time is taken, the payment's own changes must still commit.
    try:
        async with session.begin_nested():
            await repository.set_status(session, appointment, next_status(status, Action.RECLAIM))
    except IntegrityError as error:
        if sqlstate(error) == EXCLUSION_VIOLATION:
            return PaidOutcome.SLOT_TAKEN
        raise
    except DBAPIError as error:
        if sqlstate(error) == LOCK_NOT_AVAILABLE:
            raise BusyError(
                "That time is being booked by someone else right now; try again shortly."
            ) from error
        raise
    return PaidOutcome.RECLAIMED


@dataclass(frozen=True, slots=True)
class CancellationTerms:
    appointment: Appointment
    service: Service | None
    late: bool  # inside the service's cancellation window: the deposit is kept


async def cancellation_terms(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor
) -> CancellationTerms:
    """What cancelling now would mean, without cancelling (the page shows it first)."""
    appointment = await _load(session, appointment_id, actor, Permission.BOOK)
    return await _terms(session, appointment, actor)


async def _terms(
    session: AsyncSession, appointment: Appointment, actor: Actor
) -> CancellationTerms:
    now = await repository.database_now(session)
    if not actor.is_staff and now >= appointment.starts_at:
        raise TooLateError(
            "This appointment has already started; please call the clinic.",
            code="appointment_started",
        )
    _allowed(current_status(appointment, now), Action.CANCEL)
    service = (
        await clinics_service.get_service(session, appointment.service_id)
        if appointment.service_id
        else None
    )
    window = timedelta(hours=service.cancellation_window_hours) if service else timedelta(0)
    # Only the patient's own late change of plan is late; the clinic cancelling never is.
    late = not actor.is_staff and now > appointment.starts_at - window
    return CancellationTerms(appointment, service, late)


async def cancel_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor, reason: str
) -> CancellationTerms:
    """Patients may cancel until the visit starts; inside the service's cancellation window
    the cancellation is recorded as late (the deposit is kept then)."""
    appointment = await _load(session, appointment_id, actor, Permission.BOOK)
    terms = await _terms(session, appointment, actor)
    now = await repository.database_now(session)
    await _transition(
        session, appointment, Action.CANCEL, now, late_cancellation=terms.late, note=reason
    )
    return terms


async def reschedule_appointment(
    session: AsyncSession,
    appointment_id: uuid.UUID,
    actor: Actor,
    new_start: datetime,
    practitioner_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
) -> Appointment:
    """Move a confirmed appointment in one transaction: the new time is taken before the old
    one is given up, so a failure leaves the original booking exactly as it was.

    The booking locks of the old time and the new are taken together, once the new time's
    room is known, and only then the old row: read first unlocked, it is checked again."""
    old, now = await view_appointment(session, appointment_id, actor, to_book=True)
    if old.service_id is None:
        raise InvalidTransitionConflictError(
            "Blocked time cannot be rescheduled; remove it and block again."
        )
    _allowed(current_status(old, now), Action.RESCHEDULE)
    target = await resolve_target(
        session, clinic_id or old.clinic_id, practitioner_id or old.practitioner_id, old.service_id
    )
    if actor.staff is not None:
        actor.staff.require(Permission.BOOK, target.clinic.id)
    else:
        window = timedelta(hours=target.service.cancellation_window_hours)
        if now > old.starts_at - window:
            raise TooLateError(
                f"Appointments can be moved online until {target.service.cancellation_window_hours} hours "
                "before they start; please call the clinic.",
                code="reschedule_window_passed",
            )
    blocked, room_id, stale = await _bookable_slot(session, target, new_start, exclude_id=old.id)
    await _lock_time(
        session,
        TimeOwner(old.practitioner_id, old.room_id),
        TimeOwner(target.practitioner.id, room_id),
    )
    old = await _locked_again(session, old)
    _allowed(current_status(old, now), Action.RESCHEDULE)
    moved = NewAppointment(
        kind="appointment",
        status=Status.CONFIRMED,
        clinic_id=target.clinic.id,
        practitioner_id=target.practitioner.id,
        room_id=room_id,
        service_id=target.service.id,
        patient_id=old.patient_id,
        starts_at=new_start,
        ends_at=new_start + timedelta(minutes=target.service.duration_minutes),
        blocked=Range(blocked.start, blocked.end, bounds="[)"),
        source=old.source,
        rescheduled_from_id=old.id,
    )
    old_blocked = Interval(old.blocked.lower, old.blocked.upper)  # type: ignore[arg-type]
    shares_owner = old.practitioner_id == target.practitioner.id or (
        old.room_id is not None and old.room_id == room_id
    )
    if shares_owner and old_blocked.overlaps(blocked):
        # The new time overlaps the old one: the old must step aside first, inside this
        # same transaction, or the constraint would see the patient clash with themself.
        await _transition(session, old, Action.RESCHEDULE, now)
        return await _take_time(session, moved, stale_holds=stale)
    new = await _take_time(session, moved, stale_holds=stale)
    await _transition(session, old, Action.RESCHEDULE, now)
    return new


async def _locked_again(session: AsyncSession, appointment: Appointment) -> Appointment:
    locked = await repository.get_appointment(session, appointment.id, for_update=True)
    assert locked is not None  # rows are never deleted
    return locked


async def walk_in(
    session: AsyncSession,
    staff: StaffPrincipal,
    target: BookingTarget,
    patient: uuid.UUID | ContactDetails,
    start: datetime | None,
) -> Appointment:
    """Book a patient at the desk: any free time inside the practitioner's working hours (no
    grid, no notice period). Today's visit is checked in at once; a later day's is confirmed.
    The patient is one on record (by id) or a new one (by contact details)."""
    staff.require(Permission.BOOK, target.clinic.id)
    if isinstance(patient, uuid.UUID):
        await _require_patient(session, patient)
    now = await repository.database_now(session)
    start = start or now.replace(second=0, microsecond=0)
    if start < now - WALK_IN_GRACE:
        raise UnprocessableError(
            "That time has passed; book the visit from now on.", code="walk_in_in_the_past"
        )
    tz = ZoneInfo(target.clinic.timezone)
    # At the desk for today: checked in at once. For another day it is a booking made by staff.
    arrived = start.astimezone(tz).date() == now.astimezone(tz).date()
    service = target.service
    end = start + timedelta(minutes=service.duration_minutes)
    blocked = Interval(
        start - timedelta(minutes=service.buffer_before_minutes),
        end + timedelta(minutes=service.buffer_after_minutes),
    )
    schedule = await _schedule_for(session, target, start)
    found = next(
        (
            (day, window)
            for day in schedule.days
            for window in day.windows
            if window.interval.contains(blocked)
        ),
        None,
    )
    if found is None:
        raise SlotNotOfferedError(
            f"{target.practitioner.title} {target.practitioner.full_name} is not working at "
            f"{target.clinic.name} at {start.isoformat()}."
        )
    day, window = found
    room_id = window.room_id
    assert room_id is None or isinstance(room_id, uuid.UUID)
    # Checked here for a quick answer (no booking lock to wait for); the constraints decide.
    room_busy = schedule.busy_by_room.get(room_id, []) if room_id is not None else []
    if any(blocked.overlaps(busy) for busy in [*day.busy, *room_busy]):
        raise SlotTakenError("That time is already taken. Please choose another time.")
    patient_id = (
        patient if isinstance(patient, uuid.UUID) else await register_patient(session, patient)
    )
    return await _take_time(
        session,
        NewAppointment(
            kind="appointment",
            status=Status.CHECKED_IN if arrived else Status.CONFIRMED,
            clinic_id=target.clinic.id,
            practitioner_id=target.practitioner.id,
            room_id=room_id,
            service_id=service.id,
            patient_id=patient_id,
            starts_at=start,
            ends_at=end,
            blocked=Range(blocked.start, blocked.end, bounds="[)"),
            source="walk_in" if arrived else "staff",
        ),
        stale_holds=schedule.stale_hold_in(target.practitioner.id, room_id, blocked),
    )


async def block_time(
    session: AsyncSession,
    staff: StaffPrincipal,
    clinic_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    reason: str,
) -> Appointment:
    """Take a practitioner out of the book (meeting, break, home visit) at one clinic.

    Only at a clinic where the staff member may block time and the practitioner works then (has
    a template line there), and only that clinic's time: a block over the practitioner's hours
    at another clinic would take them from that clinic's book, where its desk can neither see
    the block nor remove it. Time away from every clinic is time off, for their managers.
    """
    staff.require(Permission.BLOCK_TIME, clinic_id)
    if end <= start:
        raise UnprocessableError("A block must end after it starts.", code="invalid_period")
    if end - start > timedelta(days=31):
        raise UnprocessableError(
            "Blocks are limited to 31 days; record longer absences as time off.",
            code="invalid_period",
        )
    await _require_clinic_and_practitioner(session, clinic_id, practitioner_id)
    await _require_only_this_clinics_time(session, clinic_id, practitioner_id, start, end)
    return await _take_time(
        session,
        NewAppointment(
            kind="block",
            status=Status.BLOCKED,
            clinic_id=clinic_id,
            practitioner_id=practitioner_id,
            starts_at=start,
            ends_at=end,
            blocked=Range(start, end, bounds="[)"),
            source="staff",
            note=reason,
        ),
    )


async def _require_only_this_clinics_time(
    session: AsyncSession,
    clinic_id: uuid.UUID,
    practitioner_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> None:
    places = await clinics_service.workplaces(session, practitioner_id, start, end)
    if not any(place.clinic.id == clinic_id for place in places):
        raise PractitionerNotAtClinicError(
            "This practitioner does not work at this clinic then (no weekly hours here in that "
            "period): block time only where they work."
        )
    elsewhere = next(
        (place for place in places if place.clinic.id != clinic_id and place.hours), None
    )
    if elsewhere is not None:
        assert elsewhere.hours is not None
        tz = ZoneInfo(elsewhere.clinic.timezone)
        raise WorksElsewhereThenError(
            f"In that period the practitioner works at {elsewhere.clinic.name} (from "
            f"{elsewhere.hours.start.astimezone(tz):%Y-%m-%d %H:%M}): block only this clinic's "
            "time, and ask their managers to record time off for an absence everywhere."
        )


async def remove_block(
    session: AsyncSession, staff: StaffPrincipal, block_id: uuid.UUID
) -> Appointment:
    appointment = await _load(session, block_id, Actor(staff=staff), Permission.BLOCK_TIME)
    now = await repository.database_now(session)
    return await _transition(session, appointment, Action.UNBLOCK, now)


async def check_in(
    session: AsyncSession, staff: StaffPrincipal, appointment_id: uuid.UUID
) -> Appointment:
    """Arrivals are checked in on the day of their visit, not before."""
    appointment = await _load(session, appointment_id, Actor(staff=staff), Permission.ATTEND)
    now = await repository.database_now(session)
    tz = ZoneInfo(appointment.clinic.timezone)  # joined by _load
    if now.astimezone(tz).date() < appointment.starts_at.astimezone(tz).date():
        raise TooEarlyError(
            "This appointment is on a later day; check the patient in on that day.",
            code="not_today",
        )
    return await _transition(session, appointment, Action.CHECK_IN, now)


async def mark_no_show(
    session: AsyncSession, staff: StaffPrincipal, appointment_id: uuid.UUID
) -> Appointment:
    appointment = await _load(session, appointment_id, Actor(staff=staff), Permission.ATTEND)
    now = await repository.database_now(session)
    if now < appointment.starts_at:
        raise TooEarlyError(
            "The appointment has not started yet, so it cannot be a no-show.", code="not_started"
        )
    return await _transition(session, appointment, Action.NO_SHOW, now)


async def complete(
    session: AsyncSession, staff: StaffPrincipal, appointment_id: uuid.UUID
) -> Appointment:
    appointment = await _load(session, appointment_id, Actor(staff=staff), Permission.ATTEND)
    now = await repository.database_now(session)
    return await _transition(session, appointment, Action.COMPLETE, now)


@dataclass(frozen=True, slots=True)
class ClinicBook:
    """A clinic's book over some local days, as one staff member may see it."""

    clinic: Clinic
    appointments: list[Appointment]  # by start
    now: datetime
    patients: dict[uuid.UUID, Patient] | None  # None: they may not see patients at this clinic


async def clinic_book(
    session: AsyncSession,
    staff: StaffPrincipal,
    clinic_id: uuid.UUID,
    first_day: date,
    last_day: date,
) -> ClinicBook:
    """Everything on a clinic's book over local days (at most 14), for the desk's day and week
    views; with the patients (one query for all of them) when the staff member may see them."""
    _check_period(first_day, last_day, CLINIC_BOOK_MAX_DAYS)
    staff.require(Permission.VIEW_SCHEDULE, clinic_id)
    clinic = await clinics_service.get_clinic(session, clinic_id)
    if clinic is None:
        raise ClinicNotFoundError(f"There is no clinic {clinic_id}.")
    start, end = local_day_bounds(ZoneInfo(clinic.timezone), first_day, last_day)
    rows = list(await repository.appointments_between(session, clinic_id, start, end))
    patients = None
    if staff.may(Permission.VIEW_PATIENTS, clinic_id):
        ids = {row.patient_id for row in rows if row.patient_id is not None}
        found = await patients_service.patients_by_ids(session, ids)
        patients = {patient.id: patient for patient in found}
    return ClinicBook(clinic, rows, await repository.database_now(session), patients)


def _check_period(first_day: date, last_day: date, max_days: int) -> None:
    if last_day < first_day:
        raise UnprocessableError("`to` must not be before `from`.", code="invalid_period")
    if (last_day - first_day).days + 1 > max_days:
        raise UnprocessableError(
            f"Ask for at most {max_days} days at a time.", code="invalid_period"
        )


async def my_appointments(
    session: AsyncSession, patient_id: uuid.UUID, *, upcoming: bool
) -> tuple[Sequence[Appointment], datetime]:
    """A patient's own bookings, not over yet (soonest first) or over (latest first), and now()."""
    rows = await repository.appointments_of_patient(
        session, patient_id, upcoming=upcoming, limit=MY_APPOINTMENTS_LIMIT
    )
    return rows, await repository.database_now(session)


@dataclass(frozen=True, slots=True)
class PatientVisits:
    """A patient's bookings at the clinics where one staff member may see patients."""

    patient: Patient
    appointments: Sequence[Appointment]
    now: datetime
    known_here: bool  # a patient of one of those clinics; if not, no contact details are shown


async def patient_visits(
    session: AsyncSession,
    staff: StaffPrincipal,
    patient_id: uuid.UUID,
    audit: AuditContext,
    *,
    upcoming: bool,
) -> PatientVisits:
    """For the desk answering "when is my appointment?": the patient's bookings at the clinics
    where the staff member may see patients, never elsewhere. Each look is audited. A patient
    of other clinics only (found at the desk by a whole identifier, ADR 0009) comes without
    contact details."""
    clinics = staff.clinics_with(Permission.VIEW_PATIENTS)
    if clinics == frozenset():
        raise ForbiddenError(
            f"Your role does not allow {Permission.VIEW_PATIENTS.value} at any clinic.",
            code="not_permitted",
        )
    patient = await patients_service.get_patient(session, patient_id)  # 404 if there is none
    rows = await repository.appointments_of_patient(
        session, patient_id, upcoming=upcoming, limit=MY_APPOINTMENTS_LIMIT, clinic_ids=clinics
    )
    await record(
        session,
        "patient.visits_viewed",
        audit,
        subject_kind="patient",
        subject_id=patient_id,
        results=len(rows),
    )
    known_here = await patients_service.known_at(
        session, staff, patient_id, repository.patient_booked_at
    )
    return PatientVisits(patient, rows, await repository.database_now(session), known_here)


async def calendar_entry(
    session: AsyncSession, appointment_id: uuid.UUID, actor: Actor
) -> tuple[Appointment, Service]:
    """A booked appointment (with its clinic) and its service, for a calendar file; whoever may
    see the appointment may have it."""
    appointment, now = await view_appointment(session, appointment_id, actor)
    status = current_status(appointment, now)
    if status not in BOOKED or appointment.service_id is None:
        raise NotBookedError(
            f"This appointment is {status.value}: only a confirmed booking goes in a calendar."
        )
    service = await clinics_service.get_service(session, appointment.service_id)
    assert service is not None
    return appointment, service


async def search_availability(
    session: AsyncSession,
    service_id: uuid.UUID,
    first_day: date,
    last_day: date,
    clinic_id: uuid.UUID | None,
    practitioner_id: uuid.UUID | None,
    max_days: int,
) -> tuple[Service, list[OfferedSlot]]:
    """Free slots of a service over local days, at one clinic or all, with one practitioner or any."""
    _check_period(first_day, last_day, max_days)
    service = await clinics_service.get_service(session, service_id)
    if service is None or not service.active:
        raise ServiceNotFoundError(f"There is no service {service_id}.")
    if clinic_id is not None:
        clinic = await clinics_service.get_clinic(session, clinic_id)
        if clinic is None:
            raise ClinicNotFoundError(f"There is no clinic {clinic_id}.")
        clinics: list[Clinic] = [clinic]
    else:
        clinics = list(await clinics_service.list_clinics(session))
    practitioners = list(await clinics_service.list_practitioners(session, clinic_id, service_id))
    if practitioner_id is not None:
        practitioners = [p for p in practitioners if p.id == practitioner_id]
        if (
            not practitioners
            and await clinics_service.get_practitioner(session, practitioner_id) is None
        ):
            raise PractitionerNotFoundError(f"There is no practitioner {practitioner_id}.")
    if not practitioners:
        return service, []
    schedule = await load_schedule(session, clinics, practitioners, first_day, last_day)
    return service, offered_slots(schedule, service, first_day, last_day)


async def booked_visits(
    session: AsyncSession,
    *,
    practitioner_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    service_ids: Collection[uuid.UUID] | None = None,
    overlapping: tuple[datetime, datetime] | None = None,
) -> list[BookedVisit]:
    """The future confirmed appointments, narrowed as asked: what a change to the clinics'
    timetables (a template line, time off, a closure, a practitioner's services) may leave
    outside working time. The clinic administration asks through its BookedVisits port, which
    app.py wires to this."""
    return await repository.future_confirmed(
        session,
        practitioner_id=practitioner_id,
        clinic_id=clinic_id,
        service_ids=service_ids,
        overlapping=overlapping,
    )
