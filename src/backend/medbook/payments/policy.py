"""How much of a payment goes back, by why the booking ended. Pure: no I/O.

Before the cancellation window, or when the clinic cancels, everything paid goes back. A late
cancellation or a no-show keeps the service's deposit (never more than was paid) and returns
the rest: with a deposit-only payment, nothing.
"""

from __future__ import annotations

from medbook.payments.models import RefundReason

KEEPS_DEPOSIT = frozenset({RefundReason.LATE_CANCELLATION, RefundReason.NO_SHOW})


def refund_due(refundable_cents: int, deposit_cents: int, reason: RefundReason) -> int:
    """Cents to refund out of `refundable_cents` (paid and not yet refunded)."""
    if refundable_cents <= 0:
        return 0
    if reason in KEEPS_DEPOSIT:
        return max(0, refundable_cents - deposit_cents)
    return refundable_cents


def cancellation_reason(*, by_staff: bool, late: bool) -> RefundReason:
    if by_staff:
        return RefundReason.CLINIC_CANCELLED
    return RefundReason.LATE_CANCELLATION if late else RefundReason.PATIENT_CANCELLED
