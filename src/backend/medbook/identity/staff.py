"""Staff accounts: sign-in with a password and a second factor, and their administration.

Sign-in is two steps. The password alone opens a short pre-authentication session (stage
"second_factor", or "enrol" for someone without a confirmed authenticator) that reaches nothing
but the next step; a TOTP or recovery code then replaces it with a new, full session.

Failed passwords and codes are throttled per email and client address (identity.throttle, ADR
0008), in the database, by the database clock, whichever API process answers: never for the
account as a whole, so no stranger can keep its owner out. The errors that refuse them keep the
request's writes (the count and the audit row) even though the request fails.

Administration: an administrator grants any role, at any clinic or at every clinic; a clinic
manager grants only MANAGER_GRANTABLE roles, only at their clinics. Nobody administers their own
account here.

Who manages whom: a staff member manages another account when they could have made every one of
its grants themselves (`has_authority_over`); an account with no grant at all is managed only by
an administrator of every clinic. Only a managed account may be given a role, deactivated,
reactivated, reset or unlocked, or be read: a manager never reaches someone who outranks them or
who also works where the manager does not. An account with no role at a clinic the caller
manages does not exist for them (the same 404 as a made-up id); one at their clinic that they do
not manage is a 403. Taking a role back needs the same: the answer shows the account.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NoReturn

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.audit import service as audit
from medbook.audit.service import AuditContext
from medbook.data_key import DataKey
from medbook.identity import passwords, throttle, throttle_repository
from medbook.identity import staff_repository as repository
from medbook.identity.sessions import (
    NewSession,
    SessionView,
    Stage,
    absolute_lifetime_seconds,
    revoke_all_sessions,
    revoke_session,
    start_session,
)
from medbook.identity.staff_repository import Account
from medbook.identity.values import GrantRow, StaffView
from medbook.kernel.errors import (
    ClinicNotFoundError,
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    UnprocessableError,
)
from medbook.kernel.permissions import (
    MANAGER_GRANTABLE,
    Grant,
    Permission,
    Role,
    StaffPrincipal,
)
from medbook.settings import Settings

ISSUER = "Medical Inc."
TOTP_PURPOSE = "totp"
# Long enough to find the phone and type a code; too short to be worth stealing.
SECOND_FACTOR_SECONDS = 5 * 60
# Enrolment also means installing an app and scanning the QR code.
ENROL_SECONDS = 10 * 60
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper. 10 characters of 31: about 50 bits each.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
# A code from the step before or after the current one is accepted (pyotp's valid_window=1):
# phones' clocks drift, and people type slowly.
TOTP_VALID_WINDOW = 1
STAFF = "staff"

# Who may hand out which roles. Only roles that carry Permission.MANAGE_STAFF grant anything.
GRANTABLE_BY: dict[Role, frozenset[Role]] = {
    Role.ADMINISTRATOR: frozenset(Role),
    Role.CLINIC_MANAGER: MANAGER_GRANTABLE,
}


# --- errors -------------------------------------------------------------------------------------


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"
    keep_changes = True  # the failure counter and its audit row


class InvalidCodeError(UnauthorizedError):
    code = "invalid_code"
    keep_changes = True


class AccountInactiveError(ForbiddenError):
    code = "account_inactive"
    keep_changes = True


class WrongSignInStageError(ConflictError):
    code = "wrong_sign_in_stage"


class StaffEmailTakenError(ConflictError):
    code = "staff_email_taken"


class StaffNotFoundError(NotFoundError):
    code = "staff_not_found"


class GrantNotFoundError(NotFoundError):
    code = "grant_not_found"


class GrantExistsError(ConflictError):
    code = "grant_exists"


class OwnAccountError(ForbiddenError):
    code = "own_account"


class LastAdministratorError(ConflictError):
    code = "last_administrator"


class InvalidStaffDetailsError(UnprocessableError):
    code = "invalid_staff_details"


# The same words for an unknown email and a wrong password: the answer must not tell which.
_BAD_CREDENTIALS = "That email and password do not match an account."
_BAD_CODE = "That code is not right (or was already used). Please try the next one."


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordAccepted:
    """The password step passed: a pre-authentication session for the next step."""

    staff_id: uuid.UUID
    next: Literal["second_factor", "enrol"]
    session: NewSession
    lifetime_seconds: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Both factors passed: a new full session (the pre-authentication one has ended)."""

    staff_id: uuid.UUID
    session: NewSession
    lifetime_seconds: int


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the authenticator app needs, shown once: the secret, as a URI and as a QR code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


