"""Payment records: open one at the gateway, record what the gateway says, refund.

Nothing here knows about bookings: checkout/ decides what a payment means for one. Money only
moves at the gateway, and only with an idempotency key derived from our own record, so a retry
never charges or refunds twice. Refunds are recorded first and made after the commit: a refund
that fails to reach the gateway stays pending and is made again by reconciliation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.db import after_commit, transaction
from medbook.payments import repository
from medbook.payments.errors import (
    GatewayUnavailableError,
    NotRefundableError,
    PaymentMismatchError,
    RefundTooLargeError,
)
from medbook.payments.gateway import (
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    PaymentGateway,
    RefundRefusedError,
)
from medbook.payments.models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from medbook.payments.stripe_gateway import StripeGateway
from medbook.settings import Settings

log = logging.getLogger(__name__)


def idempotency_key(kind: str, record_id: uuid.UUID, *detail: str) -> str:
    """One key per money-moving act on one of our records: the same act retried reuses it."""
    return ":".join(("medbook", kind, str(record_id), *detail))


def unavailable(error: GatewayError, *, charging: bool = False) -> GatewayUnavailableError:
    """The 503 for a gateway that failed or did not answer in time. `charging`: the failed call
    may have charged the card, so the payer must not be told nothing was."""
    log.warning("payment gateway call failed: %s", error)
    if charging:
        return GatewayUnavailableError(
            "The payment service did not answer in time, so we cannot tell yet whether your "
            "card was charged. Check again in a moment, or pay again: a payment that went "
            "through counts once, and you will never be charged twice."
        )
    return GatewayUnavailableError(
        "The payment service is not answering right now. Nothing was charged; please try "
        "again in a moment."
    )


async def open_payment(
    session: AsyncSession,
    gateway: PaymentGateway,
    *,
    appointment_id: uuid.UUID,
    purpose: str,
    amount_cents: int,
    currency: str,
) -> tuple[Payment, GatewayPayment]:
    """A payment row and its twin at the gateway, waiting for a card. Moves no money."""
    payment = Payment(
        appointment_id=appointment_id,
        purpose=purpose,
        amount_cents=amount_cents,
        currency=currency,
        gateway=gateway.name,
        status=PaymentStatus.PENDING,
    )
    await repository.add(session, payment)
    try:
        made = await gateway.create_payment(
            amount_cents=amount_cents,
            currency=currency,
            payment_id=payment.id,
            idempotency_key=idempotency_key("payment", payment.id),
        )
    except GatewayError as error:
        raise unavailable(error) from error
    payment.gateway_reference = made.reference
    await repository.touch(session, payment)
    return payment, made


async def fresh_attempt(
    session: AsyncSession, gateway: PaymentGateway, payment: Payment
) -> GatewayPayment:
    """After a decline, another card goes on a fresh gateway payment: the declined one is given
    up at the gateway and kept here as a cancelled row (its reference and decline code stay in
    the audit trail), while the payer's payment keeps its id."""
    declined_reference = payment.gateway_reference
    assert declined_reference is not None
    try:
        given_up = await gateway.cancel(declined_reference)
    except GatewayError as error:
        raise unavailable(error) from error
    if given_up.status != PaymentStatus.CANCELLED:  # it went through after all, or is going
        raise PaymentMismatchError("The earlier attempt went through after all; reload the page.")
    history = Payment(
        appointment_id=payment.appointment_id,
        purpose=payment.purpose,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        gateway=payment.gateway,
        gateway_reference=declined_reference,
        status=PaymentStatus.CANCELLED,
        failure_code=payment.failure_code,
    )
    payment.gateway_reference = None
    await repository.touch(session, payment)
    await repository.add(session, history)
    try:
        made = await gateway.create_payment(
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            payment_id=payment.id,
            idempotency_key=idempotency_key("payment", payment.id, "after", str(history.id)),
        )
    except GatewayError as error:
        raise unavailable(error) from error
    payment.gateway_reference = made.reference
    payment.status = made.status
    payment.failure_code = None
    await repository.touch(session, payment)
    return made


async def record(
    session: AsyncSession, payment: Payment, seen: GatewayPayment, now: datetime
) -> bool:
    """Write what the gateway says of a (locked) payment; True when it has just succeeded.

    Success is final here: an older event arriving late cannot undo it, and a payment already
    succeeded is never "newly" succeeded again, so its consequences happen once.
    """
    if seen.reference != payment.gateway_reference:
        raise PaymentMismatchError("The gateway answered about another payment.")
    if seen.amount_cents != payment.amount_cents or seen.currency != payment.currency:
        log.error("payment %s: the gateway's amount differs from ours", payment.id)
        raise PaymentMismatchError(
            "The payment at the gateway is not for the amount asked; staff have been told."
        )
    if payment.status == PaymentStatus.SUCCEEDED:
        return False
    if payment.status == PaymentStatus.CANCELLED and seen.status != PaymentStatus.SUCCEEDED:
        return False
    failure_code = seen.failure_code if seen.status == PaymentStatus.FAILED else None
    if (payment.status, payment.failure_code) == (seen.status, failure_code):
        return False
    payment.status = seen.status
    payment.failure_code = failure_code
    if seen.status == PaymentStatus.SUCCEEDED:
        payment.succeeded_at = now
    await repository.touch(session, payment)
    return seen.status == PaymentStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class RefundRequest:
    amount_cents: int
    reason: RefundReason
    note: str = ""
    requested_by: uuid.UUID | None = None


