"""Our cookies: `__Host-` prefixed, so they are Secure, host-only and path-wide by rule.

SameSite=Lax: the browser still sends them on a top-level redirect back to us (Singpass's).
"""

from __future__ import annotations

from starlette.responses import Response

from medbook.identity.sessions import SESSION_COOKIE, NewSession

LOGIN_COOKIE = "__Host-medbook_singpass"


def set_host_cookie(response: Response, name: str, value: str, max_age_seconds: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age_seconds, path="/", secure=True, httponly=True, samesite="lax"
    )


def clear_host_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")


def set_session_cookie(response: Response, new: NewSession, max_age_seconds: int) -> None:
    set_host_cookie(response, SESSION_COOKIE, new.token, max_age_seconds)


def clear_session_cookie(response: Response) -> None:
    clear_host_cookie(response, SESSION_COOKIE)
