"""What the sign-in, session and staff administration APIs accept and answer.

No answer carries a password hash or a second-factor secret, except the two that exist to show
one once: a new authenticator's secret (enrolment) and new recovery codes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medbook.identity.values import GrantRow, StaffView
from medbook.kernel.permissions import Grant, Role
from medbook.schemas import SINGLE_LINE_PATTERN, SingleLine, StrictModel


class VerbatimModel(StrictModel):
    # The house StrictModel, except that strings are not stripped: a password is taken exactly
    # as typed (names and emails are tidied by the service).
    model_config = ConfigDict(str_strip_whitespace=False)


# Long enough for any passphrase the policy allows (and then some, so the policy can say what is
# wrong); short enough that nobody makes us hash a megabyte.
Password = Annotated[str, Field(min_length=1, max_length=1024, pattern=SINGLE_LINE_PATTERN)]
TotpCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["123456"])]
RecoveryCode = Annotated[
    str,
    Field(min_length=8, max_length=32, pattern=SINGLE_LINE_PATTERN, examples=["abcde-fghjk"]),
]
EmailAddress = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$",
        examples=["mei.ling.tan@medical.example"],
    ),
]


class SignInIn(VerbatimModel):
    email: SingleLine = Field(
        min_length=1, max_length=254, examples=["mei.ling.tan@medical.example"]
    )
    password: Password


class SignInOut(BaseModel):
    next: Literal["second_factor", "enrol"] = Field(
        description="second_factor: POST a code to /second-factor. enrol: POST /enrolment, "
        "scan the QR code, then POST the first code to /enrolment/confirm."
    )
    csrf_token: str = Field(description="Send as X-CSRF-Token with the next step.")
    expires_at: datetime = Field(description="The next step must come before this.")


class SecondFactorIn(VerbatimModel):
    code: TotpCode | None = Field(default=None, description="The authenticator app's code.")
    recovery_code: RecoveryCode | None = Field(
        default=None, description="Instead of a code: one of the recovery codes (each works once)."
    )

    @model_validator(mode="after")
    def one_of_them(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give either code or recovery_code")
        return self


class SignedInOut(BaseModel):
    staff_id: uuid.UUID
    csrf_token: str = Field(description="The new session's CSRF token (the old one is void).")
    expires_at: datetime


class EnrolmentOut(BaseModel):
    secret: str = Field(description="Base32, for typing into the app by hand. Shown once.")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG document.")


class CodeIn(VerbatimModel):
    code: TotpCode


class EnrolmentConfirmedOut(SignedInOut):
    recovery_codes: list[str] = Field(
        description="Ten one-time codes for when the phone is not at hand. Shown only now."
    )


class PasswordChangeIn(VerbatimModel):
    current_password: Password
    new_password: Password


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(
        description="The new codes; the previous ones no longer work."
    )


class RoleGrantIn(VerbatimModel):
    role: Role
    clinic_id: uuid.UUID | None = Field(
        default=None, description="The clinic; null grants the role at every clinic."
    )

    def to_grant(self) -> Grant:
        return Grant(self.role, self.clinic_id)


class StaffCreateIn(VerbatimModel):
    email: EmailAddress
    full_name: SingleLine = Field(min_length=1, max_length=200, examples=["Tan Mei Ling"])
    password: Password = Field(
        description="The first password, given to the person in a safe way. At least 12 "
        "characters, not a common password, without their name or email."
    )
    roles: list[RoleGrantIn] = Field(min_length=1, max_length=50)


class RoleGrantOut(BaseModel):
    id: uuid.UUID
    role: Role
    clinic_id: uuid.UUID | None
    granted_by: uuid.UUID | None
    granted_at: datetime

    @classmethod
    def from_row(cls, row: GrantRow) -> RoleGrantOut:
        return cls(
            id=row.id,
            role=row.role,
            clinic_id=row.clinic_id,
            granted_by=row.granted_by,
            granted_at=row.granted_at,
        )


class StaffOut(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    active: bool
    enrolled: bool = Field(description="Has a confirmed authenticator (else enrols at sign-in).")
    throttled_until: datetime | None = Field(
        description="Set while failed attempts from some address delay that address's next "
        "sign-in to this account: when the last such delay ends. Nobody else is kept out."
    )
    locked_until: datetime | None = Field(
        deprecated=True,
        description="The same as throttled_until (accounts are no longer locked as a whole); "
        "kept for older clients.",
    )
    created_at: datetime
    roles: list[RoleGrantOut]

    @classmethod
    def from_view(cls, view: StaffView) -> StaffOut:
        return cls(
            id=view.id,
            email=view.email,
            full_name=view.full_name,
            active=view.active,
            enrolled=view.enrolled,
            throttled_until=view.throttled_until,
            locked_until=view.throttled_until,
            created_at=view.created_at,
            roles=[RoleGrantOut.from_row(row) for row in view.grants],
        )


class GrantOut(BaseModel):
    role: str
    clinic_id: uuid.UUID | None = Field(description="Null: every clinic.")