async def request_refund(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    gateway: PaymentGateway,
    payment: Payment,
    wanted: RefundRequest,
) -> Refund:
    """Record a refund of a (locked) succeeded payment; it is made at the gateway once this
    transaction commits. Never more than was paid and not yet refunded."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise NotRefundableError("Only a payment that went through can be refunded.")
    refundable = payment.amount_cents - payment.refunded_cents
    if wanted.amount_cents <= 0 or wanted.amount_cents > refundable:
        raise RefundTooLargeError(
            f"At most {refundable} cents of this payment can still be refunded."
            if refundable
            else "This payment has been refunded in full already."
        )
    refund = Refund(
        payment_id=payment.id,
        amount_cents=wanted.amount_cents,
        reason=wanted.reason,
        note=wanted.note,
        requested_by=wanted.requested_by,
        status=RefundStatus.PENDING,
    )
    await repository.add(session, refund)
    payment.refunded_cents += wanted.amount_cents
    await repository.touch(session, payment)
    refund_id = refund.id

    async def make_it() -> None:
        with suppress(GatewayError):  # logged; it stays pending and reconciliation makes it
            await perform_refund(sessions, gateway, refund_id)

    after_commit(session, make_it)
    return refund


async def perform_refund(
    sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway, refund_id: uuid.UUID
) -> RefundStatus | None:
    """Make a pending refund at the gateway, or learn how it ended: once, since an earlier try
    that got through is found by our id in its metadata, and a refund made elsewhere (recorded
    with its reference) is only ever looked up. None when it is not pending or someone else is
    making it. GatewayError when the gateway could not be reached: the refund stays pending
    (its try is noted) and reconciliation makes it later."""
    unreachable: GatewayError | None = None
    async with transaction(sessions) as session:
        refund = await repository.claim_pending_refund(session, refund_id)
        if refund is None:
            return None
        payment = await repository.get_payment(session, refund.payment_id, for_update=True)
        assert payment is not None
        assert payment.gateway_reference is not None
        try:
            with gateway.time_budget():  # the payment's row is locked meanwhile
                made = await _make_refund(gateway, payment.gateway_reference, refund)
        except RefundRefusedError as error:
            log.error("refund %s refused by the gateway (%s): settle it by hand", refund.id, error)
            refund.status = RefundStatus.FAILED
            refund.failure_code = error.code[:64]
            payment.refunded_cents -= refund.amount_cents
            await repository.touch(session, refund)
            await repository.touch(session, payment)
            return RefundStatus.FAILED
        except GatewayError as error:
            log.warning("refund %s not made yet (%s); reconciliation retries it", refund.id, error)
            unreachable, made = error, None
        if made is not None:
            refund.gateway_reference = made.reference
            refund.status = made.status
        await repository.touch(session, refund)  # when it was last tried, if nothing else
    if unreachable is not None:
        raise unreachable
    return RefundStatus.PENDING if made is None else RefundStatus(made.status)


async def _make_refund(
    gateway: PaymentGateway, reference: str, refund: Refund
) -> GatewayRefund | None:
    """The refund at the gateway, made now unless an earlier try got through; None when it was
    made elsewhere yet is not listed (never made a second time: asked again next round)."""
    made = await _made_already(gateway, reference, refund)
    if made is None and refund.gateway_reference is not None:
        log.warning("refund %s not found at the gateway; checked again later", refund.id)
        return None
    return made or await gateway.refund(
        reference,
        refund.amount_cents,
        refund_id=refund.id,
        idempotency_key=idempotency_key("refund", refund.id),
    )


async def _made_already(
    gateway: PaymentGateway, reference: str, refund: Refund
) -> GatewayRefund | None:
    """The refund at the gateway, if it is there: ours by our id in its metadata (an earlier
    try got through), or one made elsewhere by the reference we recorded for it."""
    return next(
        (
            made
            for made in await gateway.refunds(reference)
            if made.refund_id == refund.id or made.reference == refund.gateway_reference
        ),
        None,
    )


async def refunds_made_elsewhere(
    session: AsyncSession, gateway: PaymentGateway, payment: Payment
) -> list[GatewayRefund]:
    """The gateway's refunds of this payment that are none of ours (by our id or its
    reference): made in its dashboard, say. Refused ones moved no money and are left out."""
    assert payment.gateway_reference is not None
    ours = await repository.refunds_of(session, [payment.id])
    our_ids = {refund.id for refund in ours}
    our_references = {refund.gateway_reference for refund in ours}
    return [
        refund
        for refund in await gateway.refunds(payment.gateway_reference)
        if refund.refund_id not in our_ids
        and refund.reference not in our_references
        and refund.status != RefundStatus.FAILED
    ]


async def record_made_elsewhere(
    session: AsyncSession, payment: Payment, refunds: Sequence[GatewayRefund]
) -> None:
    """Write down refunds of this (locked) payment that the gateway made without us."""
    if not refunds:
        return
    for refund in refunds:
        await repository.add(
            session,
            Refund(
                payment_id=payment.id,
                amount_cents=refund.amount_cents,
                reason=RefundReason.MADE_AT_GATEWAY,
                note="Made at the payment gateway, not through the booking system.",
                status=refund.status,
                gateway_reference=refund.reference,
            ),
        )
    refunded = payment.refunded_cents + sum(refund.amount_cents for refund in refunds)
    if refunded > payment.amount_cents:
        # Ours still pending plus theirs: the gateway cannot have refunded more than was paid.
        log.error("payment %s: refunds exceed the amount paid; check them by hand", payment.id)
    payment.refunded_cents = min(refunded, payment.amount_cents)
    await repository.touch(session, payment)


# What checkout reads of payments: it asks here, never the repository.


def is_unsettled(payment: Payment) -> bool:
    """Still open at the gateway: waiting for a card, for the bank's check, or for another
    card after a decline."""
    return payment.status in repository.UNSETTLED


async def get_payment(
    session: AsyncSession, payment_id: uuid.UUID, *, for_update: bool = False
) -> Payment | None:
    return await repository.get_payment(session, payment_id, for_update=for_update)


async def payment_status(session: AsyncSession, payment_id: uuid.UUID) -> str | None:
    """The payment's status as last committed, without locking or loading the row."""
    return await repository.payment_status(session, payment_id)