# --- creating accounts --------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def create_staff_member(
    session: AsyncSession,
    *,
    email: str,
    full_name: str,
    password: str,
    grants: Sequence[Grant],
    granted_by: uuid.UUID | None,
    context: AuditContext,
) -> uuid.UUID:
    """Create an account with a policy-checked password and its grants; answers its id.

    Who may create it is the caller's concern (the admin API checks; the create-admin command
    is the operator at the server). Every account enrols its second factor at first sign-in.
    """
    email = normalise_email(email)
    full_name = " ".join(full_name.split())
    if "@" not in email or not full_name:
        raise InvalidStaffDetailsError("Give the person's full name and their email address.")
    passwords.check_password(password, email=email, full_name=full_name)
    password_hash = await passwords.hash_password(password)
    staff_id = await repository.insert_account(
        session, email=email, full_name=full_name, password_hash=password_hash
    )
    if staff_id is None:
        raise StaffEmailTakenError("A staff account with that email address already exists.")
    await audit.record(session, "staff.created", context, subject_kind=STAFF, subject_id=staff_id)
    for grant in dict.fromkeys(grants):
        await _add_grant(session, staff_id, grant, granted_by)
        await _record_grant(session, "staff.role.granted", context, staff_id, grant)
    return staff_id


# --- signing in ---------------------------------------------------------------------------------


async def sign_in_with_password(
    session: AsyncSession,
    settings: Settings,
    key: DataKey,
    *,
    email: str,
    password: str,
    context: AuditContext,
) -> PasswordAccepted:
    """Check the password; open the short pre-authentication session for the second factor
    (or for enrolment, when the account has no confirmed authenticator yet).

    An unknown email takes the same steps as a known one with a wrong password (one password
    hash, the same throttle), so neither the answer nor its timing tells them apart.
    """
    email = normalise_email(email)
    account = await repository.find_by_email(session, email)
    staff_id = account.id if account is not None else None
    address = throttle.throttle_for(key, email, context.client_hash, staff_id)
    # Checked before the password: while delayed, guesses are not even tried.
    await _refuse_if_throttled(session, context, staff_id, [address], "password")
    if account is None:
        await passwords.spend_a_verification(password)
        await _count_failure(
            session,
            settings,
            context,
            [address],
            "unknown_account",
            "password",
            InvalidCredentialsError(_BAD_CREDENTIALS),
        )
    verified = await passwords.verify_password(account.password_hash, password)
    if not verified.ok:
        await _count_failure(
            session,
            settings,
            context,
            [address],
            "bad_password",
            "password",
            InvalidCredentialsError(_BAD_CREDENTIALS),
        )
    if not account.active:
        # Only said to someone who knows the password: it tells nothing to a guesser.
        await _record_failure(session, context, account.id, "inactive", "password")
        raise AccountInactiveError("This account has been deactivated. Please ask your manager.")
    if verified.new_hash is not None:
        await repository.set_password_hash(session, account.id, verified.new_hash, changed=False)
    # The throttle is not forgotten here but once the whole sign-in succeeds: someone who has
    # the password must not get a fresh allowance of code guesses by entering it again.
    stage: Literal["second_factor", "enrol"] = (
        "second_factor" if account.totp_confirmed else "enrol"
    )
    lifetime = SECOND_FACTOR_SECONDS if stage == "second_factor" else ENROL_SECONDS
    new = await start_session(
        session,
        settings,
        kind="staff",
        subject_id=account.id,
        stage=stage,
        lifetime_seconds=lifetime,
    )
    await audit.record(
        session,
        "staff.sign_in.password_accepted",
        context,
        subject_kind=STAFF,
        subject_id=account.id,
        next=stage,
    )
    return PasswordAccepted(account.id, stage, new, lifetime)


