"""SQL for staff accounts: the account row, its second factor, and grants.

Reads answer plain dataclasses rather than ORM objects: the account changes under UPDATE
statements that use the database clock, and a stale object in the session's identity map would
be worse than none. (Sign-in throttles have their own: identity/throttle_repository.py.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.db import sqlstate
from medbook.identity.models import RecoveryCode, StaffMember, StaffRole, UserSession
from medbook.identity.sessions import hash_token
from medbook.identity.values import GrantRow
from medbook.kernel.permissions import Role

FOREIGN_KEY_VIOLATION = "23503"


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    email: str
    full_name: str
    password_hash: str
    totp_secret: bytes | None  # sealed with the data key; None until enrolment starts
    totp_confirmed: bool
    totp_last_step: int | None
    active: bool
    created_at: datetime


_ACCOUNT = select(
    StaffMember.id,
    StaffMember.email,
    StaffMember.full_name,
    StaffMember.password_hash,
    StaffMember.totp_secret,
    StaffMember.totp_confirmed_at.is_not(None).label("totp_confirmed"),
    StaffMember.totp_last_step,
    StaffMember.active,
    StaffMember.created_at,
)


def _account(row: Row[*tuple[Any, ...]]) -> Account:
    return Account(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        password_hash=row.password_hash,
        totp_secret=row.totp_secret,
        totp_confirmed=row.totp_confirmed,
        totp_last_step=row.totp_last_step,
        active=row.active,
        created_at=row.created_at,
    )


async def database_now(session: AsyncSession) -> datetime:
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now


async def find_by_email(session: AsyncSession, email: str) -> Account | None:
    row = (await session.execute(_ACCOUNT.where(StaffMember.email == email))).one_or_none()
    return _account(row) if row is not None else None


async def get_account(
    session: AsyncSession, staff_id: uuid.UUID, *, for_update: bool = False
) -> Account | None:
    """The account; for_update holds its row to the end of the transaction, so two submissions
    of the same one-time code cannot both be accepted."""
    query = _ACCOUNT.where(StaffMember.id == staff_id)
    if for_update:
        query = query.with_for_update(of=StaffMember)
    row = (await session.execute(query)).one_or_none()
    return _account(row) if row is not None else None


async def insert_account(
    session: AsyncSession, *, email: str, full_name: str, password_hash: str
) -> uuid.UUID | None:
    """The new member's id, or None when the email is taken (checked by the unique key, so two
    simultaneous creations cannot both succeed)."""
    statement = (
        pg_insert(StaffMember)
        .values(email=email, full_name=full_name, password_hash=password_hash)
        .on_conflict_do_nothing(index_elements=[StaffMember.email])
        .returning(StaffMember.id)
    )
    created: uuid.UUID | None = (await session.execute(statement)).scalar_one_or_none()
    return created


async def _update_account(session: AsyncSession, staff_id: uuid.UUID, **values: object) -> None:
    await session.execute(
        update(StaffMember)
        .where(StaffMember.id == staff_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def set_password_hash(
    session: AsyncSession, staff_id: uuid.UUID, password_hash: str, *, changed: bool
) -> None:
    """Store a hash; `changed` is a new password, not the same one re-hashed with new
    parameters."""
    if changed:
        await _update_account(
            session, staff_id, password_hash=password_hash, password_changed_at=func.now()
        )
    else:
        await _update_account(session, staff_id, password_hash=password_hash)


async def set_active(session: AsyncSession, staff_id: uuid.UUID, *, active: bool) -> None:
    await _update_account(session, staff_id, active=active)


async def set_pending_totp(
    session: AsyncSession, staff_id: uuid.UUID, sealed_secret: bytes
) -> None:
    await _update_account(
        session, staff_id, totp_secret=sealed_secret, totp_confirmed_at=None, totp_last_step=None
    )


async def confirm_totp(session: AsyncSession, staff_id: uuid.UUID, step: int) -> None:
    await _update_account(session, staff_id, totp_confirmed_at=func.now(), totp_last_step=step)


async def accept_totp_step(session: AsyncSession, staff_id: uuid.UUID, step: int) -> None:
    await _update_account(session, staff_id, totp_last_step=step)


async def clear_second_factor(session: AsyncSession, staff_id: uuid.UUID) -> None:
    """Forget the TOTP secret and every recovery code: the member enrols again."""
    await _update_account(
        session, staff_id, totp_secret=None, totp_confirmed_at=None, totp_last_step=None
    )
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))


async def replace_recovery_codes(
    session: AsyncSession, staff_id: uuid.UUID, code_hashes: Sequence[bytes]
) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff_id))
    await session.execute(
        insert(RecoveryCode), [{"staff_id": staff_id, "code_hash": h} for h in code_hashes]
    )


async def use_recovery_code(session: AsyncSession, staff_id: uuid.UUID, code_hash: bytes) -> bool:
    """Spend a recovery code; False when there is no such unused code. The condition and the
    write are one statement, so a code is good exactly once."""
    statement = (
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == staff_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=func.now())
        .returning(RecoveryCode.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).first() is not None


async def count_unused_recovery_codes(session: AsyncSession, staff_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        RecoveryCode.staff_id == staff_id, RecoveryCode.used_at.is_(None)
    )
    return int((await session.execute(query)).scalar_one())


async def revoke_session_by_token(session: AsyncSession, token: str) -> None:
    """End the session behind a cookie, if it is still live (a browser signing in again)."""
    await session.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )


_GRANT = select(
    StaffRole.id,
    StaffRole.staff_id,
    StaffRole.role,
    StaffRole.clinic_id,
    StaffRole.granted_by,
    StaffRole.granted_at,
)


def _grant(row: Row[*tuple[Any, ...]]) -> GrantRow:
    return GrantRow(
        id=row.id,
        staff_id=row.staff_id,
        role=Role(row.role),
        clinic_id=row.clinic_id,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
    )


async def grants_of(session: AsyncSession, staff_ids: Sequence[uuid.UUID]) -> list[GrantRow]:
    query = _GRANT.where(StaffRole.staff_id.in_(staff_ids)).order_by(
        StaffRole.staff_id, StaffRole.granted_at, StaffRole.id
    )
    return [_grant(row) for row in (await session.execute(query)).all()]


async def get_grant(session: AsyncSession, grant_id: uuid.UUID) -> GrantRow | None:
    row = (await session.execute(_GRANT.where(StaffRole.id == grant_id))).one_or_none()
    return _grant(row) if row is not None else None


async def add_grant(
    session: AsyncSession,
    staff_id: uuid.UUID,
    role: Role,
    clinic_id: uuid.UUID | None,
    granted_by: uuid.UUID | None,
) -> uuid.UUID | Literal["held", "no_clinic"]:
    """The new grant's id; "held" when the member already holds that role there; "no_clinic"
    when there is no such clinic. The grant's foreign key says so: the clinics' table is theirs
    to read, not ours (the member and the granter are ours, and known to exist)."""
    statement = (
        pg_insert(StaffRole)
        .values(staff_id=staff_id, role=role.value, clinic_id=clinic_id, granted_by=granted_by)
        .on_conflict_do_nothing(constraint="one_grant")
        .returning(StaffRole.id)
    )
    try:
        async with session.begin_nested():
            created: uuid.UUID | None = (await session.execute(statement)).scalar_one_or_none()
    except IntegrityError as error:
        if sqlstate(error) == FOREIGN_KEY_VIOLATION:
            return "no_clinic"
        raise
    return created if created is not None else "held"


async def delete_grant(session: AsyncSession, grant_id: uuid.UUID) -> None:
    await session.execute(delete(StaffRole).where(StaffRole.id == grant_id))


async def list_accounts(
    session: AsyncSession, clinic_ids: frozenset[uuid.UUID] | None
) -> list[Account]:
    """Every account, or (clinic_ids given) those with a grant at one of those clinics."""
    query = _ACCOUNT.order_by(StaffMember.full_name, StaffMember.email)
    if clinic_ids is not None:
        at_clinics = exists().where(
            StaffRole.staff_id == StaffMember.id, StaffRole.clinic_id.in_(clinic_ids)
        )
        query = query.where(at_clinics)
    return [_account(row) for row in (await session.execute(query)).all()]


async def other_active_administrators(
    session: AsyncSession, staff_id: uuid.UUID
) -> list[uuid.UUID]:
    """Active members other than this one holding the administrator role at every clinic.

    The rows are locked: two administrators removing each other at the same moment are
    serialised, and the second sees the first's change (PostgreSQL re-checks locked rows).
    """
    query = (
        select(StaffMember.id)
        .join(StaffRole, StaffRole.staff_id == StaffMember.id)
        .where(
            StaffRole.role == Role.ADMINISTRATOR.value,
            StaffRole.clinic_id.is_(None),
            StaffMember.active,
            StaffMember.id != staff_id,
        )
        .with_for_update()
    )
    return list((await session.execute(query)).scalars().all())
