"""Sign-in with Singpass, the current session, and signing out (patients and staff alike)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from medbook.deps import AppSettings, DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity import service
from medbook.identity.cookies import (
    LOGIN_COOKIE,
    clear_host_cookie,
    clear_session_cookie,
    set_host_cookie,
    set_session_cookie,
)
from medbook.identity.dependencies import AppDataKey, Audit, CurrentSession, OptionalSession
from medbook.identity.rate_limits import AppRateLimits, client_address
from medbook.identity.repository import LOGIN_ATTEMPT_MINUTES
from medbook.identity.schemas import SessionOut
from medbook.identity.sessions import (
    absolute_lifetime_seconds,
    revoke_all_sessions,
    revoke_session,
)
from medbook.identity.singpass import SingpassClient
from medbook.patients import service as patients_service
from medbook.patients.schemas import PatientOut
from medbook.schemas import SINGLE_LINE_PATTERN

router = APIRouter(prefix="/api/v1", tags=["sign-in"], responses=PROBLEM_RESPONSES)


def singpass_client(request: Request) -> SingpassClient:
    client: SingpassClient = request.app.state.singpass
    return client


@router.get(
    "/auth/singpass/login",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    summary="Start signing in with Singpass (redirects to Singpass)",
)
async def singpass_login(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    limits: AppRateLimits,
    return_to: Annotated[
        str | None,
        Query(
            max_length=500,
            pattern=SINGLE_LINE_PATTERN,
            description="A path on this site to come back to afterwards.",
        ),
    ] = None,
) -> RedirectResponse:
    await limits.hit(
        settings.sign_in_rate_limit, "singpass", client_address(request), what="sign-in attempts"
    )
    started = await service.start_singpass_login(session, singpass_client(request), return_to)
    response = RedirectResponse(started.authorize_url, status_code=status.HTTP_303_SEE_OTHER)
    set_host_cookie(response, LOGIN_COOKIE, started.browser_binding, LOGIN_ATTEMPT_MINUTES * 60)
    return response


@router.get(
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


@router.get("/session", response_model=SessionOut, summary="Who is signed in, and the CSRF token")
async def current_session(current: CurrentSession, session: DbSession) -> SessionOut:
    patient = None
    if current.patient_id is not None:
        row = await patients_service.get_patient(session, current.patient_id)
        patient = PatientOut.from_row(row)
    return SessionOut.of(current, patient)


@router.post(
    "/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out this browser"
)
async def sign_out(current: CurrentSession, session: DbSession) -> Response:
    await revoke_session(session, current.id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response)
    return response


@router.post(
    "/auth/sign-out-everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out every browser and device of this patient or staff member",
)
async def sign_out_everywhere(
    current: CurrentSession, session: DbSession, audit: Audit
) -> Response:
    subject_id = current.patient_id or current.staff_id
    assert subject_id is not None
    ended = await revoke_all_sessions(session, kind=current.kind, subject_id=subject_id)
    await service.record_sign_out_everywhere(session, audit, current.kind, subject_id, ended)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response)
    return response
