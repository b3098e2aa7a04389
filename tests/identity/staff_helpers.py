"""Staff accounts and browsers for the sign-in and administration tests.

Accounts are made through the service (as the admin API or `medbook create-admin` would);
everything a staff member does is then done over HTTP, with the client's cookie jar as the
browser's.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.service import AuditContext
from medbook.identity import passwords, staff
from medbook.identity.sessions import CSRF_HEADER, SESSION_COOKIE
from medbook.kernel.permissions import Grant, Role
from tests.auth import AppClient

PASSWORD = "violet kettle on the harbour"
SIGN_IN = "/api/v1/staff/auth/sign-in"
SECOND_FACTOR = "/api/v1/staff/auth/second-factor"
ENROLMENT = "/api/v1/staff/auth/enrolment"
CONFIRM = "/api/v1/staff/auth/enrolment/confirm"
PASSWORD_CHANGE = "/api/v1/staff/auth/password"
RECOVERY_CODES = "/api/v1/staff/auth/recovery-codes"
ADMIN = "/api/v1/admin/staff"

# The production parameters cost about 0.1 s a hash; the tests are about the rules around it.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)


def use_fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", FAST_HASHER)


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    email: str
    full_name: str
    password: str = PASSWORD


async def make_member(
    db: AsyncSession,
    *grants: tuple[Role, uuid.UUID | None],
    email: str | None = None,
    full_name: str = "Lim Wei Jie",
    password: str = PASSWORD,
) -> Member:
    """A committed account with these grants and no second factor yet."""
    email = email or f"staff-{uuid.uuid4().hex[:8]}@medical.example"
    staff_id = await staff.create_staff_member(
        db,
        email=email,
        full_name=full_name,
        password=password,
        grants=[Grant(role, clinic_id) for role, clinic_id in grants],
        granted_by=None,
        context=AuditContext(actor_kind="system"),
    )
    await db.commit()
    return Member(staff_id, email, full_name, password)


def code(secret: str, steps_ahead: int = 0) -> str:
    """The authenticator app's code, now or a 30 s step later (still inside the window)."""
    return pyotp.TOTP(secret).at(int(time.time()) + 30 * steps_ahead)


def wrong_code(secret: str) -> str:
    """A code that matches none of the steps the server accepts right now."""
    good = {code(secret, steps) for steps in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


def csrf(token: str) -> dict[str, str]:
    return {CSRF_HEADER: token}


def session_token(http: httpx.AsyncClient) -> str | None:
    return http.cookies.get(SESSION_COOKIE)


def with_cookie(token: str, csrf_token: str | None = None) -> dict[str, str]:
    """Headers of a browser holding this session cookie (and sending this CSRF token)."""
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"}
    if csrf_token is not None:
        headers[CSRF_HEADER] = csrf_token
    return headers


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post(SIGN_IN, json={"email": email, "password": password})


@dataclass(frozen=True)
class Enrolled:
    secret: str
    recovery_codes: list[str]
    csrf_token: str  # of the full session the enrolment ended in
    enrolment: dict[str, Any]


async def enrol(http: httpx.AsyncClient, member: Member) -> Enrolled:
    """Sign in for the first time and enrol an authenticator, as the person would."""
    signed = await sign_in(http, member.email, member.password)
    assert signed.status_code == 200, signed.text
    assert signed.json()["next"] == "enrol"
    started = await http.post(ENROLMENT, headers=csrf(signed.json()["csrf_token"]))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await http.post(
        CONFIRM, json={"code": code(secret)}, headers=csrf(signed.json()["csrf_token"])
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    return Enrolled(secret, body["recovery_codes"], body["csrf_token"], started.json())


async def sign_in_with_code(
    http: httpx.AsyncClient, member: Member, totp_code: str
) -> httpx.Response:
    """Both steps: the password, then this code. Answers the second step's response."""
    signed = await sign_in(http, member.email, member.password)
    assert signed.status_code == 200, signed.text
    assert signed.json()["next"] == "second_factor"
    return await http.post(
        SECOND_FACTOR, json={"code": totp_code}, headers=csrf(signed.json()["csrf_token"])
    )


@dataclass(frozen=True)
class AuditRow:
    action: str
    actor_kind: str | None
    actor_id: uuid.UUID | None
    subject_id: uuid.UUID | None
    clinic_id: uuid.UUID | None
    detail: dict[str, Any]


async def audit_rows(db: AsyncSession, prefix: str = "staff.") -> list[AuditRow]:
    result = await db.execute(
        text(
            "SELECT action, actor_kind, actor_id, subject_id, clinic_id, detail "
            "FROM audit_events WHERE action LIKE :prefix ORDER BY id"
        ),
        {"prefix": prefix + "%"},
    )
    rows = [AuditRow(*row) for row in result.all()]
    await db.rollback()  # read only: leave no transaction open under the app's
    return rows


def actions(rows: list[AuditRow]) -> list[str]:
    return [row.action for row in rows]


def everything_recorded(rows: list[AuditRow]) -> str:
    return json.dumps([row.detail for row in rows])


@dataclass(frozen=True)
class ThrottleRow:
    every_address: bool  # the count of wrong codes from every address
    failures: int
    delaying: bool


async def throttles_of(db: AsyncSession, staff_id: uuid.UUID) -> list[ThrottleRow]:
    """The account's sign-in throttles, those per address first."""
    result = await db.execute(
        text(
            "SELECT client_key IS NULL, failures, coalesce(blocked_until > now(), false) "
            "FROM staff_sign_in_throttles WHERE staff_id = :id "
            "ORDER BY client_key IS NULL, failures DESC"
        ),
        {"id": staff_id},
    )
    rows = [ThrottleRow(*row) for row in result.all()]
    await db.rollback()
    return rows


async def failures_counted(db: AsyncSession, staff_id: uuid.UUID) -> int:
    """Failures counted against the account from any one address (the most from one)."""
    return max(
        (row.failures for row in await throttles_of(db, staff_id) if not row.every_address),
        default=0,
    )


async def end_delays(db: AsyncSession) -> None:
    """Time passes: every running sign-in delay ended a second ago (by the database clock)."""
    await db.execute(
        text(
            "UPDATE staff_sign_in_throttles SET blocked_until = now() - interval '1 second' "
            "WHERE blocked_until > now()"
        )
    )
    await db.commit()


def client_at(http: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
    """Another browser on the same in-process app, connecting from this client address (what
    the server sees as the peer's address: the throttle and the rate limits key on it)."""
    assert isinstance(http, AppClient)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=http.app, client=(address, 50000)),
        base_url=str(http.base_url),
    )
