"""Starting a sign-in with Singpass, and signing out (patients and staff alike).

Singpass's callback and GET /session answer with the patient's record, so they are the patients
domain's routes (patients.routes), on the same "sign-in" tag.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from medbook.deps import AppSettings, DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity import service
from medbook.identity.cookies import LOGIN_COOKIE, clear_session_cookie, set_host_cookie
from medbook.identity.dependencies import Audit, CurrentSession, singpass_client
from medbook.identity.rate_limits import AppRateLimits, client_address
from medbook.identity.repository import LOGIN_ATTEMPT_MINUTES
from medbook.identity.sessions import revoke_all_sessions, revoke_session
from medbook.schemas import SINGLE_LINE_PATTERN

router = APIRouter(prefix="/api/v1", tags=["sign-in"], responses=PROBLEM_RESPONSES)


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
