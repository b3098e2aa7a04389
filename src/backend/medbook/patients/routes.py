"""The signed-in patient's own record, the desk's patient search, and the patient's side of
signing in: Singpass's callback (the person becomes a patient with a session) and the current
session with the patient's record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import RedirectResponse
from pydantic import StringConstraints

from medbook.deps import AppSettings, DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity.cookies import LOGIN_COOKIE, clear_host_cookie, set_session_cookie
from medbook.identity.dependencies import (
    AppDataKey,
    Audit,
    CurrentSession,
    OptionalSession,
    PatientActor,
    StaffMember,
    singpass_client,
)
from medbook.identity.sessions import absolute_lifetime_seconds
from medbook.patients import service
from medbook.patients.schemas import ContactIn, PatientMatchOut, PatientOut, SessionOut
from medbook.patients.values import BookedAt
from medbook.schemas import SINGLE_LINE_PATTERN

router = APIRouter(prefix="/api/v1/me", tags=["patients"], responses=PROBLEM_RESPONSES)
staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=PROBLEM_RESPONSES)
sign_in_router = APIRouter(prefix="/api/v1", tags=["sign-in"], responses=PROBLEM_RESPONSES)


@sign_in_router.get(
    "/auth/singpass/callback",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    summary="Where Singpass sends the browser back; signs the patient in",
)
async def singpass_callback(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    key: AppDataKey,
    audit: Audit,
    current: OptionalSession,
    state: Annotated[str, Query(min_length=1, max_length=256, pattern=SINGLE_LINE_PATTERN)],
    code: Annotated[str, Query(min_length=1, max_length=2048, pattern=SINGLE_LINE_PATTERN)],
    iss: Annotated[
        str | None, Query(max_length=500, description="The provider's name for itself (RFC 9207).")
    ] = None,
) -> RedirectResponse:
    finished = await service.finish_singpass_login(
        session,
        singpass_client(request),
        key,
        settings,
        audit,
        state=state,
        code=code,
        issuer=iss,
        browser_binding=request.cookies.get(LOGIN_COOKIE),
        replaced_session=current.id if current else None,
    )
    response = RedirectResponse(finished.return_to, status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookie(response, finished.session, absolute_lifetime_seconds(settings))
    clear_host_cookie(response, LOGIN_COOKIE)
    return response


@sign_in_router.get(
    "/session", response_model=SessionOut, summary="Who is signed in, and the CSRF token"
)
async def current_session(current: CurrentSession, session: DbSession) -> SessionOut:
    patient = None
    if current.patient_id is not None:
        row = await service.get_patient(session, current.patient_id)
        patient = PatientOut.from_row(row)
    return SessionOut.of(current, patient)


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


async def patients_booked_at(request: Request) -> BookedAt:
    """Booking's condition "a patient of these clinics", wired in app.py."""
    booked_at: BookedAt = request.app.state.patient_booked_at
    return booked_at


PatientsBookedAt = Annotated[BookedAt, Depends(patients_booked_at)]

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
    q: SearchQuery,
    session: DbSession,
    staff: StaffMember,
    key: AppDataKey,
    audit: Audit,
    booked_at: PatientsBookedAt,
) -> list[PatientMatchOut]:
    found = await service.search_patients(session, staff, q, key, audit, booked_at)
    return [PatientMatchOut.from_match(match) for match in found]
