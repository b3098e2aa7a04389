"""The appointment state machine, checked against a table written out here by hand.

The expected table is deliberately not derived from TRANSITIONS: adding, removing or
redirecting a transition must fail one of these tests until the table below agrees.
"""

from __future__ import annotations

from itertools import product

import pytest

from medbook.booking.states import Action, InvalidTransitionError, next_status
from medbook.kernel.statuses import ACTIVE_STATUSES, Status

ALL_STATUSES = {
    "held",
    "confirmed",
    "checked_in",
    "completed",
    "no_show",
    "cancelled",
    "expired",
    "released",
    "rescheduled",
    "blocked",
}
ALL_ACTIONS = {
    "confirm",
    "release",
    "expire",
    "cancel",
    "reschedule",
    "check_in",
    "no_show",
    "complete",
    "unblock",
    "reclaim",
}

# (from status, action) -> to status. Every pair not listed must be refused.
EXPECTED: dict[tuple[str, str], str] = {
    ("held", "confirm"): "confirmed",
    ("held", "release"): "released",
    ("held", "expire"): "expired",
    ("confirmed", "cancel"): "cancelled",
    ("confirmed", "reschedule"): "rescheduled",
    ("confirmed", "check_in"): "checked_in",
    ("confirmed", "no_show"): "no_show",
    ("checked_in", "complete"): "completed",
    ("blocked", "unblock"): "cancelled",
    # A payment that succeeded after its hold ended takes the time back (if free).
    ("expired", "reclaim"): "confirmed",
    ("released", "reclaim"): "confirmed",
}

EVERY_PAIR = [
    pytest.param(status, action, id=f"{status.value}-{action.value}")
    for status, action in product(Status, Action)
]


def test_the_statuses_and_actions_are_exactly_the_known_ones() -> None:
    assert {status.value for status in Status} == ALL_STATUSES
    assert {action.value for action in Action} == ALL_ACTIONS


@pytest.mark.parametrize(("status", "action"), EVERY_PAIR)
def test_each_status_and_action_is_either_allowed_to_its_target_or_refused(
    status: Status, action: Action
) -> None:
    expected = EXPECTED.get((status.value, action.value))

    if expected is None:
        with pytest.raises(InvalidTransitionError) as refused:
            next_status(status, action)
        assert refused.value.status is status
        assert refused.value.action is action
    else:
        assert next_status(status, action) == Status(expected)


def test_only_held_confirmed_checked_in_completed_and_blocked_rows_occupy_time() -> None:
    assert {status.value for status in ACTIVE_STATUSES} == {
        "held",
        "confirmed",
        "checked_in",
        "completed",
        "blocked",
    }


def test_a_refusal_says_in_words_what_cannot_be_done() -> None:
    with pytest.raises(InvalidTransitionError, match="cannot check in an appointment that is held"):
        next_status(Status.HELD, Action.CHECK_IN)
