"""The signed-in patient's own record, and the desk's patient search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from medbook.deps import DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity.dependencies import AppDataKey, Audit, PatientActor, StaffMember
from medbook.patients import service
from medbook.patients.schemas import ContactIn, PatientMatchOut, PatientOut
from medbook.schemas import SINGLE_LINE_PATTERN

router = APIRouter(prefix="/api/v1/me", tags=["patients"], responses=PROBLEM_RESPONSES)
staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=PatientOut, summary="My record, as the clinic keeps it")
async def my_record(actor: PatientActor, session: DbSession) -> PatientOut:
    assert actor.patient_id is not None
    return PatientOut.from_row(await service.get_patient(session, actor.patient_id))


@router.put("/contact", response_model=PatientOut, summary="Give or correct my contact details")
async def update_my_contact(
    body: ContactIn, actor: PatientActor, session: DbSession, audit: Audit
) -> PatientOut:
    assert actor.patient_id is not None
    await service.update_contact(session, actor.patient_id, body.to_contact(), audit)
    return PatientOut.from_row(await service.get_patient(session, actor.patient_id))


SearchQuery = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=100, pattern=SINGLE_LINE_PATTERN
    ),
    Query(
        description="Your clinics' patients: a part of the name, the phone number (any "
        "formatting, e.g. 9123 4567), the end of the NRIC as shown masked (373D or S****373D), "
        "or a whole NRIC. Patients of other clinics only by their whole NRIC/FIN or whole phone "
        "number.",
    ),
]


@staff_router.get(
    "/patients",
    response_model=list[PatientMatchOut],
    summary="Find patients by name, phone or NRIC (at most 20; every search is audited)",
)
async def search_patients(
    q: SearchQuery, session: DbSession, staff: StaffMember, key: AppDataKey, audit: Audit
) -> list[PatientMatchOut]:
    found = await service.search_patients(session, staff, q, key, audit)
    return [PatientMatchOut.from_match(match) for match in found]
