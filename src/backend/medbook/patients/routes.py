"""The signed-in patient's own record."""

from __future__ import annotations

from fastapi import APIRouter

from medbook.deps import DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity.dependencies import Audit, PatientActor
from medbook.patients import service
from medbook.patients.schemas import ContactIn, PatientOut

router = APIRouter(prefix="/api/v1/me", tags=["patients"], responses=PROBLEM_RESPONSES)


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
