"""Patient sign-in with Singpass: start an attempt, verify its callback, open a session.

The protocol lives in singpass.py; here are the rules around it: an attempt is single-use,
short-lived and bound to the browser that started it, and a session is only ever new. Who the
verified person is to the clinics (their patient record) is the patients domain's business:
patients.service.finish_singpass_login joins the two.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit.service import AuditContext, record
from medbook.identity import repository
from medbook.identity.sessions import NewSession, revoke_session, start_session
from medbook.identity.singpass import (
    PendingLogin,
    SingpassClient,
    SingpassError,
    SingpassIdentity,
)
from medbook.kernel.errors import DomainError
from medbook.settings import Settings


class SingpassStateError(DomainError):
    status = 400
    code = "singpass_state_invalid"


@dataclass(frozen=True, slots=True)
class StartedLogin:
    authorize_url: str
    browser_binding: str  # goes into a short-lived cookie; only its hash is stored


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    """Singpass vouched for this person, on a callback to an attempt this browser started."""

    person: SingpassIdentity
    return_to: str


def safe_return_to(value: str | None) -> str:
    """Only a path on our own site: never an open redirect to somewhere else."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


async def start_singpass_login(
    session: AsyncSession, singpass: SingpassClient, return_to: str | None
) -> StartedLogin:
    started = await singpass.start_login()
    pending = started.pending
    binding = secrets.token_urlsafe(32)
    await repository.create_attempt(
        session,
        state=pending.state,
        nonce=pending.nonce,
        code_verifier=pending.code_verifier,
        dpop_key=json.dumps(pending.dpop_key) if pending.dpop_key is not None else None,
        browser_binding=binding,
        return_to=safe_return_to(return_to),
    )
    return StartedLogin(started.authorize_url, binding)


async def verify_singpass_callback(
    session: AsyncSession,
    singpass: SingpassClient,
    audit: AuditContext,
    *,
    state: str,
    code: str,
    issuer: str | None,
    browser_binding: str | None,
) -> VerifiedLogin:
    """Check the callback against its attempt and redeem the code: who Singpass says it is.

    Every refusal after the attempt is found keeps it used up (keep_changes): a state or code
    is good for one try, whatever happens in that try.
    """
    attempt = await repository.consume_attempt(session, state)
    if attempt == "used":
        await _refuse(session, audit, "singpass_state_replayed")
        raise SingpassStateError(
            "This sign-in link was already used. Please start signing in again.",
            code="singpass_state_replayed",
            keep_changes=True,
        )
    if attempt == "unknown":
        await _refuse(session, audit, "singpass_state_invalid")
        raise SingpassStateError(
            "This sign-in has expired or was not started here. Please sign in again.",
            keep_changes=True,
        )
    try:
        if browser_binding is None or not hmac.compare_digest(
            repository.hash_binding(browser_binding), attempt.browser_binding
        ):
            raise SingpassStateError(
                "This sign-in was started in another browser. Please sign in again here.",
                code="singpass_browser_mismatch",
            )
        # RFC 9207: a provider that names itself on the callback must be the one we asked, or
        # a code from another provider is being passed off as Singpass's (mix-up attack).
        if issuer is not None and issuer != (await singpass.metadata()).issuer:
            raise SingpassStateError(
                "This sign-in came back from an identity provider we did not send you to.",
                code="singpass_issuer_mismatch",
            )
        pending = PendingLogin(state, attempt.nonce, attempt.code_verifier, attempt.dpop_key)
        identity = await singpass.finish_login(code, pending)
    except (SingpassError, SingpassStateError) as error:
        await _refuse(session, audit, error.code)
        error.keep_changes = True
        raise
    return VerifiedLogin(identity, attempt.return_to)


async def start_patient_session(
    session: AsyncSession,
    settings: Settings,
    audit: AuditContext,
    patient_id: uuid.UUID,
    *,
    new_patient: bool,
    replaced_session: uuid.UUID | None,
) -> NewSession:
    """A new session for a patient Singpass has just verified; the browser's old one ends."""
    if replaced_session is not None:
        await revoke_session(session, replaced_session)
    new = await start_session(session, settings, kind="patient", subject_id=patient_id)
    await record(
        session,
        "patient.sign_in",
        AuditContext("patient", patient_id, audit.client_hash),
        subject_kind="patient",
        subject_id=patient_id,
        method="singpass",
        new_patient=new_patient,
    )
    return new


async def _refuse(session: AsyncSession, audit: AuditContext, reason: str) -> None:
    await record(session, "patient.sign_in.failed", audit, method="singpass", reason=reason)


async def record_sign_out_everywhere(
    session: AsyncSession, audit: AuditContext, kind: str, subject_id: uuid.UUID, ended: int
) -> None:
    await record(
        session,
        f"{kind}.sign_out_everywhere",
        audit,
        subject_kind=kind,
        subject_id=subject_id,
        sessions_ended=ended,
    )