async def pass_second_factor(
    session: AsyncSession,
    settings: Settings,
    key: DataKey,
    view: SessionView,
    *,
    code: str | None,
    recovery_code: str | None,
    context: AuditContext,
) -> SignedIn:
    """Finish signing in with a TOTP code, or with one of the recovery codes instead.

    Wrong codes are throttled per address and also for the account from every address: only
    someone with the password gets here, and a botnet must not share out a million guesses.
    """
    account = await _pre_authenticated(session, view, "second_factor")
    address = throttle.throttle_for(key, account.email, context.client_hash, account.id)
    throttles = [address, address.every_address()]
    await _refuse_if_throttled(session, context, account.id, throttles, "second_factor")
    if code is not None:
        step = await _matching_step(session, key, account, code)
        if step is None:
            await _count_failure(
                session,
                settings,
                context,
                throttles,
                "bad_code",
                "second_factor",
                InvalidCodeError(_BAD_CODE),
            )
        await repository.accept_totp_step(session, account.id, step)
        method = "totp"
    else:
        used = recovery_code is not None and await repository.use_recovery_code(
            session, account.id, hash_recovery_code(recovery_code)
        )
        if not used:
            await _count_failure(
                session,
                settings,
                context,
                throttles,
                "bad_recovery_code",
                "second_factor",
                InvalidCodeError(_BAD_CODE),
            )
        remaining = await repository.count_unused_recovery_codes(session, account.id)
        await audit.record(
            session,
            "staff.recovery_code.used",
            context,
            subject_kind=STAFF,
            subject_id=account.id,
            remaining=remaining,
        )
        method = "recovery_code"
    return await _complete_sign_in(session, settings, view, account.id, address, context, method)


async def start_enrolment(
    session: AsyncSession, key: DataKey, view: SessionView, *, context: AuditContext
) -> Enrolment:
    """A new TOTP secret for the authenticator app. Asking again replaces it (a QR code
    scanned into the wrong phone); it counts only once confirmed with a code."""
    account = await _pre_authenticated(session, view, "enrol")
    secret = pyotp.random_base32()  # 32 characters: 160 bits, as RFC 4226 recommends
    await repository.set_pending_totp(
        session, account.id, key.encrypt(secret, purpose=TOTP_PURPOSE)
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER)
    await audit.record(
        session,
        "staff.factor.enrolment_started",
        context,
        subject_kind=STAFF,
        subject_id=account.id,
    )
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


async def confirm_enrolment(
    session: AsyncSession,
    settings: Settings,
    key: DataKey,
    view: SessionView,
    *,
    code: str,
    context: AuditContext,
) -> tuple[SignedIn, list[str]]:
    """A first good code proves the app has the secret: the factor is confirmed, the member is
    signed in, and gets their recovery codes (shown this once)."""
    account = await _pre_authenticated(session, view, "enrol")
    if account.totp_secret is None:
        raise WrongSignInStageError("Start enrolment first: there is no authenticator to confirm.")
    step = await _matching_step(session, key, account, code)
    if step is None:
        # Recorded, but not throttled: whoever is here holds the secret they are confirming,
        # so a wrong code is a typo rather than a guess (the per-address rate limit still
        # applies).
        await _record_failure(session, context, account.id, "bad_code", "enrol")
        raise InvalidCodeError(_BAD_CODE)
    await repository.confirm_totp(session, account.id, step)
    recovery_codes = await _new_recovery_codes(session, account.id)
    await audit.record(
        session, "staff.factor.enrolled", context, subject_kind=STAFF, subject_id=account.id
    )
    address = throttle.throttle_for(key, account.email, context.client_hash, account.id)
    signed_in = await _complete_sign_in(
        session, settings, view, account.id, address, context, "enrolment"
    )
    return signed_in, recovery_codes


async def change_password(
    session: AsyncSession,
    settings: Settings,
    key: DataKey,
    staff_id: uuid.UUID,
    *,
    current_password: str,
    new_password: str,
    context: AuditContext,
) -> SignedIn:
    """Replace one's own password. Every session of the account ends (a thief's too) and this
    browser gets a new one. Wrong current passwords are throttled like sign-in's (a session
    left open on a shared desk is no licence to guess)."""
    account = await _account(session, staff_id, for_update=True)
    address = throttle.throttle_for(key, account.email, context.client_hash, account.id)
    await _refuse_if_throttled(session, context, account.id, [address], "password_change")
    verified = await passwords.verify_password(account.password_hash, current_password)
    if not verified.ok:
        await _count_failure(
            session,
            settings,
            context,
            [address],
            "bad_password",
            "password_change",
            InvalidCredentialsError("That is not your current password."),
        )
    passwords.check_password(new_password, email=account.email, full_name=account.full_name)
    if passwords.normalise(new_password) == passwords.normalise(current_password):
        raise passwords.WeakPasswordError("The new password must differ from the current one.")
    new_hash = await passwords.hash_password(new_password)
    await repository.set_password_hash(session, account.id, new_hash, changed=True)
    ended = await revoke_all_sessions(session, kind="staff", subject_id=account.id)
    new = await start_session(session, settings, kind="staff", subject_id=account.id)
    await audit.record(
        session,
        "staff.password.changed",
        context,
        subject_kind=STAFF,
        subject_id=account.id,
        other_sessions_ended=max(0, ended - 1),
    )
    return SignedIn(account.id, new, absolute_lifetime_seconds(settings))