async def live_payment(
    session: AsyncSession, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Payment | None:
    """The booking's payment that is not cancelled (there is at most one)."""
    return await repository.live_payment(session, appointment_id, for_update=for_update)


async def payments_for_booking(
    session: AsyncSession, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Sequence[Payment]:
    """Every payment made for this booking, including for the times it was moved from."""
    return await repository.payments_for_booking(session, appointment_id, for_update=for_update)


async def payments_for_appointments_between(
    session: AsyncSession, clinic_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[Payment]:
    """Payments of the clinic's bookings that start in [start, end): the desk's day."""
    return await repository.payments_for_appointments_between(session, clinic_id, start, end)


async def refunds_of(session: AsyncSession, payment_ids: Sequence[uuid.UUID]) -> Sequence[Refund]:
    return await repository.refunds_of(session, payment_ids)


async def record_event(session: AsyncSession, gateway: str, event_id: str, event_type: str) -> bool:
    """Note a webhook event as seen; False when it was already (a redelivery or a replay)."""
    return await repository.record_event(session, gateway, event_id, event_type)


async def payment_by_reference(
    session: AsyncSession, gateway: str, reference: str, *, for_update: bool = False
) -> Payment | None:
    return await repository.payment_by_reference(session, gateway, reference, for_update=for_update)


async def link_event(
    session: AsyncSession, gateway: str, event_id: str, payment_id: uuid.UUID
) -> None:
    """Note which payment a webhook event was about."""
    await repository.link_event(session, gateway, event_id, payment_id)


@dataclass(frozen=True, slots=True)
class OpenRecords:
    """What reconciliation compares with the gateway, by id."""

    unsettled: Sequence[uuid.UUID]  # payments open at the gateway, untouched for a while
    paid_without_booking: Sequence[uuid.UUID]  # succeeded, yet neither confirmed nor refunded
    pending_refunds: Sequence[uuid.UUID]  # recorded, not yet made, untouched for a while
    recently_paid: Sequence[uuid.UUID]  # succeeded in the period asked for (else none)


async def open_records(
    session: AsyncSession, settled_after: timedelta, refunds_since: timedelta | None
) -> OpenRecords:
    """The records to compare with the gateway: those changed less than `settled_after` ago
    are left alone; with `refunds_since`, also each payment that went through in that time."""
    return OpenRecords(
        unsettled=await repository.unsettled_payment_ids(session, settled_after),
        paid_without_booking=await repository.paid_without_booking_ids(session),
        pending_refunds=await repository.pending_refund_ids(session, settled_after),
        recently_paid=(
            await repository.succeeded_payment_ids(session, refunds_since)
            if refunds_since is not None
            else []
        ),
    )


def configured_gateway(settings: Settings, outbound: httpx.AsyncClient) -> PaymentGateway:
    """The gateway the settings point at (Stripe; localstripe in tests and development), for
    the API and the operators' commands alike."""
    return StripeGateway(
        api_base=settings.payment_api_base,
        secret_key=settings.stripe_secret_key,
        publishable_key=settings.stripe_publishable_key,
        webhook_secret=settings.stripe_webhook_secret,
        js_url=settings.payment_js_url,
        http=outbound,
        timeout_seconds=settings.payment_gateway_timeout_seconds,
    )
