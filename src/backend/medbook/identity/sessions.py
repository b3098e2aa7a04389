"""Server-side sessions: a random token in a `__Host-` cookie, its hash in PostgreSQL.

Revoking a row signs that browser out at once; nothing about a session lives in the cookie.
Idle and absolute expiry are checked against the database clock on every request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity.models import UserSession
from medbook.kernel.permissions import Grant, Role, StaffPrincipal
from medbook.settings import Settings

SESSION_COOKIE = "__Host-medbook_session"
CSRF_HEADER = "X-CSRF-Token"
# last_seen_at is written at most this often, so a busy page does not lock its session row on
# every request; idle expiry is therefore exact to within this many seconds.
TOUCH_EVERY_SECONDS = 30

Kind = Literal["patient", "staff"]
Stage = Literal["full", "second_factor", "enrol"]


@dataclass(frozen=True, slots=True)
class NewSession:
    id: uuid.UUID
    token: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionView:
    id: uuid.UUID
    kind: Kind
    stage: Stage
    patient_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    csrf_token: str
    expires_at: datetime
    idle_expires_at: datetime
    staff_grants: tuple[Grant, ...] = ()

    @property
    def staff(self) -> StaffPrincipal | None:
        if self.staff_id is None or self.stage != "full":
            return None
        return StaffPrincipal(self.staff_id, self.staff_grants)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def absolute_lifetime_seconds(settings: Settings) -> int:
    """No session outlives this, however active; its cookie expires with it."""
    return settings.session_absolute_hours * 3600


def idle_seconds(settings: Settings, kind: Kind) -> int:
    minutes = settings.staff_idle_minutes if kind == "staff" else settings.patient_idle_minutes
    return minutes * 60


_START = text(
    """
    INSERT INTO user_sessions
        (token_hash, kind, stage, patient_id, staff_id, csrf_token, idle_seconds, expires_at)
    VALUES (:token_hash, :kind, :stage, :patient_id, :staff_id, :csrf_token, :idle_seconds,
            now() + make_interval(secs => :lifetime_seconds))
    RETURNING id, expires_at
    """
)


async def start_session(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: Kind,
    subject_id: uuid.UUID,
    stage: Stage = "full",
    lifetime_seconds: int | None = None,
) -> NewSession:
    """A fresh session with a fresh token: sign-in never reuses a token an attacker could have
    planted (session fixation)."""
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    row = (
        await session.execute(
            _START,
            {
                "token_hash": hash_token(token),
                "kind": kind,
                "stage": stage,
                "patient_id": subject_id if kind == "patient" else None,
                "staff_id": subject_id if kind == "staff" else None,
                "csrf_token": csrf_token,
                "idle_seconds": idle_seconds(settings, kind),
                "lifetime_seconds": lifetime_seconds or absolute_lifetime_seconds(settings),
            },
        )
    ).one()
    return NewSession(row.id, token, csrf_token, row.expires_at)


# One round trip: find a live session, touch it if it has not been touched lately, and bring
# the staff member's grants along. A deactivated staff account has no live session. (Failed
# sign-ins elsewhere never end one: they are throttled per address, ADR 0008.)
_RESOLVE = text(
    """
    WITH found AS (
        SELECT s.id, s.kind, s.stage, s.patient_id, s.staff_id, s.csrf_token, s.expires_at,
               s.last_seen_at, s.idle_seconds
        FROM user_sessions s
        LEFT JOIN staff_members m ON m.id = s.staff_id
        WHERE s.token_hash = :token_hash
          AND s.revoked_at IS NULL
          AND now() < s.expires_at
          AND now() < s.last_seen_at + make_interval(secs => s.idle_seconds)
          AND (s.staff_id IS NULL OR m.active)
    ), touched AS (
        UPDATE user_sessions SET last_seen_at = now()
        WHERE id = (SELECT id FROM found)
          AND last_seen_at < now() - make_interval(secs => :touch_every)
        RETURNING last_seen_at
    )
    SELECT found.*,
           COALESCE((SELECT last_seen_at FROM touched), found.last_seen_at)
               + make_interval(secs => found.idle_seconds) AS idle_expires_at,
           (SELECT json_agg(json_build_array(r.role, r.clinic_id))
            FROM staff_roles r WHERE r.staff_id = found.staff_id) AS grants
    FROM found
    """
)


# A session is never touched when asked with touch=False: an open WebSocket rechecking its
# session must not keep an idle person signed in.
_NEVER = 10**9


async def resolve_session(
    session: AsyncSession, token: str, *, touch: bool = True
) -> SessionView | None:
    touch_every = TOUCH_EVERY_SECONDS if touch else _NEVER
    parameters = {"token_hash": hash_token(token), "touch_every": touch_every}
    row = (await session.execute(_RESOLVE, parameters)).one_or_none()
    if row is None:
        return None
    grants_json = row.grants if not isinstance(row.grants, str) else json.loads(row.grants)
    grants = tuple(
        Grant(Role(role), uuid.UUID(clinic_id) if clinic_id else None)
        for role, clinic_id in (grants_json or ())
    )
    return SessionView(
        id=row.id,
        kind=row.kind,
        stage=row.stage,
        patient_id=row.patient_id,
        staff_id=row.staff_id,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
        idle_expires_at=row.idle_expires_at,
        staff_grants=grants,
    )


async def revoke_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=text("now()"))
    )


async def revoke_all_sessions(session: AsyncSession, *, kind: Kind, subject_id: uuid.UUID) -> int:
    """Sign out everywhere; answers how many sessions ended."""
    subject = UserSession.patient_id if kind == "patient" else UserSession.staff_id
    result = await session.execute(
        update(UserSession)
        .where(subject == subject_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=text("now()"))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
