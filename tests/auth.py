"""Signed-in callers for tests: a patient or a staff member with a live session, made directly
in the database (the sign-in flows themselves are tested in tests/identity/)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity.models import StaffMember, StaffRole
from medbook.identity.sessions import CSRF_HEADER, SESSION_COOKIE, Kind, start_session
from medbook.kernel.permissions import Role
from medbook.patients.models import Patient
from medbook.settings import get_settings


@dataclass(frozen=True)
class SignedIn:
    """Someone with a live session: send `headers` with each request."""

    id: uuid.UUID  # the patient's or the staff member's id
    token: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.token}", CSRF_HEADER: self.csrf_token}

    @property
    def cookie_only(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.token}"}


async def new_session(db: AsyncSession, kind: Kind, subject_id: uuid.UUID) -> SignedIn:
    """Another live session for someone who exists already (another browser or device)."""
    new = await start_session(db, get_settings(), kind=kind, subject_id=subject_id)
    await db.commit()
    return SignedIn(subject_id, new.token, new.csrf_token)


async def sign_in_patient(
    db: AsyncSession,
    *,
    full_name: str | None = "Tan Mei Ling",
    phone: str | None = "+6591234567",
    singpass_uuid: str | None = None,
) -> SignedIn:
    patient = Patient(
        full_name=full_name,
        phone=phone,
        singpass_uuid=singpass_uuid or str(uuid.uuid4()),
    )
    db.add(patient)
    await db.flush()
    return await new_session(db, "patient", patient.id)


async def sign_in_staff(
    db: AsyncSession, *grants: tuple[Role, uuid.UUID | None], email: str | None = None
) -> SignedIn:
    """A staff member past both factors, with the given (role, clinic or None) grants."""
    member = StaffMember(
        email=email or f"staff-{uuid.uuid4().hex[:8]}@medical.example",
        full_name="Test Staff",
        password_hash="not-a-real-hash",
    )
    db.add(member)
    await db.flush()
    for role, clinic_id in grants:
        db.add(StaffRole(staff_id=member.id, role=role.value, clinic_id=clinic_id))
    await db.flush()
    return await new_session(db, "staff", member.id)


class AppClient(httpx.AsyncClient):
    """The in-process app client, able to conjure signed-in patients by name.

    `await client.patient("ann")` answers the same patient each time for one test, so a story
    can have several patients (one per name) without any sign-in ceremony.
    """

    def __init__(self, app: FastAPI, **kwargs: Any) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), **kwargs)
        self.app = app
        self._patients: dict[str, SignedIn] = {}

    async def patient(self, name: str = "patient", **values: Any) -> SignedIn:
        if name not in self._patients:
            async with self.app.state.sessions() as db:
                self._patients[name] = await sign_in_patient(db, **values)
        return self._patients[name]


async def patient_headers(client: httpx.AsyncClient, name: str = "patient") -> dict[str, str]:
    assert isinstance(client, AppClient)
    return (await client.patient(name)).headers
