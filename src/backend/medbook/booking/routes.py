"""Booking HTTP API: availability, holds, the patient's appointment, and the staff actions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.booking import service
from medbook.booking.calendar import appointment_ics
from medbook.booking.models import Appointment
from medbook.booking.schemas import (
    AppointmentOut,
    AppointmentsWhen,
    AvailabilityOut,
    BlockIn,
    BookingDay,
    ClinicDayOut,
    ClinicPeriodOut,
    ConfirmIn,
    DeskAppointmentOut,
    HoldIn,
    HoldOut,
    MyAppointmentOut,
    PatientVisitsOut,
    RescheduleIn,
    SlotOut,
    WalkInIn,
)
from medbook.booking.service import AppointmentView, ClinicBook
from medbook.deps import AppSettings, DbSession, IdempotencyKey
from medbook.errors import PROBLEM_RESPONSES
from medbook.idempotency.service import run_once
from medbook.identity.dependencies import Audit, BookingActor, PatientActor, StaffMember
from medbook.identity.rate_limits import AppRateLimits
from medbook.kernel.permissions import Actor
from medbook.patients.schemas import PatientSummaryOut

router = APIRouter(prefix="/api/v1", tags=["booking"], responses=PROBLEM_RESPONSES)
staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=PROBLEM_RESPONSES)

FromDay = Annotated[
    BookingDay, Query(alias="from", description="First local day, e.g. 2026-12-01.")
]
ToDay = Annotated[BookingDay, Query(alias="to", description="Last local day (inclusive).")]


def shown(view: AppointmentView) -> AppointmentOut:
    return AppointmentOut.from_row(view.appointment, view.status, view.tz)


async def shown_now(session: AsyncSession, row: Appointment) -> AppointmentOut:
    """The appointment an action answers, as it stands at the end of it."""
    return shown(await service.appointment_view(session, row))


async def idempotent(
    session: AsyncSession,
    request: Request,
    key: str | None,
    client: str,
    payload: BaseModel,
    status_code: int,
    produce: Callable[[], Awaitable[BaseModel]],
    settings: AppSettings,
) -> JSONResponse:
    answer = await run_once(
        session,
        key=key,
        scope=f"{client}:{request.method}:{request.url.path}",
        payload=payload,
        status_code=status_code,
        produce=produce,
        ttl_hours=settings.idempotency_ttl_hours,
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.get("/availability", response_model=AvailabilityOut, summary="Free slots of a service")
async def availability(
    session: DbSession,
    settings: AppSettings,
    service_id: uuid.UUID,
    from_day: FromDay,
    to_day: ToDay,
    clinic_id: Annotated[uuid.UUID | None, Query(description="Default: every clinic.")] = None,
    practitioner_id: Annotated[
        uuid.UUID | None, Query(description="Default: any practitioner.")
    ] = None,
) -> AvailabilityOut:
    found, offered = await service.search_availability(
        session,
        service_id,
        from_day,
        to_day,
        clinic_id,
        practitioner_id,
        settings.availability_max_days,
    )
    # A week can hold a thousand slots: look each clinic up once, not once per slot.
    clinics = {item.clinic.id: (item.clinic.id, ZoneInfo(item.clinic.timezone)) for item in offered}
    slots = []
    for item in offered:
        clinic_id, tz = clinics[item.clinic.id]
        slots.append(
            SlotOut.model_construct(
                clinic_id=clinic_id,
                practitioner_id=item.practitioner_id,
                start=item.slot.start.astimezone(tz),
                end=item.slot.end.astimezone(tz),
            )
        )
    return AvailabilityOut(service_id=found.id, from_day=from_day, to_day=to_day, slots=slots)


@router.post(
    "/holds",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldOut,
    summary="Hold a slot for 300 seconds while the patient checks out",
)
async def create_hold(
    body: HoldIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    actor: BookingActor,
    limits: AppRateLimits,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    await limits.hit(settings.hold_rate_limit, "hold", actor.key, what="holds")

    async def produce() -> HoldOut:
        target = await service.resolve_target(
            session, body.clinic_id, body.practitioner_id, body.service_id
        )
        hold = await service.place_hold(
            session,
            actor,
            target,
            body.start,
            body.patient_id,
            settings.hold_ttl_seconds,
            settings.max_live_holds_per_client,
        )
        appointment = await shown_now(session, hold)
        assert appointment.hold_expires_at is not None
        return HoldOut(
            hold_id=hold.id, expires_at=appointment.hold_expires_at, appointment=appointment
        )

    return await idempotent(
        session, request, idempotency_key, actor.key, body, 201, produce, settings
    )


@router.get(
    "/holds/{hold_id}", response_model=AppointmentOut, summary="A hold, as its holder sees it"
)
async def get_hold(hold_id: uuid.UUID, session: DbSession, actor: BookingActor) -> AppointmentOut:
    return shown(await service.appointment_for(session, hold_id, actor))


@router.delete(
    "/holds/{hold_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Release a hold early"
)
async def release_hold(hold_id: uuid.UUID, session: DbSession, actor: BookingActor) -> Response:
    await service.release_hold(session, hold_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/holds/{hold_id}/confirm",
    response_model=AppointmentOut,
    summary="Confirm a live hold as an appointment (410 once it has expired)",
)
async def confirm_hold(
    hold_id: uuid.UUID,
    body: ConfirmIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    actor: BookingActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> AppointmentOut:
        row = await service.confirm_hold(session, hold_id, actor, body.to_details())
        return await shown_now(session, row)

    return await idempotent(
        session, request, idempotency_key, actor.key, body, 200, produce, settings
    )


@router.get(
    "/appointments/{appointment_id}", response_model=AppointmentOut, summary="An appointment"
)
async def get_appointment(
    appointment_id: uuid.UUID, session: DbSession, actor: BookingActor
) -> AppointmentOut:
    return shown(await service.appointment_for(session, appointment_id, actor))


@router.get(
    "/appointments/{appointment_id}/calendar.ics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/calendar": {"schema": {"type": "string"}}},
            "description": "An iCalendar (RFC 5545) file with one event.",
        }
    },
    summary="A booked appointment as a calendar file (409 not_booked otherwise)",
)
async def appointment_calendar(
    appointment_id: uuid.UUID, session: DbSession, actor: BookingActor
) -> Response:
    row, booked_service = await service.calendar_entry(session, appointment_id, actor)
    return Response(
        appointment_ics(row, row.clinic, booked_service),
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{row.id}.ics"'},
    )


@router.get(
    "/me/appointments",
    response_model=list[MyAppointmentOut],
    summary="My appointments: upcoming (soonest first) or past (latest first), at most 100",
)
async def my_appointments(
    session: DbSession,
    actor: PatientActor,
    when: Annotated[
        AppointmentsWhen, Query(description="upcoming: not over yet; past: over.")
    ] = AppointmentsWhen.UPCOMING,
) -> list[MyAppointmentOut]:
    assert actor.patient_id is not None
    rows, now = await service.my_appointments(
        session, actor.patient_id, upcoming=when is AppointmentsWhen.UPCOMING
    )
    return [
        MyAppointmentOut.from_patient_row(row, service.current_status(row, now)) for row in rows
    ]


@router.post(
    "/appointments/{appointment_id}/reschedule",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    summary="Move an appointment atomically; answers the new appointment",
)
async def reschedule_appointment(
    appointment_id: uuid.UUID,
    body: RescheduleIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    actor: BookingActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return await reschedule(
        session, request, settings, appointment_id, body, actor, idempotency_key
    )


async def reschedule(
    session: AsyncSession,
    request: Request,
    settings: AppSettings,
    appointment_id: uuid.UUID,
    body: RescheduleIn,
    actor: Actor,
    idempotency_key: str | None,
) -> JSONResponse:
    """Shared by the patient's and the staff's reschedule: only the rules for who may differ."""

    async def produce() -> AppointmentOut:
        row = await service.reschedule_appointment(
            session, appointment_id, actor, body.start, body.practitioner_id, body.clinic_id
        )
        return await shown_now(session, row)

    return await idempotent(
        session, request, idempotency_key, actor.key, body, 201, produce, settings
    )


def desk_appointments(book: ClinicBook) -> list[DeskAppointmentOut]:
    tz = ZoneInfo(book.clinic.timezone)
    return [
        DeskAppointmentOut.from_desk_row(
            row, service.current_status(row, book.now), tz, book.patients
        )
        for row in book.appointments
    ]


@staff_router.get("/clinics/{clinic_id}/day", response_model=ClinicDayOut, summary="A clinic's day")
async def clinic_day(
    clinic_id: uuid.UUID, day: BookingDay, session: DbSession, staff: StaffMember
) -> ClinicDayOut:
    book = await service.clinic_book(session, staff, clinic_id, day, day)
    return ClinicDayOut(clinic_id=book.clinic.id, day=day, appointments=desk_appointments(book))


@staff_router.get(
    "/clinics/{clinic_id}/appointments",
    response_model=ClinicPeriodOut,
    summary="A clinic's appointments over local days (at most 14), for the week view",
)
async def clinic_appointments(
    clinic_id: uuid.UUID,
    from_day: FromDay,
    to_day: ToDay,
    session: DbSession,
    staff: StaffMember,
) -> ClinicPeriodOut:
    book = await service.clinic_book(session, staff, clinic_id, from_day, to_day)
    return ClinicPeriodOut(
        clinic_id=book.clinic.id,
        from_day=from_day,
        to_day=to_day,
        appointments=desk_appointments(book),
    )


@staff_router.get(
    "/patients/{patient_id}/appointments",
    response_model=PatientVisitsOut,
    summary="A patient's appointments at the clinics where you may see patients (audited)",
)
async def patient_visits(
    patient_id: uuid.UUID,
    session: DbSession,
    staff: StaffMember,
    audit: Audit,
    when: Annotated[
        AppointmentsWhen, Query(description="upcoming: not over yet; past: over.")
    ] = AppointmentsWhen.UPCOMING,
) -> PatientVisitsOut:
    visits = await service.patient_visits(
        session, staff, patient_id, audit, upcoming=when is AppointmentsWhen.UPCOMING
    )
    patients = {visits.patient.id: visits.patient}
    return PatientVisitsOut(
        patient=PatientSummaryOut.from_row(visits.patient, known_here=visits.known_here),
        appointments=[
            DeskAppointmentOut.from_desk_row(
                row,
                service.current_status(row, visits.now),
                ZoneInfo(row.clinic.timezone),
                patients,
            )
            for row in visits.appointments
        ],
    )


@staff_router.post(
    "/walk-ins",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    summary="Book a walk-in",
)
async def walk_in(
    body: WalkInIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    staff: StaffMember,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> AppointmentOut:
        target = await service.resolve_target(
            session, body.clinic_id, body.practitioner_id, body.service_id
        )
        patient = body.patient.to_contact() if body.patient is not None else body.patient_id
        assert patient is not None  # WalkInIn has one or the other
        row = await service.walk_in(session, staff, target, patient, body.start)
        return await shown_now(session, row)

    key = Actor(staff=staff).key
    return await idempotent(session, request, idempotency_key, key, body, 201, produce, settings)


@staff_router.post(
    "/blocks",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    summary="Block time",
)
async def block_time(
    body: BlockIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    staff: StaffMember,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce() -> AppointmentOut:
        row = await service.block_time(
            session, staff, body.clinic_id, body.practitioner_id, body.start, body.end, body.reason
        )
        return await shown_now(session, row)

    key = Actor(staff=staff).key
    return await idempotent(session, request, idempotency_key, key, body, 201, produce, settings)


@staff_router.delete("/blocks/{block_id}", response_model=AppointmentOut, summary="Remove a block")
async def remove_block(
    block_id: uuid.UUID, session: DbSession, staff: StaffMember
) -> AppointmentOut:
    return await shown_now(session, await service.remove_block(session, staff, block_id))


@staff_router.post(
    "/appointments/{appointment_id}/check-in", response_model=AppointmentOut, summary="Check in"
)
async def check_in(
    appointment_id: uuid.UUID, session: DbSession, staff: StaffMember
) -> AppointmentOut:
    return await shown_now(session, await service.check_in(session, staff, appointment_id))


@staff_router.post(
    "/appointments/{appointment_id}/complete", response_model=AppointmentOut, summary="Complete"
)
async def complete(
    appointment_id: uuid.UUID, session: DbSession, staff: StaffMember
) -> AppointmentOut:
    return await shown_now(session, await service.complete(session, staff, appointment_id))


@staff_router.post(
    "/appointments/{appointment_id}/reschedule",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentOut,
    summary="Move an appointment (staff: no online-change window)",
)
async def staff_reschedule(
    appointment_id: uuid.UUID,
    body: RescheduleIn,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    staff: StaffMember,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = Actor(staff=staff)
    return await reschedule(
        session, request, settings, appointment_id, body, actor, idempotency_key
    )
