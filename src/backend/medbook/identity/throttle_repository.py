"""SQL for sign-in throttles: one row per (email, client address), or (email, every address)
for authenticator codes. Every time is the database's now(), whichever API process asks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Insert or touch the row, and so lock it to the end of the transaction: attempts at the same
# email from the same address take turns, so a burst sent at once cannot all be checked before
# the first failure is counted. Answers how long the current delay still runs.
_CLAIM = text(
    """
    INSERT INTO staff_sign_in_throttles (account_key, client_key, staff_id)
    VALUES (:account_key, :client_key, :staff_id)
    ON CONFLICT ON CONSTRAINT one_throttle_per_address DO UPDATE
        SET staff_id = COALESCE(EXCLUDED.staff_id, staff_sign_in_throttles.staff_id),
            updated_at = now()
    RETURNING COALESCE(GREATEST(0, ceil(extract(epoch FROM blocked_until - now()))), 0)
        AS blocked_seconds
    """
)

# A failure long after the one before starts the count again: the delays are for a run of
# guesses, not a lifetime's typos.
_COUNT_FAILURE = text(
    """
    UPDATE staff_sign_in_throttles SET
        failures = CASE WHEN last_failure_at IS NULL
                          OR last_failure_at < now() - make_interval(hours => :forget_hours)
                        THEN 1 ELSE failures + 1 END,
        last_failure_at = now(),
        updated_at = now()
    WHERE account_key = :account_key AND client_key IS NOT DISTINCT FROM :client_key
    RETURNING failures
    """
)

_BLOCK = text(
    """
    UPDATE staff_sign_in_throttles
    SET blocked_until = now() + make_interval(secs => :seconds)
    WHERE account_key = :account_key AND client_key IS NOT DISTINCT FROM :client_key
    """
)


async def claim(
    session: AsyncSession, account_key: bytes, client_key: bytes | None, staff_id: uuid.UUID | None
) -> int:
    """Lock this throttle (creating it if new); the seconds its delay still runs (0: none)."""
    row = (
        await session.execute(
            _CLAIM, {"account_key": account_key, "client_key": client_key, "staff_id": staff_id}
        )
    ).one()
    return int(row.blocked_seconds)


async def count_failure(
    session: AsyncSession, account_key: bytes, client_key: bytes | None, *, forget_hours: int
) -> int:
    """Count one failure on a claimed throttle; the failures in the current run."""
    failures: int = (
        await session.execute(
            _COUNT_FAILURE,
            {"account_key": account_key, "client_key": client_key, "forget_hours": forget_hours},
        )
    ).scalar_one()
    return failures


async def block(
    session: AsyncSession, account_key: bytes, client_key: bytes | None, seconds: int
) -> None:
    await session.execute(
        _BLOCK, {"account_key": account_key, "client_key": client_key, "seconds": seconds}
    )


async def forget(session: AsyncSession, account_key: bytes, client_key: bytes) -> None:
    """The person at this address has signed in: their earlier mistakes there are forgiven."""
    await session.execute(
        text(
            "DELETE FROM staff_sign_in_throttles "
            "WHERE account_key = :account_key AND client_key = :client_key"
        ),
        {"account_key": account_key, "client_key": client_key},
    )


async def lift(session: AsyncSession, account_key: bytes, staff_id: uuid.UUID | None) -> int:
    """Remove every throttle of an account, from every address; how many were delaying."""
    result = await session.execute(
        text(
            """
            DELETE FROM staff_sign_in_throttles
            WHERE account_key = :account_key OR staff_id = :staff_id
            RETURNING blocked_until > now() AS blocking
            """
        ),
        {"account_key": account_key, "staff_id": staff_id},
    )
    return sum(1 for row in result.all() if row.blocking)


async def delayed_until(
    session: AsyncSession, staff_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """For each of these accounts being delayed from some address now: until when the last
    of those delays runs."""
    if not staff_ids:
        return {}
    result = await session.execute(
        text(
            """
            SELECT staff_id, max(blocked_until) AS until
            FROM staff_sign_in_throttles
            WHERE staff_id = ANY(:staff_ids) AND blocked_until > now()
            GROUP BY staff_id
            """
        ),
        {"staff_ids": list(staff_ids)},
    )
    return {row.staff_id: row.until for row in result.all()}


async def prune(session: AsyncSession, *, forget_hours: int) -> int:
    """Remove throttles untouched for the forget period whose delay is over."""
    result = await session.execute(
        text(
            """
            DELETE FROM staff_sign_in_throttles
            WHERE updated_at < now() - make_interval(hours => :forget_hours)
              AND (blocked_until IS NULL OR blocked_until < now())
            """
        ),
        {"forget_hours": forget_hours},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
