"""The appointment state machine: which action moves which status where. Pure, no I/O."""

from __future__ import annotations

from enum import StrEnum

from medbook.kernel.statuses import Status


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