async def regenerate_recovery_codes(
    session: AsyncSession,
    settings: Settings,
    key: DataKey,
    staff_id: uuid.UUID,
    *,
    code: str,
    context: AuditContext,
) -> list[str]:
    """Ten new recovery codes, the old ones void. Needs a current TOTP code: a session left
    open on a shared desk must not be enough to mint a way past the second factor."""
    account = await _account(session, staff_id, for_update=True)
    address = throttle.throttle_for(key, account.email, context.client_hash, account.id)
    throttles = [address, address.every_address()]
    await _refuse_if_throttled(session, context, account.id, throttles, "recovery_codes")
    step = await _matching_step(session, key, account, code)
    if step is None:
        await _count_failure(
            session,
            settings,
            context,
            throttles,
            "bad_code",
            "recovery_codes",
            InvalidCodeError(_BAD_CODE),
        )
    await repository.accept_totp_step(session, account.id, step)
    recovery_codes = await _new_recovery_codes(session, account.id)
    await audit.record(
        session,
        "staff.recovery_codes.regenerated",
        context,
        subject_kind=STAFF,
        subject_id=account.id,
    )
    return recovery_codes


# --- administration -----------------------------------------------------------------------------


def may_grant(principal: StaffPrincipal, grant: Grant) -> bool:
    """Could this person hand out this role at this clinic (or at every clinic)?"""
    return any(
        grant.role in GRANTABLE_BY.get(own.role, frozenset())
        and (own.clinic_id is None or own.clinic_id == grant.clinic_id)
        for own in principal.grants
    )


def has_authority_over(principal: StaffPrincipal, grants: Sequence[Grant]) -> bool:
    """May they act on an account (deactivate, reset, unlock) with these grants? Only when
    they could have made every one of them: a manager never acts on someone who outranks them
    or who also works where the manager does not."""
    if not grants:
        # Nobody's in particular: only an administrator of every clinic.
        return any(_is_organisation_administrator(own) for own in principal.grants)
    return all(may_grant(principal, grant) for grant in grants)


async def admin_create_staff(
    session: AsyncSession,
    principal: StaffPrincipal,
    *,
    email: str,
    full_name: str,
    password: str,
    grants: Sequence[Grant],
    context: AuditContext,
) -> StaffView:
    """Create an account with its first roles, each of which the creator may grant."""
    _require_staff_manager(principal)
    if not grants:
        raise InvalidStaffDetailsError("Give the new account at least one role.")
    for grant in grants:
        _require_grantable(principal, grant)
    staff_id = await create_staff_member(
        session,
        email=email,
        full_name=full_name,
        password=password,
        grants=grants,
        granted_by=principal.staff_id,
        context=context,
    )
    return await _view(session, staff_id)


async def list_staff(session: AsyncSession, principal: StaffPrincipal) -> list[StaffView]:
    """Everyone, for an administrator; for a clinic manager, staff with a role at their
    clinics."""
    clinics = _require_staff_manager(principal)
    accounts = await repository.list_accounts(session, clinics)
    grants = await repository.grants_of(session, [account.id for account in accounts])
    by_member: dict[uuid.UUID, list[GrantRow]] = {}
    for grant in grants:
        by_member.setdefault(grant.staff_id, []).append(grant)
    delayed = await throttle_repository.delayed_until(session, [account.id for account in accounts])
    return [
        _present(account, by_member.get(account.id, []), delayed.get(account.id))
        for account in accounts
        if has_authority_over(principal, [_as_grant(g) for g in by_member.get(account.id, [])])
    ]


async def get_staff(
    session: AsyncSession, principal: StaffPrincipal, staff_id: uuid.UUID
) -> StaffView:
    """An account they manage, or their own."""
    if principal.staff_id == staff_id:
        _require_staff_manager(principal)
        return await _view(session, staff_id)
    return await _managed_account(session, principal, staff_id)


