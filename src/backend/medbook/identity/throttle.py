"""Sign-in throttling: growing delays per email and client address (ADR 0008).

Failed passwords and codes are counted for the email that was typed and the address they came
from, never for the account alone: someone hammering an account from one address slows only
themselves, and its owner signs in from their own address as usual. An email that belongs to
nobody is counted in exactly the same way, so neither the answers nor the delays tell which
emails are staff.

Wrong authenticator codes are also counted for the account from every address: only someone
who has the password gets that far, and a code is six digits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.data_key import DataKey
from medbook.identity import throttle_repository as repository
from medbook.kernel.errors import TooManyError
from medbook.settings import Settings

ACCOUNT_PURPOSE = "sign-in-account"
# Doubling stops mattering long before this; it keeps the shifted number small.
_MAX_DOUBLINGS = 30


class SignInThrottledError(TooManyError):
    code = "sign_in_throttled"
    keep_changes = True  # the audit row of the refused attempt


@dataclass(frozen=True, slots=True)
class Policy:
    """How many failures in a run are free, the first delay after them (doubling with each
    further failure, up to the longest), and when a quiet run is forgotten."""

    free_failures: int
    first_delay_seconds: int
    longest_delay_seconds: int
    forget_after_hours: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            free_failures=settings.staff_sign_in_free_failures,
            first_delay_seconds=settings.staff_sign_in_first_delay_seconds,
            longest_delay_seconds=settings.staff_sign_in_longest_delay_seconds,
            forget_after_hours=settings.staff_sign_in_forget_after_hours,
        )


def delay_after(failures: int, policy: Policy) -> int:
    """Seconds before the next attempt is looked at, after this many failures in a row: none
    for the first few (typos), then the first delay, doubling with each failure, capped."""
    beyond = failures - policy.free_failures
    if beyond <= 0:
        return 0
    doubled: int = policy.first_delay_seconds << min(beyond - 1, _MAX_DOUBLINGS)
    return min(policy.longest_delay_seconds, doubled)


@dataclass(frozen=True, slots=True)
class Throttle:
    """What an attempt is counted against: an email (as a keyed hash) and a client address
    (the audit trail's keyed hash of it; None: every address)."""

    account_key: bytes
    client_key: bytes | None
    staff_id: uuid.UUID | None  # when the email is a staff member's

    def every_address(self) -> Throttle:
        return replace(self, client_key=None)


def account_key(key: DataKey, email: str) -> bytes:
    """The throttle's key for an email (already normalised). Keyed: a row names nobody."""
    return key.blind_index(email, purpose=ACCOUNT_PURPOSE)


def throttle_for(
    key: DataKey, email: str, client_key: bytes | None, staff_id: uuid.UUID | None
) -> Throttle:
    # An address we could not hash (no request behind the call) still gets one throttle.
    return Throttle(account_key(key, email), client_key or b"", staff_id)


async def refuse_if_delayed(session: AsyncSession, throttles: list[Throttle], what: str) -> None:
    """Raise SignInThrottledError while any of these throttles' delays runs. Locks them to the
    end of the transaction (in the order given: callers always give the address first)."""
    seconds = 0
    for throttle in throttles:
        blocked = await repository.claim(
            session, throttle.account_key, throttle.client_key, throttle.staff_id
        )
        seconds = max(seconds, blocked)
    if seconds > 0:
        error = SignInThrottledError(
            f"Too many failed {what}. Please wait {seconds} seconds and try again."
        )
        error.headers = {"Retry-After": str(seconds)}
        raise error


async def count_failure(session: AsyncSession, policy: Policy, throttle: Throttle) -> int:
    """Count a failure on a throttle claimed by refuse_if_delayed; the delay it starts (0:
    none yet)."""
    failures = await repository.count_failure(
        session, throttle.account_key, throttle.client_key, forget_hours=policy.forget_after_hours
    )
    seconds = delay_after(failures, policy)
    if seconds > 0:
        await repository.block(session, throttle.account_key, throttle.client_key, seconds)
    return seconds


async def forget_address(session: AsyncSession, throttle: Throttle) -> None:
    """A full sign-in: this address's failures for this email are forgiven. The count of wrong
    codes from every address is not: it runs out or is lifted by an administrator."""
    if throttle.client_key is not None:
        await repository.forget(session, throttle.account_key, throttle.client_key)


async def lift(session: AsyncSession, key: DataKey, email: str, staff_id: uuid.UUID | None) -> int:
    """End every throttle of an account at once; how many were delaying someone."""
    return await repository.lift(session, account_key(key, email), staff_id)
