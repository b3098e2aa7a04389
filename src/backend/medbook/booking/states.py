"""The appointment state machine: which action moves which status where. Pure, no I/O."""

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


class Action(StrEnum):
    CONFIRM = "confirm"
    RELEASE = "release"
    EXPIRE = "expire"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    CHECK_IN = "check_in"
    NO_SHOW = "no_show"
    COMPLETE = "complete"
    UNBLOCK = "unblock"
    # A payment that succeeded after its hold ran out (or was released) takes the time back,
    # if the time is still free: the exclusion constraints decide.
    RECLAIM = "reclaim"


# Rows in these statuses occupy their time: the exclusion constraints cover exactly these.
# A held row past its expiry still counts until it is marked expired, which every hold attempt
# does first for the rows it overlaps.
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.HELD, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.BLOCKED}
)

TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.HELD, Action.CONFIRM): Status.CONFIRMED,
    (Status.HELD, Action.RELEASE): Status.RELEASED,
    (Status.HELD, Action.EXPIRE): Status.EXPIRED,
    (Status.EXPIRED, Action.RECLAIM): Status.CONFIRMED,
    (Status.RELEASED, Action.RECLAIM): Status.CONFIRMED,
    (Status.CONFIRMED, Action.CANCEL): Status.CANCELLED,
    (Status.CONFIRMED, Action.RESCHEDULE): Status.RESCHEDULED,
    (Status.CONFIRMED, Action.CHECK_IN): Status.CHECKED_IN,
    (Status.CONFIRMED, Action.NO_SHOW): Status.NO_SHOW,
    (Status.CHECKED_IN, Action.COMPLETE): Status.COMPLETED,
    (Status.BLOCKED, Action.UNBLOCK): Status.CANCELLED,
}


class InvalidTransitionError(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        super().__init__(
            f"cannot {action.value.replace('_', ' ')} an appointment that is {status.value}"
        )
        self.status = status
        self.action = action


def next_status(status: Status, action: Action) -> Status:
    """The status `action` leads to from `status`, or InvalidTransitionError."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransitionError(status, action) from None


def active_statuses_sql() -> str:
    """The ACTIVE_STATUSES as an SQL list, for the exclusion constraints' WHERE clause."""
    return ", ".join(f"'{status.value}'" for status in sorted(ACTIVE_STATUSES))