async def grant_role(
    session: AsyncSession,
    principal: StaffPrincipal,
    staff_id: uuid.UUID,
    grant: Grant,
    *,
    context: AuditContext,
) -> StaffView:
    """Give a role to an account they manage, if they may grant that role there."""
    _require_grantable(principal, grant)
    await _managed_account(session, principal, staff_id)
    if not await _add_grant(session, staff_id, grant, principal.staff_id):
        raise GrantExistsError("They already have that role there.")
    await _record_grant(session, "staff.role.granted", context, staff_id, grant)
    return await _view(session, staff_id)


async def revoke_role(
    session: AsyncSession,
    principal: StaffPrincipal,
    staff_id: uuid.UUID,
    grant_id: uuid.UUID,
    *,
    context: AuditContext,
) -> StaffView:
    """Take a role away from an account they manage."""
    view = await _managed_account(session, principal, staff_id)
    row = await repository.get_grant(session, grant_id)
    if row is None or row.staff_id != staff_id:
        raise GrantNotFoundError("That account has no such role grant.")
    grant = Grant(row.role, row.clinic_id)
    _require_grantable(principal, grant)
    if view.active and _is_organisation_administrator(grant):
        await _keep_an_administrator(session, staff_id)
    await repository.delete_grant(session, grant_id)
    await _record_grant(session, "staff.role.revoked", context, staff_id, grant)
    return await _view(session, staff_id)


async def set_active(
    session: AsyncSession,
    principal: StaffPrincipal,
    staff_id: uuid.UUID,
    *,
    active: bool,
    context: AuditContext,
) -> StaffView:
    """Deactivate (every session ends at once) or reactivate an account."""
    view = await _managed_account(session, principal, staff_id)
    if view.active == active:
        return view
    if not active:
        if any(_is_organisation_administrator(_as_grant(g)) for g in view.grants):
            await _keep_an_administrator(session, staff_id)
        await repository.set_active(session, staff_id, active=False)
        ended = await revoke_all_sessions(session, kind="staff", subject_id=staff_id)
        await audit.record(
            session,
            "staff.deactivated",
            context,
            subject_kind=STAFF,
            subject_id=staff_id,
            sessions_ended=ended,
        )
    else:
        await repository.set_active(session, staff_id, active=True)
        await audit.record(
            session, "staff.reactivated", context, subject_kind=STAFF, subject_id=staff_id
        )
    return await _view(session, staff_id)


async def reset_factors(
    session: AsyncSession, principal: StaffPrincipal, staff_id: uuid.UUID, *, context: AuditContext
) -> StaffView:
    """For a lost phone: the authenticator and recovery codes are forgotten, every session
    ends, and the member enrols again at their next sign-in."""
    await _managed_account(session, principal, staff_id)
    await repository.clear_second_factor(session, staff_id)
    ended = await revoke_all_sessions(session, kind="staff", subject_id=staff_id)
    await audit.record(
        session,
        "staff.factors.reset",
        context,
        subject_kind=STAFF,
        subject_id=staff_id,
        sessions_ended=ended,
    )
    return await _view(session, staff_id)


async def lift_throttles(
    session: AsyncSession,
    principal: StaffPrincipal,
    key: DataKey,
    staff_id: uuid.UUID,
    *,
    context: AuditContext,
) -> StaffView:
    """End every sign-in delay of an account, from every address, at once (the member has
    been reached and it was them). Never one's own: that takes a second administrator."""
    view = await _managed_account(session, principal, staff_id)
    await lift_throttles_of(session, key, view.id, view.email, context)
    return await _view(session, staff_id)


async def lift_throttles_of(
    session: AsyncSession, key: DataKey, staff_id: uuid.UUID, email: str, context: AuditContext
) -> int:
    """Lift an account's throttles and record it (the admin API, or `medbook staff
    unthrottle` at the server); how many were delaying someone."""
    lifted = await throttle.lift(session, key, email, staff_id)
    await audit.record(
        session,
        "staff.sign_in.throttle_lifted",
        context,
        subject_kind=STAFF,
        subject_id=staff_id,
        delays_ended=lifted,
    )
    return lifted


# --- TOTP and recovery codes --------------------------------------------------------------------


