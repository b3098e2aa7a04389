"""Checkout: what a payment means for a booking, and what ending a booking means for its money.

The one place booking and payments meet: booking never imports payments, payments never
imports booking. The rule at the centre: money in means a confirmed booking or a refund, never
neither. A payment that succeeds confirms its hold in the same transaction; one that succeeds
after the hold ran out takes the time back if it is free, and is refunded in full if not.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from medbook.booking import service as booking
from medbook.booking.errors import AppointmentNotFoundError, HoldExpiredError
from medbook.booking.models import Appointment
from medbook.booking.service import AppointmentView, PaidOutcome
from medbook.booking.values import CheckoutDetails
from medbook.clinics import service as clinics
from medbook.db import transaction
from medbook.kernel.errors import ClinicNotFoundError, ConflictError, DomainError
from medbook.kernel.permissions import Actor, Permission, StaffPrincipal
from medbook.kernel.statuses import Status
from medbook.kernel.time import local_day_bounds
from medbook.payments import service as payments
from medbook.payments.errors import (
    AlreadyPaidError,
    GatewayUnavailableError,
    NoOnlinePaymentError,
    PaymentDeclinedProblem,
    PaymentMethodRefusedProblem,
    PaymentNotFoundError,
)
from medbook.payments.gateway import (
    GatewayError,
    GatewayPayment,
    PaymentDeclinedError,
    PaymentGateway,
    PaymentMethodRefusedError,
    WebhookEvent,
)
from medbook.payments.models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from medbook.payments.policy import cancellation_reason, refund_due
from medbook.payments.service import RefundRequest, idempotency_key

log = logging.getLogger(__name__)

# Stripe's events about refunds of a charge (charge.refunded, charge.refund.updated, refund.*).
REFUND_EVENTS = ("charge.refund", "refund.")


@dataclass(frozen=True, slots=True)
class Checkout:
    """A payment as its payer sees it, with what the browser needs to go on."""

    payment: Payment
    appointment: AppointmentView
    payment_secret: str | None = None  # finishes 3-D Secure in the gateway's own fields
    card_fields_secret: str | None = None  # a fresh card-fields session, while card is needed
    refunds: list[Refund] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Gateways:
    """What every money-moving call needs: the gateway, and sessions for after-commit work."""

    gateway: PaymentGateway
    sessions: async_sessionmaker[AsyncSession]


# Paying


async def start_payment(
    session: AsyncSession,
    peers: Gateways,
    actor: Actor,
    hold_id: uuid.UUID,
    details: CheckoutDetails,
) -> Checkout:
    """Open the payment for a live hold (or go on with the one already open)."""
    with peers.gateway.time_budget():  # the hold and its payment are locked meanwhile
        return await _start_payment(session, peers, actor, hold_id, details)


async def _start_payment(
    session: AsyncSession,
    peers: Gateways,
    actor: Actor,
    hold_id: uuid.UUID,
    details: CheckoutDetails,
) -> Checkout:
    # Payment rows before the booking's locks, as paying takes them (ADR 0010). The look-up
    # below, under the hold's lock, also finds a payment opened meanwhile.
    await payments.live_payment(session, hold_id, for_update=True)
    appointment, service = await booking.hold_for_checkout(session, hold_id, actor)
    if service.online_payment == "none":
        raise NoOnlinePaymentError(
            f"{service.name} is paid at the clinic: confirm the hold with "
            f"POST /api/v1/holds/{hold_id}/confirm."
        )
    # Saved now: the payment's success confirms the booking without another word.
    await booking.take_checkout_details(session, appointment, actor, details)
    payment = await payments.live_payment(session, appointment.id, for_update=True)
    if payment is None:
        deposit = service.online_payment == "deposit"
        payment, seen = await payments.open_payment(
            session,
            peers.gateway,
            appointment_id=appointment.id,
            purpose="deposit" if deposit else "full",
            amount_cents=service.deposit_cents if deposit else service.price_cents,
            currency=service.currency,
        )
    else:
        seen = await _fetch(peers.gateway, payment)
        await settle(session, peers, payment, seen)
        if payment.status == PaymentStatus.SUCCEEDED:
            raise AlreadyPaidError("This booking is paid already.")
    return await _checkout(session, peers.gateway, payment, seen)


async def pay(
    session: AsyncSession, peers: Gateways, actor: Actor, payment_id: uuid.UUID, method: str
) -> Checkout:
    """Charge the card the gateway's fields tokenised as `method`, while the hold lives.

    Safe to retry whatever became of an earlier try (its answer lost, or the process killed
    between the gateway's charge and our commit): the gateway is asked first, and a payment it
    has charged, or whose card (this one) waits for the bank's check, is taken as it stands,
    never charged again. All gateway calls share one time budget, below the database's lock_timeout, so the
    return page waiting for this payment's row is answered, never told `busy`."""
    with peers.gateway.time_budget():
        fresh: GatewayPayment | None = None
        if await payments.payment_status(session, payment_id) == PaymentStatus.FAILED:
            fresh = await _next_attempt(peers, actor, payment_id)
        payment = await _payment_for(session, actor, payment_id, to_book=True)
        if payment.status == PaymentStatus.CANCELLED:
            raise ConflictError("This payment was given up; start again.", code="payment_cancelled")
        seen: GatewayPayment | None = None
        if payment.status != PaymentStatus.SUCCEEDED:
            if fresh is not None and fresh.reference == payment.gateway_reference:
                seen = fresh  # made a moment ago, waiting for this card
            else:
                seen = await _fetch(peers.gateway, payment, charging=True)
                await settle(session, peers, payment, seen)
        if payment.status == PaymentStatus.SUCCEEDED or (
            # This very card waits for the bank's check: finish that, never charge it afresh.
            # (Another card may replace one stuck there, as before.)
            payment.status == PaymentStatus.REQUIRES_ACTION
            and seen is not None
            and seen.payment_method == method
        ):
            return await _checkout(session, peers.gateway, payment, seen)
        appointment, now = await booking.view_appointment(session, payment.appointment_id, actor)
        if booking.current_status(appointment, now) is not Status.HELD:
            raise HoldExpiredError(
                "Your hold on this time ran out before the payment, and nothing was charged. "
                "Please pick a time again."
            )
        if payment.status == PaymentStatus.FAILED:
            # Declined at the gateway after our last word (its answer never reached us): the
            # decline is recorded, and the next card goes on a fresh payment.
            assert seen is not None
            raise _declined(seen, appointment)
        return await _charge(session, peers, payment, method, appointment, now)


async def _next_attempt(
    peers: Gateways, actor: Actor, payment_id: uuid.UUID
) -> GatewayPayment | None:
    """After a decline, the next card goes on a fresh gateway payment. Its reference is
    committed before that card is charged, so a charge whose answer is lost (the process
    killed before our commit) is still found by the retry, and never made twice."""
    async with transaction(peers.sessions) as session:
        payment = await _payment_for(session, actor, payment_id, to_book=True)
        if payment.status != PaymentStatus.FAILED:
            return None  # another request got there first
        appointment, now = await booking.view_appointment(session, payment.appointment_id, actor)
        if booking.current_status(appointment, now) is not Status.HELD:
            return None  # the caller says the hold ran out
        return await payments.fresh_attempt(session, peers.gateway, payment)


async def _charge(
    session: AsyncSession,
    peers: Gateways,
    payment: Payment,
    method: str,
    appointment: Appointment,
    now: datetime,
) -> Checkout:
    assert payment.gateway_reference is not None
    try:
        seen = await peers.gateway.pay(
            payment.gateway_reference,
            method,
            # Per PaymentIntent too: a token sent again after a decline goes on a fresh one,
            # and Stripe refuses a key reused for another request.
            idempotency_key=idempotency_key(
                "payment", payment.id, "pay", payment.gateway_reference, method
            ),
        )
    except PaymentDeclinedError as declined:
        await payments.record(session, payment, declined.payment, now)
        raise _declined(declined.payment, appointment) from declined
    except PaymentMethodRefusedError as refused:
        log.info("payment %s: the gateway refused the card token (%s)", payment.id, refused.code)
        raise PaymentMethodRefusedProblem(
            "The payment service does not accept this card token: it may have expired, or come "
            "from another page. Nothing was charged; please enter your card again."
        ) from refused
    except GatewayError as error:
        raise payments.unavailable(error, charging=True) from error
    await settle(session, peers, payment, seen)
    return await _checkout(session, peers.gateway, payment, seen)


def _declined(declined: GatewayPayment, appointment: Appointment) -> PaymentDeclinedProblem:
    reason = declined.failure_message or "your card was declined"
    until = appointment.hold_expires_at
    return PaymentDeclinedProblem(
        f"The payment did not go through ({reason.rstrip('.')}). Nothing was charged. "
        + (
            f"You can try another card until {until.isoformat(timespec='seconds')}."
            if until
            else "You can try another card."
        )
    )


async def payment_status(
    session: AsyncSession, peers: Gateways, actor: Actor, payment_id: uuid.UUID
) -> Checkout:
    """The payer's return page: asks the gateway itself while the payment is open, so a lost
    webhook never leaves a paid booking unconfirmed."""
    with peers.gateway.time_budget():  # the payment's row is locked meanwhile
        payment = await _payment_for(session, actor, payment_id)
        seen: GatewayPayment | None = None
        if payments.is_unsettled(payment) and payment.gateway_reference is not None:
            try:
                seen = await peers.gateway.fetch(payment.gateway_reference)
            except GatewayError as error:
                log.warning("return page: gateway unreachable (%s); showing what we know", error)
            else:
                await settle(session, peers, payment, seen)
        return await _checkout(session, peers.gateway, payment, seen)


async def settle(
    session: AsyncSession, peers: Gateways, payment: Payment, seen: GatewayPayment
) -> PaidOutcome | None:
    """Record what the gateway says of a (locked) payment; if it has just succeeded, honour it."""
    now = await booking.database_now(session)
    if not await payments.record(session, payment, seen, now):
        return None
    return await honour(session, peers, payment)


async def honour(session: AsyncSession, peers: Gateways, payment: Payment) -> PaidOutcome:
    """A succeeded payment: confirm its booking, or refund it in full if the booking cannot be."""
    outcome = await booking.confirm_paid(session, payment.appointment_id)
    if outcome in (PaidOutcome.SLOT_TAKEN, PaidOutcome.NOT_NEEDED):
        reason = (
            RefundReason.SLOT_TAKEN
            if outcome is PaidOutcome.SLOT_TAKEN
            else RefundReason.NOT_NEEDED
        )
        refundable = payment.amount_cents - payment.refunded_cents
        if refundable > 0:
            await payments.request_refund(
                session, peers.sessions, peers.gateway, payment, RefundRequest(refundable, reason)
            )
        log.info("payment %s succeeded too late (%s): refunded in full", payment.id, outcome)
    return outcome


async def handle_webhook(
    session: AsyncSession, peers: Gateways, payload: bytes, signature: str | None
) -> str:
    """A gateway event, verified and taken once. The event only says "look": the payment's
    state is asked of the gateway, so events arriving late or out of order change nothing."""
    event = peers.gateway.verify_webhook(payload, signature)
    with peers.gateway.time_budget():  # the payment's row is locked meanwhile
        return await _handle_event(session, peers, event)


async def _handle_event(session: AsyncSession, peers: Gateways, event: WebhookEvent) -> str:
    if not await payments.record_event(session, peers.gateway.name, event.id, event.type):
        return "duplicate"
    if event.payment_reference is None:
        return "ignored"  # not about a payment
    payment = await payments.payment_by_reference(
        session, peers.gateway.name, event.payment_reference, for_update=True
    )
    if payment is None:
        return "ignored"  # not one of ours
    await payments.link_event(session, peers.gateway.name, event.id, payment.id)
    if payments.is_unsettled(payment) or payment.status == PaymentStatus.CANCELLED:
        # The gateway is asked again, so a failure here is retried by its redelivery.
        await settle(session, peers, payment, await _fetch(peers.gateway, payment))
    elif payment.status == PaymentStatus.SUCCEEDED and event.type.startswith(REFUND_EVENTS):
        # A refund made in the gateway's dashboard is told of by its events (charge.refunded).
        try:
            missing = await payments.refunds_made_elsewhere(session, peers.gateway, payment)
        except GatewayError as error:
            raise payments.unavailable(error) from error
        await payments.record_made_elsewhere(session, payment, missing)
    return "processed"


# Ending a booking


@dataclass(frozen=True, slots=True)
class CancellationQuote:
    appointment: Appointment
    late: bool
    paid_cents: int  # paid and not refunded yet
    refund_cents: int
    currency: str | None


async def cancellation_quote(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID
) -> CancellationQuote:
    """What cancelling now would refund, shown before the patient decides."""
    terms = await booking.cancellation_terms(session, appointment_id, actor)
    reason = cancellation_reason(by_staff=actor.is_staff, late=terms.late)
    deposit = terms.service.deposit_cents if terms.service else 0
    found = await payments.payments_for_booking(session, appointment_id)
    plan = _refund_plan(found, deposit, reason)
    paid = sum(p.amount_cents - p.refunded_cents for p in found if _succeeded(p))
    currency = next((p.currency for p in found if _succeeded(p)), None)
    return CancellationQuote(
        terms.appointment, terms.late, paid, sum(due for _, due in plan), currency
    )


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A booking ended by the clinic or its patient, and the refunds that started."""

    appointment: AppointmentView
    refunds: list[Refund]


async def cancel(
    session: AsyncSession, peers: Gateways, actor: Actor, appointment_id: uuid.UUID, note: str
) -> Cancelled:
    """Cancel, and refund what the policy says: all of it before the window or when the clinic
    cancels, all but the deposit after it."""
    await _lock_payments(session, appointment_id)
    terms = await booking.cancel_appointment(session, appointment_id, actor, note)
    reason = cancellation_reason(by_staff=actor.is_staff, late=terms.late)
    deposit = terms.service.deposit_cents if terms.service else 0
    refunds = await _refund_per_policy(session, peers, appointment_id, deposit, reason)
    return Cancelled(await booking.appointment_view(session, terms.appointment), refunds)


async def no_show(
    session: AsyncSession, peers: Gateways, staff: StaffPrincipal, appointment_id: uuid.UUID
) -> Cancelled:
    """Mark a no-show; a full payment is refunded but for the deposit."""
    await _lock_payments(session, appointment_id)
    appointment = await booking.mark_no_show(session, staff, appointment_id)
    service = (
        await clinics.get_service(session, appointment.service_id)
        if appointment.service_id
        else None
    )
    deposit = service.deposit_cents if service else 0
    refunds = await _refund_per_policy(
        session, peers, appointment_id, deposit, RefundReason.NO_SHOW
    )
    return Cancelled(await booking.appointment_view(session, appointment), refunds)


async def staff_refund(
    session: AsyncSession,
    peers: Gateways,
    staff: StaffPrincipal,
    payment_id: uuid.UUID,
    amount_cents: int,
    note: str,
) -> tuple[Refund, Appointment]:
    """A refund staff choose to make (all or part), with the reason they give: by a manager of
    the clinic the booking is at now (a reschedule may have moved it from the clinic it was
    paid at; its payment stays with the row it was made for)."""
    payment = await payments.get_payment(session, payment_id, for_update=True)
    appointment = None
    if payment is not None:
        with contextlib.suppress(AppointmentNotFoundError):
            appointment, _ = await booking.view_booking_now(
                session, payment.appointment_id, Actor(staff=staff)
            )
    if payment is None or appointment is None:
        raise PaymentNotFoundError(f"There is no payment {payment_id} you can access.")
    staff.require(Permission.REFUND, appointment.clinic_id)
    refund = await payments.request_refund(
        session,
        peers.sessions,
        peers.gateway,
        payment,
        RefundRequest(amount_cents, RefundReason.STAFF, note, staff.staff_id),
    )
    return refund, appointment


async def payment_history(
    session: AsyncSession, actor: Actor, appointment_id: uuid.UUID
) -> tuple[ZoneInfo, list[tuple[Payment, list[Refund]]]]:
    """A booking's payments and refunds (the patient's receipts, the desk's audit trail), and
    its clinic's timezone to show them in."""
    appointment, _ = await booking.view_appointment(session, appointment_id, actor)
    found = await payments.payments_for_booking(session, appointment_id)
    refunds = await payments.refunds_of(session, [p.id for p in found])
    tz = ZoneInfo(appointment.clinic.timezone)  # joined by view_appointment
    return tz, [(p, [r for r in refunds if r.payment_id == p.id]) for p in found]


async def clinic_day_payments(
    session: AsyncSession, staff: StaffPrincipal, clinic_id: uuid.UUID, day: date
) -> tuple[ZoneInfo, list[tuple[Payment, list[Refund]]]]:
    """Every payment of the bookings on a clinic's day, for the desk's payment column."""
    staff.require(Permission.VIEW_SCHEDULE, clinic_id)
    clinic = await clinics.get_clinic(session, clinic_id)
    if clinic is None:
        raise ClinicNotFoundError(f"There is no clinic {clinic_id}.")
    tz = ZoneInfo(clinic.timezone)
    start, end = local_day_bounds(tz, day, day)
    found = await payments.payments_for_appointments_between(session, clinic_id, start, end)
    refunds = await payments.refunds_of(session, [p.id for p in found])
    return tz, [(p, [r for r in refunds if r.payment_id == p.id]) for p in found]


# Reconciliation

# Past this many gateway failures in a row, the rest of a round is listed as not checked
# without asking: a gateway that is down is not asked once per open payment.
GATEWAY_FAILURES_BEFORE_GIVING_UP = 3


@dataclass(frozen=True, slots=True)
class Mismatch:
    subject: str  # "payment <id>" or "refund <id>"
    ours: str
    theirs: str
    action: str  # what fixing it does (or did)
    fixed: bool


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A record reconciliation could not compare with the gateway: nothing can be said of it."""

    subject: str  # "payment <id>" or "refund <id>"
    reason: str  # why, in words safe for a log: no personal data


@dataclass(slots=True)
class Reconciliation:
    mismatches: list[Mismatch] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Everything was checked, and every mismatch found is fixed."""
        return not self.unchecked and all(mismatch.fixed for mismatch in self.mismatches)


async def reconcile(
    peers: Gateways,
    *,
    fix: bool,
    settled_after: timedelta,
    abandon_after: timedelta,
    refunds_since: timedelta | None = None,
) -> Reconciliation:
    """Compare our open records with the gateway and, with `fix`, put them right: payments the
    gateway took but we never heard of, paid bookings left unconfirmed, refunds not yet made,
    and payments abandoned long ago (given up at the gateway, so they can never charge).

    With `refunds_since`, also each payment that went through in that time: refunds made at
    the gateway without us (its dashboard) are recorded. That asks the gateway once per
    payment, so it is for an operator's run, not the background job.

    A record that cannot be checked (the gateway unreachable or too slow) is listed as
    unchecked, never passed over in silence; the others are still checked."""
    async with transaction(peers.sessions) as session:
        records = await payments.open_records(session, settled_after, refunds_since)
    checks: list[tuple[str, Callable[[], Awaitable[list[Mismatch]]]]] = [
        *(
            (f"payment {i}", partial(_reconcile_open, peers, i, fix, abandon_after))
            for i in records.unsettled
        ),
        *(
            (f"payment {i}", partial(_reconcile_stranded, peers, i, fix))
            for i in records.paid_without_booking
        ),
        *(
            (f"refund {i}", partial(_reconcile_refund, peers, i, fix))
            for i in records.pending_refunds
        ),
        *(
            (f"payment {i}", partial(_reconcile_refunds, peers, i, fix))
            for i in records.recently_paid
        ),
    ]
    result = Reconciliation()
    failures_in_a_row = 0
    for subject, check in checks:
        if failures_in_a_row >= GATEWAY_FAILURES_BEFORE_GIVING_UP:
            result.unchecked.append(
                Unchecked(subject, "not asked: the payment gateway failed repeatedly")
            )
            continue
        try:
            result.mismatches += await check()
        except (GatewayError, GatewayUnavailableError) as error:
            failures_in_a_row += 1
            cause = error.__cause__ or error  # the gateway's own failure, not our 503's words
            log.warning(
                "reconcile: %s not checked: the gateway did not answer (%s)", subject, cause
            )
            result.unchecked.append(Unchecked(subject, "the payment gateway did not answer"))
        except DomainError as error:  # a rule said no (busy, amount differs): a person looks
            log.warning("reconcile: %s not checked: %s", subject, error.code)
            result.unchecked.append(Unchecked(subject, f"refused: {error.code}"))
        except Exception as error:
            log.exception("reconcile: %s not checked", subject)
            result.unchecked.append(Unchecked(subject, f"failed: {type(error).__name__}"))
        else:
            failures_in_a_row = 0
    return result


async def _reconcile_refund(peers: Gateways, refund_id: uuid.UUID, fix: bool) -> list[Mismatch]:
    subject = f"refund {refund_id}"
    if not fix:
        return [Mismatch(subject, "pending", "not made", "make the refund", False)]
    done = await payments.perform_refund(peers.sessions, peers.gateway, refund_id)
    if done is None:
        return []  # made meanwhile, or being made by another process right now
    # Refused for good: staff settle it by hand (logged at ERROR), so it is not fixed.
    return [
        Mismatch(subject, "pending", "not made", "make the refund", done != RefundStatus.FAILED)
    ]


async def _reconcile_refunds(peers: Gateways, payment_id: uuid.UUID, fix: bool) -> list[Mismatch]:
    async with transaction(peers.sessions) as session:
        payment = await payments.get_payment(session, payment_id, for_update=True)
        if payment is None or payment.status != PaymentStatus.SUCCEEDED:
            return []
        with peers.gateway.time_budget():  # the payment's row is locked meanwhile
            missing = await payments.refunds_made_elsewhere(session, peers.gateway, payment)
        found = [
            Mismatch(
                f"payment {payment.id}",
                f"{payment.refunded_cents} cents refunded",
                f"refund {refund.reference} of {refund.amount_cents} cents",
                "record the gateway's refund",
                fix,
            )
            for refund in missing
        ]
        if fix:
            await payments.record_made_elsewhere(session, payment, missing)
        return found


async def _reconcile_open(
    peers: Gateways, payment_id: uuid.UUID, fix: bool, abandon_after: timedelta
) -> list[Mismatch]:
    async with transaction(peers.sessions) as session:
        payment = await payments.get_payment(session, payment_id, for_update=True)
        if payment is None or not payments.is_unsettled(payment):
            return []
        with peers.gateway.time_budget():  # the payment's row is locked meanwhile
            return await _compare_open(session, peers, payment, fix, abandon_after)


async def _compare_open(
    session: AsyncSession,
    peers: Gateways,
    payment: Payment,
    fix: bool,
    abandon_after: timedelta,
) -> list[Mismatch]:
    seen = await _fetch(peers.gateway, payment)
    subject = f"payment {payment.id}"
    if seen.status != payment.status:
        ours = payment.status
        if fix:
            await settle(session, peers, payment, seen)
        return [Mismatch(subject, ours, seen.status, "record the gateway's", fix)]
    booked = await booking.appointment_of_payment(session, payment.appointment_id)
    stale = booked.now - payment.updated_at > abandon_after
    if not stale or booked.status is Status.HELD:
        return []
    ours = payment.status
    if fix:
        assert payment.gateway_reference is not None
        try:
            given_up = await peers.gateway.cancel(payment.gateway_reference)
        except GatewayError as error:
            raise payments.unavailable(error) from error
        # Should it have gone through meanwhile, it is honoured like any late payment.
        await settle(session, peers, payment, given_up)
    return [Mismatch(subject, ours, seen.status, "give up the payment", fix)]


async def _reconcile_stranded(peers: Gateways, payment_id: uuid.UUID, fix: bool) -> list[Mismatch]:
    async with transaction(peers.sessions) as session:
        payment = await payments.get_payment(session, payment_id, for_update=True)
        if payment is None or payment.status != PaymentStatus.SUCCEEDED:
            return []
        outcome = await honour(session, peers, payment) if fix else None
        action = f"confirm or refund ({outcome})" if outcome else "confirm or refund"
        return [
            Mismatch(
                f"payment {payment.id}", "paid, booking not confirmed", "succeeded", action, fix
            )
        ]


# Helpers


async def _payment_for(
    session: AsyncSession, actor: Actor, payment_id: uuid.UUID, *, to_book: bool = False
) -> Payment:
    """The payment, locked, if the actor may see its booking; the same 404 otherwise."""
    payment = await payments.get_payment(session, payment_id, for_update=True)
    if payment is not None:
        try:
            await booking.view_appointment(session, payment.appointment_id, actor, to_book=to_book)
        except AppointmentNotFoundError:
            payment = None
    if payment is None:
        raise PaymentNotFoundError(f"There is no payment {payment_id} you can access.")
    return payment


async def _fetch(
    gateway: PaymentGateway, payment: Payment, *, charging: bool = False
) -> GatewayPayment:
    assert payment.gateway_reference is not None
    try:
        return await gateway.fetch(payment.gateway_reference)
    except GatewayError as error:
        raise payments.unavailable(error, charging=charging) from error


async def _checkout(
    session: AsyncSession,
    gateway: PaymentGateway,
    payment: Payment,
    seen: GatewayPayment | None = None,
) -> Checkout:
    booked = await booking.appointment_of_payment(session, payment.appointment_id)
    refunds = list(await payments.refunds_of(session, [payment.id]))
    payable = (
        payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED)
        and booked.status is Status.HELD
    )
    card_fields = None
    if payable:
        try:
            card_fields = await gateway.card_fields(
                idempotency_key=idempotency_key("card-fields", payment.id, uuid.uuid4().hex)
            )
        except GatewayError as error:
            raise payments.unavailable(error) from error
    secret = seen.client_secret if seen is not None and payments.is_unsettled(payment) else None
    return Checkout(payment, booked, secret, card_fields, refunds)


