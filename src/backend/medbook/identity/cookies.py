"""The session cookie: `__Host-` prefixed, so it is Secure, host-only and path-wide by rule."""

from __future__ import annotations

from starlette.responses import Response

from medbook.identity.sessions import SESSION_COOKIE, NewSession


def set_session_cookie(response: Response, new: NewSession, max_age_seconds: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=max_age_seconds,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
