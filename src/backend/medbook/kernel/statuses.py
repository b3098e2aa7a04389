"""Where an appointment stands. Every domain reads these; only booking moves an appointment
from one to another (booking/states.py holds the transitions)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    HELD = "held"  # a checkout hold: lives until hold_expires_at (database clock)
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # a hold whose 300 s ran out
    RELEASED = "released"  # a hold given back early by its holder
    RESCHEDULED = "rescheduled"  # replaced by the appointment that points back at it
    BLOCKED = "blocked"  # staff-blocked time (kind = block)


# Rows in these statuses occupy their time: the exclusion constraints cover exactly these.
# A held row past its expiry still counts until it is marked expired, which every hold attempt
# does first for the rows it overlaps.
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.HELD, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.BLOCKED}
)


def active_statuses_sql() -> str:
    """The ACTIVE_STATUSES as an SQL list, for the exclusion constraints' WHERE clause."""
    return ", ".join(f"'{status.value}'" for status in sorted(ACTIVE_STATUSES))