def _succeeded(payment: Payment) -> bool:
    return payment.status == PaymentStatus.SUCCEEDED


def _refund_plan(
    found: Sequence[Payment], deposit: int, reason: RefundReason
) -> list[tuple[Payment, int]]:
    """How much of each succeeded payment goes back; the deposit is kept once, not per payment."""
    plan: list[tuple[Payment, int]] = []
    keep = deposit
    for payment in found:
        if not _succeeded(payment):
            continue
        refundable = payment.amount_cents - payment.refunded_cents
        due = refund_due(refundable, keep, reason)
        keep = max(0, keep - (refundable - due))
        if due > 0:
            plan.append((payment, due))
    return plan


async def _lock_payments(session: AsyncSession, appointment_id: uuid.UUID) -> None:
    """A booking's payments are locked before its booking locks, as paying takes them (ADR
    0010); _refund_per_policy then reads the same rows, already ours."""
    await payments.payments_for_booking(session, appointment_id, for_update=True)


async def _refund_per_policy(
    session: AsyncSession,
    peers: Gateways,
    appointment_id: uuid.UUID,
    deposit: int,
    reason: RefundReason,
) -> list[Refund]:
    found = await payments.payments_for_booking(session, appointment_id, for_update=True)
    return [
        await payments.request_refund(
            session, peers.sessions, peers.gateway, payment, RefundRequest(due, reason)
        )
        for payment, due in _refund_plan(found, deposit, reason)
    ]
