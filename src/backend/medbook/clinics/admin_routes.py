"""Clinic administration over HTTP: practitioners, services and prices, weekly availability,
time off and closures. Thin: the rules, and who may, are in clinics.admin_service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from medbook.clinics import admin_service as service
from medbook.clinics.admin_schemas import (
    AdminDay,
    AdminTime,
    AvailabilityLineChangeOut,
    AvailabilityLineIn,
    AvailabilityLineOut,
    AvailabilityLinePatch,
    ClosureIn,
    ClosureOut,
    ClosuresChangeOut,
    ConflictsOut,
    PractitionerAdminOut,
    PractitionerChangeOut,
    PractitionerIn,
    PractitionerPatch,
    ServiceAdminOut,
    ServiceIn,
    ServicePatch,
    TimeOffChangeOut,
    TimeOffIn,
    TimeOffOut,
    conflicts_out,
)
from medbook.clinics.values import BookedVisits, PractitionerChanges
from medbook.deps import DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity.dependencies import Audit, StaffMember

router = APIRouter(
    prefix="/api/v1/admin", tags=["clinic administration"], responses=PROBLEM_RESPONSES
)

# Row ids of availability lines, time off and closures: PostgreSQL integers.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def booked_visits(request: Request) -> BookedVisits:
    """Booking's answer to "which confirmed visits are booked?", wired in app.py."""
    visits: BookedVisits = request.app.state.booked_visits
    return visits


Visits = Annotated[BookedVisits, Depends(booked_visits)]


# --- practitioners ------------------------------------------------------------------------------


@router.get(
    "/practitioners",
    response_model=list[PractitionerAdminOut],
    summary="Practitioners you manage, inactive ones too",
)
async def list_practitioners(
    session: DbSession,
    staff: StaffMember,
    clinic_id: Annotated[
        uuid.UUID | None, Query(description="Only those working at this clinic.")
    ] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones.")] = None,
) -> list[PractitionerAdminOut]:
    views = await service.list_practitioners(session, staff, clinic_id, active)
    return [PractitionerAdminOut.from_view(view) for view in views]


@router.post(
    "/practitioners",
    response_model=PractitionerAdminOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a practitioner (then give them availability lines)",
)
async def create_practitioner(
    body: PractitionerIn, session: DbSession, staff: StaffMember, context: Audit
) -> PractitionerAdminOut:
    view = await service.create_practitioner(
        session,
        staff,
        clinic_id=body.clinic_id,
        registration_number=body.registration_number,
        title=body.title,
        full_name=body.full_name,
        profession=body.profession,
        active=body.active,
        service_ids=body.service_ids,
        context=context,
    )
    return PractitionerAdminOut.from_view(view)


@router.get(
    "/practitioners/{practitioner_id}",
    response_model=PractitionerAdminOut,
    summary="One practitioner",
)
async def get_practitioner(
    practitioner_id: uuid.UUID, session: DbSession, staff: StaffMember
) -> PractitionerAdminOut:
    return PractitionerAdminOut.from_view(
        await service.get_practitioner(session, staff, practitioner_id)
    )


@router.patch(
    "/practitioners/{practitioner_id}",
    response_model=PractitionerChangeOut,
    summary="Change a practitioner's details, services or active flag",
)
async def update_practitioner(
    practitioner_id: uuid.UUID,
    body: PractitionerPatch,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
    visits: Visits,
) -> PractitionerChangeOut:
    changed = await service.update_practitioner(
        session, staff, practitioner_id, body.to_changes(), visits=visits, context=context
    )
    return PractitionerChangeOut.from_change(changed)


@router.post(
    "/practitioners/{practitioner_id}/deactivate",
    response_model=PractitionerChangeOut,
    summary="Stop offering a practitioner for booking (their appointments stay)",
)
async def deactivate_practitioner(
    practitioner_id: uuid.UUID,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
    visits: Visits,
) -> PractitionerChangeOut:
    changed = await service.update_practitioner(
        session,
        staff,
        practitioner_id,
        PractitionerChanges(active=False),
        visits=visits,
        context=context,
    )
    return PractitionerChangeOut.from_change(changed)


# --- services -----------------------------------------------------------------------------------


@router.get(
    "/services",
    response_model=list[ServiceAdminOut],
    summary="Every service with its prices, inactive ones too",
)
async def list_services(session: DbSession, staff: StaffMember) -> list[ServiceAdminOut]:
    return [
        ServiceAdminOut.model_validate(row) for row in await service.list_services(session, staff)
    ]


@router.post(
    "/services",
    response_model=ServiceAdminOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a service (administrators of every clinic)",
)
async def create_service(
    body: ServiceIn, session: DbSession, staff: StaffMember, context: Audit
) -> ServiceAdminOut:
    row = await service.create_service(session, staff, body.code, body.terms(), context=context)
    return ServiceAdminOut.model_validate(row)


@router.get("/services/{service_id}", response_model=ServiceAdminOut, summary="One service")
async def get_service(
    service_id: uuid.UUID, session: DbSession, staff: StaffMember
) -> ServiceAdminOut:
    return ServiceAdminOut.model_validate(await service.get_service(session, staff, service_id))


@router.patch(
    "/services/{service_id}",
    response_model=ServiceAdminOut,
    summary="Change a service's terms or prices (administrators of every clinic)",
)
async def update_service(
    service_id: uuid.UUID,
    body: ServicePatch,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
) -> ServiceAdminOut:
    row = await service.update_service(session, staff, service_id, body.changes(), context=context)
    return ServiceAdminOut.model_validate(row)


