"""Staff sign-in (password, then a second factor) and staff administration over HTTP. Thin: the
rules are in identity.staff."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response, status

from medbook.audit.service import AuditContext
from medbook.deps import AppSettings, DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity import staff
from medbook.identity import staff_repository as repository
from medbook.identity.cookies import set_session_cookie
from medbook.identity.dependencies import (
    AppDataKey,
    Audit,
    CurrentSession,
    StaffMember,
    audit_context,
)
from medbook.identity.rate_limits import AppRateLimits, RateLimits, client_address
from medbook.identity.schemas import (
    CodeIn,
    EnrolmentConfirmedOut,
    EnrolmentOut,
    PasswordChangeIn,
    RecoveryCodesOut,
    RoleGrantIn,
    SecondFactorIn,
    SignedInOut,
    SignInIn,
    SignInOut,
    StaffCreateIn,
    StaffOut,
)
from medbook.identity.sessions import SESSION_COOKIE
from medbook.settings import Settings

sign_in_router = APIRouter(prefix="/api/v1/staff/auth", tags=["staff sign-in"])
admin_router = APIRouter(prefix="/api/v1/admin/staff", tags=["administration"])

# Answers that carry a secret shown once must not sit in any cache.
NO_STORE = {"Cache-Control": "no-store"}


async def _count_attempt(
    limits: RateLimits, settings: Settings, request: Request, *, passwords: bool
) -> None:
    """Per client address: passwords and codes are counted apart, by the sign-in rule."""
    bucket, what = (
        ("staff-password", "password attempts") if passwords else ("staff-code", "code attempts")
    )
    await limits.hit(settings.sign_in_rate_limit, bucket, client_address(request), what=what)


def _signed_in(response: Response, signed_in: staff.SignedIn) -> SignedInOut:
    set_session_cookie(response, signed_in.session, signed_in.lifetime_seconds)
    response.headers.update(NO_STORE)
    return SignedInOut(
        staff_id=signed_in.staff_id,
        csrf_token=signed_in.session.csrf_token,
        expires_at=signed_in.session.expires_at,
    )


@sign_in_router.post(
    "/sign-in", response_model=SignInOut, summary="Sign in with email and password (step 1 of 2)"
)
async def sign_in(
    body: SignInIn,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limits: AppRateLimits,
    key: AppDataKey,
    previous_token: Annotated[
        str | None, Cookie(alias=SESSION_COOKIE, include_in_schema=False)
    ] = None,
) -> SignInOut:
    await _count_attempt(limits, settings, request, passwords=True)
    # Not the Audit dependency: it checks the CSRF token of any session cookie sent, and a
    # browser signing in again may well carry a stale one.
    context: AuditContext = await audit_context(request, key, None)
    accepted = await staff.sign_in_with_password(
        session, settings, key, email=body.email, password=body.password, context=context
    )
    if previous_token:
        await repository.revoke_session_by_token(session, previous_token)
    set_session_cookie(response, accepted.session, accepted.lifetime_seconds)
    response.headers.update(NO_STORE)
    return SignInOut(
        next=accepted.next,
        csrf_token=accepted.session.csrf_token,
        expires_at=accepted.session.expires_at,
    )


@sign_in_router.post(
    "/second-factor",
    response_model=SignedInOut,
    summary="Finish signing in with a TOTP code or a recovery code (step 2 of 2)",
)
async def second_factor(
    body: SecondFactorIn,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limits: AppRateLimits,
    key: AppDataKey,
    view: CurrentSession,
    context: Audit,
) -> SignedInOut:
    await _count_attempt(limits, settings, request, passwords=False)
    signed_in = await staff.pass_second_factor(
        session,
        settings,
        key,
        view,
        code=body.code,
        recovery_code=body.recovery_code,
        context=context,
    )
    return _signed_in(response, signed_in)


@sign_in_router.post(
    "/enrolment",
    response_model=EnrolmentOut,
    summary="Start enrolling an authenticator app: its secret and QR code",
)
async def start_enrolment(
    response: Response, session: DbSession, key: AppDataKey, view: CurrentSession, context: Audit
) -> EnrolmentOut:
    enrolment = await staff.start_enrolment(session, key, view, context=context)
    response.headers.update(NO_STORE)
    return EnrolmentOut(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@sign_in_router.post(
    "/enrolment/confirm",
    response_model=EnrolmentConfirmedOut,
    summary="Confirm the authenticator with its first code; get the recovery codes",
)
async def confirm_enrolment(
    body: CodeIn,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limits: AppRateLimits,
    key: AppDataKey,
    view: CurrentSession,
    context: Audit,
) -> EnrolmentConfirmedOut:
    await _count_attempt(limits, settings, request, passwords=False)
    signed_in, recovery_codes = await staff.confirm_enrolment(
        session, settings, key, view, code=body.code, context=context
    )
    signed_in_out = _signed_in(response, signed_in)
    return EnrolmentConfirmedOut(**signed_in_out.model_dump(), recovery_codes=recovery_codes)


@sign_in_router.post(
    "/password",
    response_model=SignedInOut,
    summary="Change your password (every other session ends)",
)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limits: AppRateLimits,
    key: AppDataKey,
    principal: StaffMember,
    context: Audit,
) -> SignedInOut:
    await _count_attempt(limits, settings, request, passwords=True)
    signed_in = await staff.change_password(
        session,
        settings,
        key,
        principal.staff_id,
        current_password=body.current_password,
        new_password=body.new_password,
        context=context,
    )
    return _signed_in(response, signed_in)


@sign_in_router.post(
    "/recovery-codes",
    response_model=RecoveryCodesOut,
    summary="Replace your recovery codes (needs a current code from your app)",
)
async def regenerate_recovery_codes(
    body: CodeIn,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limits: AppRateLimits,
    key: AppDataKey,
    principal: StaffMember,
    context: Audit,
) -> RecoveryCodesOut:
    await _count_attempt(limits, settings, request, passwords=False)
    codes = await staff.regenerate_recovery_codes(
        session, settings, key, principal.staff_id, code=body.code, context=context
    )
    response.headers.update(NO_STORE)
    return RecoveryCodesOut(recovery_codes=codes)


@admin_router.get("", response_model=list[StaffOut], summary="Staff accounts you manage")
async def list_staff(session: DbSession, principal: StaffMember) -> list[StaffOut]:
    return [StaffOut.from_view(view) for view in await staff.list_staff(session, principal)]


@admin_router.post(
    "",
    response_model=StaffOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff account with its roles",
)
async def create_staff(
    body: StaffCreateIn, session: DbSession, principal: StaffMember, context: Audit
) -> StaffOut:
    view = await staff.admin_create_staff(
        session,
        principal,
        email=body.email,
        full_name=body.full_name,
        password=body.password,
        grants=[grant.to_grant() for grant in body.roles],
        context=context,
    )
    return StaffOut.from_view(view)


@admin_router.get("/{staff_id}", response_model=StaffOut, summary="One staff account")
async def get_staff(staff_id: uuid.UUID, session: DbSession, principal: StaffMember) -> StaffOut:
    return StaffOut.from_view(await staff.get_staff(session, principal, staff_id))


@admin_router.post(
    "/{staff_id}/roles",
    response_model=StaffOut,
    status_code=status.HTTP_201_CREATED,
    summary="Grant a role at a clinic (or at every clinic)",
)
async def grant_role(
    staff_id: uuid.UUID,
    body: RoleGrantIn,
    session: DbSession,
    principal: StaffMember,
    context: Audit,
) -> StaffOut:
    view = await staff.grant_role(session, principal, staff_id, body.to_grant(), context=context)
    return StaffOut.from_view(view)


@admin_router.delete(
    "/{staff_id}/roles/{grant_id}", response_model=StaffOut, summary="Revoke a role grant"
)
async def revoke_role(
    staff_id: uuid.UUID,
    grant_id: uuid.UUID,
    session: DbSession,
    principal: StaffMember,
    context: Audit,
) -> StaffOut:
    view = await staff.revoke_role(session, principal, staff_id, grant_id, context=context)
    return StaffOut.from_view(view)


@admin_router.post(
    "/{staff_id}/deactivate",
    response_model=StaffOut,
    summary="Deactivate an account (its sessions end at once)",
)
async def deactivate(
    staff_id: uuid.UUID, session: DbSession, principal: StaffMember, context: Audit
) -> StaffOut:
    view = await staff.set_active(session, principal, staff_id, active=False, context=context)
    return StaffOut.from_view(view)


@admin_router.post(
    "/{staff_id}/reactivate", response_model=StaffOut, summary="Reactivate an account"
)
async def reactivate(
    staff_id: uuid.UUID, session: DbSession, principal: StaffMember, context: Audit
) -> StaffOut:
    view = await staff.set_active(session, principal, staff_id, active=True, context=context)
    return StaffOut.from_view(view)


@admin_router.post(
    "/{staff_id}/reset-factors",
    response_model=StaffOut,
    summary="Forget the authenticator and recovery codes; the member enrols again",
)
async def reset_factors(
    staff_id: uuid.UUID, session: DbSession, principal: StaffMember, context: Audit
) -> StaffOut:
    return StaffOut.from_view(
        await staff.reset_factors(session, principal, staff_id, context=context)
    )


@admin_router.post(
    "/{staff_id}/unlock",
    response_model=StaffOut,
    summary="Lift the sign-in delays on an account, from every address",
    description="Failed passwords and codes delay further attempts from the address they came "
    "from (and wrong codes, the account's code step from everywhere). This ends every such "
    "delay at once, once the member has been reached. Someone else's account only, within the "
    "clinics you manage staff at; recorded in the audit trail.",
)
async def unlock(
    staff_id: uuid.UUID,
    session: DbSession,
    key: AppDataKey,
    principal: StaffMember,
    context: Audit,
) -> StaffOut:
    view = await staff.lift_throttles(session, principal, key, staff_id, context=context)
    return StaffOut.from_view(view)


router = APIRouter(responses=PROBLEM_RESPONSES)
router.include_router(sign_in_router)
router.include_router(admin_router)
