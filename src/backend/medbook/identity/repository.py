"""The identity domain's SQL for Singpass login attempts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# An attempt is good for this long: time to sign in on the phone app, not for a code kept aside.
LOGIN_ATTEMPT_MINUTES = 10

_CREATE = text(
    """
    INSERT INTO singpass_logins (state, nonce, code_verifier, dpop_key, browser_binding, return_to)
    VALUES (:state, :nonce, :code_verifier, CAST(:dpop_key AS jsonb), :browser_binding, :return_to)
    """
)

# Use it up in the same statement that finds it: two callbacks with one state cannot both win.
_CONSUME = text(
    """
    UPDATE singpass_logins SET used_at = now()
    WHERE state = :state AND used_at IS NULL
      AND created_at > now() - make_interval(mins => :minutes)
    RETURNING nonce, code_verifier, dpop_key, browser_binding, return_to
    """
)
_WHY_NOT = text("SELECT used_at IS NOT NULL AS used FROM singpass_logins WHERE state = :state")


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    nonce: str
    code_verifier: str
    dpop_key: dict[str, Any] | None
    browser_binding: bytes
    return_to: str


def hash_binding(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def create_attempt(
    session: AsyncSession,
    *,
    state: str,
    nonce: str,
    code_verifier: str,
    dpop_key: str | None,
    browser_binding: str,
    return_to: str,
) -> None:
    await session.execute(
        _CREATE,
        {
            "state": state,
            "nonce": nonce,
            "code_verifier": code_verifier,
            "dpop_key": dpop_key,
            "browser_binding": hash_binding(browser_binding),
            "return_to": return_to,
        },
    )


async def consume_attempt(
    session: AsyncSession, state: str
) -> LoginAttempt | Literal["used", "unknown"]:
    """The attempt for this state, now used up; or why there is none."""
    parameters = {"state": state, "minutes": LOGIN_ATTEMPT_MINUTES}
    row = (await session.execute(_CONSUME, parameters)).one_or_none()
    if row is not None:
        return LoginAttempt(
            row.nonce, row.code_verifier, row.dpop_key, row.browser_binding, row.return_to
        )
    used = (await session.execute(_WHY_NOT, {"state": state})).scalar_one_or_none()
    return "used" if used else "unknown"
