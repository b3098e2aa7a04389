"""Who is calling. Until staff sign-in lands, the staff API is guarded by one bearer token.

Patients are recognised by the secret token handed out with their hold; holders (for the
live-hold cap) by the client id they send, or their address.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medbook.booking.service import Actor
from medbook.deps import AppSettings
from medbook.errors import ForbiddenError, UnauthorizedError

bearer = HTTPBearer(auto_error=False, scheme_name="StaffToken", description="Staff API token.")


async def require_staff(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: AppSettings,
) -> Actor:
    expected = settings.staff_api_token
    if expected is None:
        raise ForbiddenError(
            "The staff API is switched off: set MEDBOOK_STAFF_API_TOKEN to use it.",
            code="staff_api_disabled",
        )
    if credentials is None:
        raise UnauthorizedError("Staff actions need the staff token (Authorization: Bearer ...).")
    if not hmac.compare_digest(
        credentials.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise UnauthorizedError("That staff token is not valid.", code="invalid_token")
    return Actor.staff()


async def hold_holder(
    x_hold_token: Annotated[
        str | None, Header(description="The hold_token handed out with the hold.", max_length=200)
    ] = None,
) -> Actor:
    return Actor.holder(x_hold_token)


async def client_key(
    request: Request,
    x_client_id: Annotated[
        str | None,
        Header(
            description="A stable id the client app generates, to count its live holds.",
            max_length=100,
        ),
    ] = None,
) -> str:
    """A pseudonymous key for the caller: a hash, so no address is stored."""
    raw = x_client_id or (request.client.host if request.client else "unknown")
    return hashlib.sha256(raw.encode()).hexdigest()


StaffActor = Annotated[Actor, Depends(require_staff)]
HolderActor = Annotated[Actor, Depends(hold_holder)]
ClientKey = Annotated[str, Depends(client_key)]
