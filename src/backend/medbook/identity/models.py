"""Who may sign in: staff accounts and their roles, sessions, and Singpass login attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from medbook.db import Base, uuid_pk
from medbook.kernel.permissions import Role

ROLE_VALUES = ", ".join(f"'{role.value}'" for role in Role)


class StaffMember(Base):
    __tablename__ = "staff_members"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters
    # The TOTP secret is encrypted with the data key: a database dump alone cannot mint codes.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last accepted time step: a code is good once, even inside its 30 s window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The account-wide lockout's columns, unused since sign-in throttling (0007) replaced it:
    # kept while a process of the version before may still read them, dropped by a later
    # migration.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class StaffRole(Base):
    """One grant: a role at one clinic, or at every clinic when clinic_id is null."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role"),
        # NULLS NOT DISTINCT: one org-wide grant of a role, not one per insert.
        UniqueConstraint(
            "staff_id", "role", "clinic_id", name="one_grant", postgresql_nulls_not_distinct=True
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    clinic_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clinics.id"))
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id"))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SignInThrottle(Base):
    """Failed passwords and codes for one email from one client address, and the delay they
    earned (ADR 0008). A null client_key counts wrong authenticator codes from every address:
    only someone who has the password reaches that step.

    Keys are keyed hashes (the data key's blind index), never the email or address itself: an
    unknown email is counted exactly like a staff member's, and its row names nobody.
    """

    __tablename__ = "staff_sign_in_throttles"
    __table_args__ = (
        UniqueConstraint(
            "account_key",
            "client_key",
            name="one_throttle_per_address",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("failures >= 0", name="failures"),
        Index("ix_staff_sign_in_throttles_updated_at", "updated_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    client_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # Set when the email is a staff member's: administrators see and lift throttles by account.
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecoveryCode(Base):
    __tablename__ = "staff_recovery_codes"

    id: Mapped[uuid.UUID] = uuid_pk()
    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # codes are random: sha256 suffices
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; only its hash is stored."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        CheckConstraint("kind IN ('patient', 'staff')", name="kind"),
        CheckConstraint(
            "(kind = 'patient') = (patient_id IS NOT NULL) AND (kind = 'staff') = (staff_id IS NOT NULL)",
            name="one_subject",
        ),
        # A staff session is only good for everything once the second factor is through.
        CheckConstraint("stage IN ('full', 'second_factor', 'enrol')", name="stage"),
        CheckConstraint("kind = 'staff' OR stage = 'full'", name="patients_have_no_second_factor"),
        Index(
            "ix_user_sessions_patient", "patient_id", postgresql_where=text("revoked_at IS NULL")
        ),
        Index("ix_user_sessions_staff", "staff_id", postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(16), server_default="full")
    patient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE")
    )
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE")
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    idle_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # absolute lifetime
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SingpassLogin(Base):
    """One attempt to sign in with Singpass: what the callback must match, usable once."""

    __tablename__ = "singpass_logins"

    id: Mapped[uuid.UUID] = uuid_pk()
    state: Mapped[str] = mapped_column(String(128), unique=True)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    # The ephemeral DPoP key of this attempt (FAPI): it must sign the token request too.
    dpop_key: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Hash of a random value in a short-lived cookie: the callback must come from the same
    # browser that started the attempt (no login CSRF by a planted callback link).
    browser_binding: Mapped[bytes] = mapped_column(LargeBinary(32))
    return_to: Mapped[str] = mapped_column(String(500), server_default="/")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