def qr_svg(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(
        buffer, kind="svg", scale=4, xmldecl=False, title="Medical Inc. sign-in code"
    )
    return buffer.getvalue().decode()


async def _matching_step(
    session: AsyncSession, key: DataKey, account: Account, code: str
) -> int | None:
    """The time step the code belongs to, if it is good and newer than the last one accepted.

    The database clock says what time it is, like every other expiry here. A step at or before
    the last accepted one is refused: a code seen over someone's shoulder is already spent.
    """
    if account.totp_secret is None or not code.isdigit():
        return None
    totp = pyotp.TOTP(key.decrypt(account.totp_secret, purpose=TOTP_PURPOSE))
    current = totp.timecode(await repository.database_now(session))
    found = None
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (
            account.totp_last_step is None or step > account.totp_last_step
        ):
            found = step
    return found


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    half = _RECOVERY_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def hash_recovery_code(code: str) -> bytes:
    # The codes are random and long, so a fast hash is enough: nothing to brute-force offline.
    canonical = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(canonical.encode()).digest()


async def _new_recovery_codes(session: AsyncSession, staff_id: uuid.UUID) -> list[str]:
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    await repository.replace_recovery_codes(
        session, staff_id, [hash_recovery_code(c) for c in codes]
    )
    return codes


# --- helpers ------------------------------------------------------------------------------------


async def _account(
    session: AsyncSession, staff_id: uuid.UUID, *, for_update: bool = False
) -> Account:
    account = await repository.get_account(session, staff_id, for_update=for_update)
    if account is None:
        raise StaffNotFoundError("There is no staff account with that id.")
    return account


async def _pre_authenticated(session: AsyncSession, view: SessionView, stage: Stage) -> Account:
    """The account behind a pre-authentication session at this stage, its row locked."""
    if view.staff_id is None:
        raise ForbiddenError("This is for clinic staff.", code="staff_only")
    if view.stage != stage:
        if view.stage == "full":
            raise WrongSignInStageError("You are already signed in.")
        wanted = "enrol your authenticator" if view.stage == "enrol" else "enter your code"
        raise WrongSignInStageError(f"This step comes later: first {wanted}.")
    account = await _account(session, view.staff_id, for_update=True)
    if stage == "enrol" and account.totp_confirmed:
        # Another browser of theirs enrolled meanwhile. Replacing a confirmed authenticator
        # takes the second factor or an administrator, never the password alone.
        raise WrongSignInStageError("This account already has an authenticator: sign in again.")
    return account


async def _complete_sign_in(
    session: AsyncSession,
    settings: Settings,
    view: SessionView,
    staff_id: uuid.UUID,
    address: throttle.Throttle,
    context: AuditContext,
    method: str,
) -> SignedIn:
    # A new token and a new CSRF token: nothing known before the second factor is good after.
    await revoke_session(session, view.id)
    await throttle.forget_address(session, address)
    new = await start_session(session, settings, kind="staff", subject_id=staff_id, stage="full")
    await audit.record(
        session, "staff.signed_in", context, subject_kind=STAFF, subject_id=staff_id, method=method
    )
    return SignedIn(staff_id, new, absolute_lifetime_seconds(settings))


async def _record_failure(
    session: AsyncSession,
    context: AuditContext,
    staff_id: uuid.UUID | None,
    reason: str,
    stage: str,
) -> None:
    await audit.record(
        session,
        "staff.sign_in.failed",
        context,
        subject_kind=STAFF if staff_id else None,
        subject_id=staff_id,
        reason=reason,
        stage=stage,
    )


async def _refuse_if_throttled(
    session: AsyncSession,
    context: AuditContext,
    staff_id: uuid.UUID | None,
    throttles: list[throttle.Throttle],
    stage: str,
) -> None:
    """Refuse, unchecked and recorded, an attempt made while one of its delays runs. The same
    answer for any email, known or not."""
    what = "sign-in attempts" if stage in ("password", "password_change") else "codes"
    try:
        await throttle.refuse_if_delayed(session, throttles, what)
    except throttle.SignInThrottledError:
        await _record_failure(session, context, staff_id, "throttled", stage)
        raise


async def _count_failure(
    session: AsyncSession,
    settings: Settings,
    context: AuditContext,
    throttles: list[throttle.Throttle],
    reason: str,
    stage: str,
    refusal: DomainError,
) -> NoReturn:
    """Count a wrong password or code on its throttles, record it (and any delay it starts),
    and refuse with `refusal`: the answer to a failure is the same whether or not it starts a
    delay; the next attempt learns of the delay."""
    policy = throttle.Policy.from_settings(settings)
    staff_id = throttles[0].staff_id
    await _record_failure(session, context, staff_id, reason, stage)
    for counted in throttles:
        seconds = await throttle.count_failure(session, policy, counted)
        if seconds > 0:
            await audit.record(
                session,
                "staff.sign_in.throttled",
                context,
                subject_kind=STAFF if staff_id else None,
                subject_id=staff_id,
                stage=stage,
                scope="address" if counted.client_key is not None else "every_address",
                seconds=seconds,
            )
    raise refusal


def _require_staff_manager(principal: StaffPrincipal) -> frozenset[uuid.UUID] | None:
    """The clinics whose staff they manage (None: all); refuse someone who manages none."""
    clinics = principal.clinics_with(Permission.MANAGE_STAFF)
    if clinics is not None and not clinics:
        raise ForbiddenError("Your role does not allow managing staff.", code="not_permitted")
    return clinics


def _require_grantable(principal: StaffPrincipal, grant: Grant) -> None:
    if not may_grant(principal, grant):
        where = "at that clinic" if grant.clinic_id is not None else "at every clinic"
        raise ForbiddenError(
            f"Your role does not allow granting {grant.role.value} {where}.", code="not_permitted"
        )


def _not_own_account(principal: StaffPrincipal, staff_id: uuid.UUID) -> None:
    if principal.staff_id == staff_id:
        raise OwnAccountError(
            "You cannot change your own roles or account status. Please ask another administrator."
        )


def _is_organisation_administrator(grant: Grant) -> bool:
    return grant.role is Role.ADMINISTRATOR and grant.clinic_id is None


async def _keep_an_administrator(session: AsyncSession, staff_id: uuid.UUID) -> None:
    if not await repository.other_active_administrators(session, staff_id):
        raise LastAdministratorError(
            "This is the last active administrator: make someone else an administrator first."
        )


async def _add_grant(
    session: AsyncSession, staff_id: uuid.UUID, grant: Grant, granted_by: uuid.UUID | None
) -> bool:
    """Give the grant; False when they already hold it. A clinic that does not exist is
    refused by the grant's foreign key."""
    added = await repository.add_grant(session, staff_id, grant.role, grant.clinic_id, granted_by)
    if added == "no_clinic":
        raise ClinicNotFoundError("There is no clinic with that id.")
    return added != "held"


def _as_grant(row: GrantRow) -> Grant:
    return Grant(row.role, row.clinic_id)


async def _view(session: AsyncSession, staff_id: uuid.UUID) -> StaffView:
    account = await _account(session, staff_id)
    delayed = await throttle_repository.delayed_until(session, [staff_id])
    return _present(account, await repository.grants_of(session, [staff_id]), delayed.get(staff_id))


async def _managed_account(
    session: AsyncSession, principal: StaffPrincipal, staff_id: uuid.UUID
) -> StaffView:
    """The account, once the principal is known to manage it (see the module's docstring)."""
    clinics = _require_staff_manager(principal)
    _not_own_account(principal, staff_id)
    view = await _view(session, staff_id)
    if clinics is not None and not any(grant.clinic_id in clinics for grant in view.grants):
        raise StaffNotFoundError("There is no staff account with that id.")
    if not has_authority_over(principal, [_as_grant(g) for g in view.grants]):
        raise ForbiddenError(
            "That account has roles beyond the ones you may manage.", code="not_permitted"
        )
    return view


def _present(
    account: Account, grants: Sequence[GrantRow], throttled_until: datetime | None
) -> StaffView:
    return StaffView(
        id=account.id,
        email=account.email,
        full_name=account.full_name,
        active=account.active,
        enrolled=account.totp_confirmed,
        throttled_until=throttled_until,
        created_at=account.created_at,
        grants=tuple(grants),
    )


async def _record_grant(
    session: AsyncSession, action: str, context: AuditContext, staff_id: uuid.UUID, grant: Grant
) -> None:
    await audit.record(
        session,
        action,
        context,
        subject_kind=STAFF,
        subject_id=staff_id,
        clinic_id=grant.clinic_id,
        role=grant.role.value,
        scope="clinic" if grant.clinic_id else "every_clinic",
    )
