"""Clinics, services and practitioners: the public catalogue patients choose from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from medbook.clinics import repository
from medbook.clinics.errors import ClinicNotFoundError
from medbook.clinics.schemas import ClinicOut, PractitionerOut, ServiceOut
from medbook.deps import DbSession
from medbook.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["clinics"], responses=PROBLEM_RESPONSES)


@router.get("/clinics", response_model=list[ClinicOut], summary="The clinics, with hours and rooms")
async def list_clinics(session: DbSession) -> list[ClinicOut]:
    return [
        ClinicOut.model_validate(clinic)
        for clinic in await repository.list_clinics(session, with_details=True)
    ]


@router.get("/clinics/{clinic_id}", response_model=ClinicOut, summary="One clinic")
async def get_clinic(clinic_id: uuid.UUID, session: DbSession) -> ClinicOut:
    clinic = await repository.get_clinic(session, clinic_id, with_details=True)
    if clinic is None:
        raise ClinicNotFoundError(f"There is no clinic {clinic_id}.")
    return ClinicOut.model_validate(clinic)


@router.get("/services", response_model=list[ServiceOut], summary="Bookable services and prices")
async def list_services(session: DbSession) -> list[ServiceOut]:
    return [
        ServiceOut.model_validate(service) for service in await repository.list_services(session)
    ]


@router.get("/practitioners", response_model=list[PractitionerOut], summary="Practitioners")
async def list_practitioners(
    session: DbSession,
    clinic_id: Annotated[
        uuid.UUID | None, Query(description="Only those working at this clinic.")
    ] = None,
    service_id: Annotated[
        uuid.UUID | None, Query(description="Only those offering this service.")
    ] = None,
) -> list[PractitionerOut]:
    practitioners = await repository.list_practitioners(session, clinic_id, service_id)
    return [
        PractitionerOut(
            id=p.id,
            registration_number=p.registration_number,
            title=p.title,
            full_name=p.full_name,
            profession=p.profession,
            service_ids=[service.id for service in p.services],
        )
        for p in practitioners
    ]