# --- weekly availability ------------------------------------------------------------------------


@router.get(
    "/clinics/{clinic_id}/availability",
    response_model=list[AvailabilityLineOut],
    summary="A clinic's weekly availability lines",
)
async def list_availability(
    clinic_id: uuid.UUID,
    session: DbSession,
    staff: StaffMember,
    practitioner_id: Annotated[uuid.UUID | None, Query(description="Only this one's.")] = None,
) -> list[AvailabilityLineOut]:
    rows = await service.list_availability(session, staff, clinic_id, practitioner_id)
    return [AvailabilityLineOut.model_validate(row) for row in rows]


@router.post(
    "/clinics/{clinic_id}/availability",
    response_model=AvailabilityLineChangeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a weekly availability line for a practitioner at this clinic",
)
async def create_availability(
    clinic_id: uuid.UUID,
    body: AvailabilityLineIn,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
) -> AvailabilityLineChangeOut:
    changed = await service.create_availability(
        session, staff, body.to_line(clinic_id), context=context
    )
    return AvailabilityLineChangeOut.from_change(changed)


@router.patch(
    "/availability/{availability_id}",
    response_model=AvailabilityLineChangeOut,
    summary="Change a line's room, weekday, hours or validity (appointments stay)",
)
async def update_availability(
    availability_id: RowId,
    body: AvailabilityLinePatch,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
    visits: Visits,
) -> AvailabilityLineChangeOut:
    changed = await service.update_availability(
        session, staff, availability_id, body.changes(), visits=visits, context=context
    )
    return AvailabilityLineChangeOut.from_change(changed)


@router.delete(
    "/availability/{availability_id}",
    response_model=ConflictsOut,
    summary="Remove a weekly availability line (appointments stay)",
)
async def delete_availability(
    availability_id: RowId, session: DbSession, staff: StaffMember, context: Audit, visits: Visits
) -> ConflictsOut:
    return ConflictsOut.of(
        await service.delete_availability(
            session, staff, availability_id, visits=visits, context=context
        )
    )


# --- time off -----------------------------------------------------------------------------------


@router.get(
    "/practitioners/{practitioner_id}/time-off",
    response_model=list[TimeOffOut],
    summary="A practitioner's time off",
)
async def list_time_off(
    practitioner_id: uuid.UUID,
    session: DbSession,
    staff: StaffMember,
    ending_after: Annotated[
        AdminTime | None, Query(description="Only periods ending after this instant.")
    ] = None,
) -> list[TimeOffOut]:
    rows = await service.list_time_off(session, staff, practitioner_id, ending_after)
    return [TimeOffOut.from_row(row) for row in rows]


@router.post(
    "/practitioners/{practitioner_id}/time-off",
    response_model=TimeOffChangeOut,
    status_code=status.HTTP_201_CREATED,
    summary="The practitioner is away, at every clinic (appointments stay)",
)
async def create_time_off(
    practitioner_id: uuid.UUID,
    body: TimeOffIn,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
    visits: Visits,
) -> TimeOffChangeOut:
    changed = await service.create_time_off(
        session,
        staff,
        practitioner_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        visits=visits,
        context=context,
    )
    return TimeOffChangeOut(
        time_off=TimeOffOut.from_row(changed.value), conflicts=conflicts_out(changed.conflicts)
    )


@router.delete("/time-off/{time_off_id}", response_model=ConflictsOut, summary="Remove time off")
async def delete_time_off(
    time_off_id: RowId, session: DbSession, staff: StaffMember, context: Audit
) -> ConflictsOut:
    return ConflictsOut.of(
        await service.delete_time_off(session, staff, time_off_id, context=context)
    )


# --- closures -----------------------------------------------------------------------------------


@router.get(
    "/clinics/{clinic_id}/closures",
    response_model=list[ClosureOut],
    summary="The clinic's closed days, public holidays included",
)
async def list_closures(
    clinic_id: uuid.UUID,
    session: DbSession,
    staff: StaffMember,
    from_day: Annotated[AdminDay | None, Query(alias="from", description="First day.")] = None,
    to_day: Annotated[AdminDay | None, Query(alias="to", description="Last day.")] = None,
) -> list[ClosureOut]:
    rows = await service.list_closures(session, staff, clinic_id, from_day, to_day)
    return [ClosureOut.model_validate(row) for row in rows]


@router.post(
    "/clinics/{clinic_id}/closures",
    response_model=ClosuresChangeOut,
    status_code=status.HTTP_201_CREATED,
    summary="Close the clinic on a day or a period (appointments stay)",
)
async def create_closure(
    clinic_id: uuid.UUID,
    body: ClosureIn,
    session: DbSession,
    staff: StaffMember,
    context: Audit,
    visits: Visits,
) -> ClosuresChangeOut:
    changed = await service.create_closure(
        session,
        staff,
        clinic_id,
        first_day=body.first_day,
        last_day=body.last_day or body.first_day,
        reason=body.reason,
        visits=visits,
        context=context,
    )
    return ClosuresChangeOut(
        closures=[ClosureOut.model_validate(row) for row in changed.value],
        conflicts=conflicts_out(changed.conflicts),
    )


@router.delete(
    "/closures/{closure_id}", response_model=ConflictsOut, summary="Open a closed day again"
)
async def delete_closure(
    closure_id: RowId, session: DbSession, staff: StaffMember, context: Audit
) -> ConflictsOut:
    return ConflictsOut.of(
        await service.delete_closure(session, staff, closure_id, context=context)
    )
