"""Who is calling: the session behind the cookie, checked for CSRF, turned into an Actor.

Every route states what it needs: `PatientActor`, `StaffMember` (second factor done), or
`BookingActor` (either). Permissions per clinic are checked by the services, which know the
clinic of the thing being touched.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie

from medbook.audit.service import AuditContext
from medbook.data_key import DataKey
from medbook.deps import DbSession
from medbook.identity.rate_limits import client_address
from medbook.identity.sessions import CSRF_HEADER, SESSION_COOKIE, SessionView, resolve_session
from medbook.identity.singpass import SingpassClient
from medbook.kernel.errors import ForbiddenError, UnauthorizedError
from medbook.kernel.permissions import Actor, StaffPrincipal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="Session",
    description="The session cookie set at sign-in. State-changing requests also need the "
    f"session's CSRF token in the {CSRF_HEADER} header (GET /api/v1/session gives it).",
)


async def current_session(
    request: Request,
    session: DbSession,
    token: Annotated[str | None, Depends(session_cookie)],
) -> SessionView | None:
    if not token:
        return None
    view = await resolve_session(session, token)
    if view is None:
        return None
    if request.method not in SAFE_METHODS:
        # SameSite=Lax keeps most cross-site posts away; the token keeps out the rest (and
        # any sibling-subdomain tricks), for every state-changing cookie-authenticated call.
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), view.csrf_token.encode()):
            raise ForbiddenError(
                f"This request needs the session's CSRF token in the {CSRF_HEADER} header.",
                code="csrf_failed",
            )
    return view


OptionalSession = Annotated[SessionView | None, Depends(current_session)]


async def require_session(view: OptionalSession) -> SessionView:
    if view is None:
        raise UnauthorizedError("Please sign in first.", code="not_signed_in")
    return view


async def require_patient(view: Annotated[SessionView, Depends(require_session)]) -> Actor:
    if view.patient_id is None:
        raise ForbiddenError("This is for patients signed in with Singpass.", code="patients_only")
    return Actor(patient_id=view.patient_id)


async def require_staff(view: Annotated[SessionView, Depends(require_session)]) -> StaffPrincipal:
    if view.staff is None:
        if view.staff_id is not None:
            raise UnauthorizedError(
                "Finish signing in with your second factor first.", code="second_factor_required"
            )
        raise ForbiddenError("This is for clinic staff.", code="staff_only")
    return view.staff


async def require_booking_actor(
    view: Annotated[SessionView, Depends(require_session)],
) -> Actor:
    if view.patient_id is not None:
        return Actor(patient_id=view.patient_id)
    return Actor(staff=await require_staff(view))


async def data_key(request: Request) -> DataKey:
    key: DataKey = request.app.state.data_key
    return key


AppDataKey = Annotated[DataKey, Depends(data_key)]


def singpass_client(request: Request) -> SingpassClient:
    client: SingpassClient = request.app.state.singpass
    return client


async def audit_context(request: Request, key: AppDataKey, view: OptionalSession) -> AuditContext:
    """The caller for the audit trail: their id, and a keyed hash of their address."""
    client_hash = key.blind_index(client_address(request), purpose="client-address")
    if view is None:
        return AuditContext(client_hash=client_hash)
    actor_id = view.patient_id or view.staff_id
    return AuditContext(actor_kind=view.kind, actor_id=actor_id, client_hash=client_hash)


CurrentSession = Annotated[SessionView, Depends(require_session)]
PatientActor = Annotated[Actor, Depends(require_patient)]
StaffMember = Annotated[StaffPrincipal, Depends(require_staff)]
BookingActor = Annotated[Actor, Depends(require_booking_actor)]
Audit = Annotated[AuditContext, Depends(audit_context)]
