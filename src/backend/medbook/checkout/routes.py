"""Payment and cancellation HTTP API: pay for a hold, the return page, the gateway's webhook,
receipts, cancelling with the refund the policy gives, and refunds by staff."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, status

from medbook.booking.schemas import AppointmentOut, BookingDay, CancelIn
from medbook.checkout import service
from medbook.checkout.schemas import (
    CancellationQuoteOut,
    CancelledOut,
    CheckoutIn,
    CheckoutOut,
    GatewayFieldsOut,
    PayIn,
    PaymentOut,
    RefundOut,
    StaffRefundIn,
    WebhookOut,
)
from medbook.checkout.service import Cancelled, Checkout, Gateways
from medbook.deps import DbSession
from medbook.errors import PROBLEM_RESPONSES
from medbook.identity.dependencies import BookingActor, StaffMember
from medbook.kernel.errors import DomainError
from medbook.kernel.permissions import Actor
from medbook.kernel.statuses import Status
from medbook.payments.gateway import WebhookRefusedError
from medbook.payments.models import PaymentStatus, RefundReason

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=PROBLEM_RESPONSES)
staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=PROBLEM_RESPONSES)


async def gateways(request: Request) -> Gateways:
    return Gateways(request.app.state.gateway, request.app.state.sessions)


Peers = Annotated[Gateways, Depends(gateways)]


def money(cents: int, currency: str) -> str:
    return f"{currency} {cents / 100:,.2f}"


def describe(checkout: Checkout, appointment_status: Status) -> str:
    """What the payer reads on the page, for each state the payment can be in."""
    payment = checkout.payment
    amount = money(payment.amount_cents, payment.currency)
    slot_taken = any(r.reason == RefundReason.SLOT_TAKEN for r in checkout.refunds)
    if payment.status == PaymentStatus.SUCCEEDED and slot_taken:
        return (
            f"Your payment of {amount} arrived after your hold ran out, and the time had been "
            f"booked by someone else by then. We are refunding {amount} in full to your card. "
            "Please pick another time."
        )
    if payment.status == PaymentStatus.SUCCEEDED:
        if appointment_status in (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED):
            return f"Paid {amount}. Your appointment is confirmed."
        return f"Paid {amount}."
    if appointment_status is not Status.HELD:
        return (
            "Your hold on this time ran out before the payment went through, and nothing was "
            "charged. Please pick a time again."
        )
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        return "Your bank wants to check it is you: follow its steps in the payment form."
    if payment.status == PaymentStatus.FAILED:
        return (
            f"The last card was declined ({payment.failure_code or 'declined'}), and nothing was "
            "charged. Try another card before your hold runs out."
        )
    return f"Enter your card in the payment form to pay {amount} and confirm your booking."


def checkout_out(request: Request, checkout: Checkout) -> CheckoutOut:
    booked = checkout.appointment
    fields = None
    if checkout.card_fields_secret or checkout.payment_secret:
        setup = request.app.state.gateway.browser_setup()
        fields = GatewayFieldsOut(
            gateway=setup.gateway,
            publishable_key=setup.publishable_key,
            js_url=setup.js_url,
            card_fields_secret=checkout.card_fields_secret,
            payment_secret=checkout.payment_secret,
        )
    return CheckoutOut(
        payment=PaymentOut.from_row(checkout.payment, checkout.refunds, booked.tz),
        appointment=AppointmentOut.from_row(booked.appointment, booked.status, booked.tz),
        gateway_fields=fields,
        message=describe(checkout, booked.status),
    )


@router.post(
    "/holds/{hold_id}/payment",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckoutOut,
    summary="Start paying for a hold (or go on with its payment)",
)
async def start_payment(
    hold_id: uuid.UUID,
    body: CheckoutIn,
    request: Request,
    session: DbSession,
    peers: Peers,
    actor: BookingActor,
) -> CheckoutOut:
    checkout = await service.start_payment(session, peers, actor, hold_id, body.to_details())
    return checkout_out(request, checkout)


@router.post(
    "/payments/{payment_id}/pay",
    response_model=CheckoutOut,
    summary="Pay with the card token from the gateway's fields (402 when declined)",
)
async def pay(
    payment_id: uuid.UUID,
    body: PayIn,
    request: Request,
    session: DbSession,
    peers: Peers,
    actor: BookingActor,
) -> CheckoutOut:
    checkout = await service.pay(session, peers, actor, payment_id, body.payment_method)
    return checkout_out(request, checkout)


@router.get(
    "/payments/{payment_id}",
    response_model=CheckoutOut,
    summary="A payment, checked with the gateway while open (the return page)",
)
async def get_payment(
    payment_id: uuid.UUID, request: Request, session: DbSession, peers: Peers, actor: BookingActor
) -> CheckoutOut:
    checkout = await service.payment_status(session, peers, actor, payment_id)
    return checkout_out(request, checkout)


@router.post(
    "/payments/webhooks/stripe",
    response_model=WebhookOut,
    summary="Stripe's webhook (signed; each event taken once)",
)
async def stripe_webhook(request: Request, session: DbSession, peers: Peers) -> WebhookOut:
    payload = await request.body()
    try:
        result = await service.handle_webhook(
            session, peers, payload, request.headers.get("stripe-signature")
        )
    except WebhookRefusedError as error:
        raise DomainError(str(error), code="webhook_refused") from error
    return WebhookOut(received=True, result=result)


@router.get(
    "/appointments/{appointment_id}/payments",
    response_model=list[PaymentOut],
    summary="A booking's payments and refunds (receipts)",
)
async def appointment_payments(
    appointment_id: uuid.UUID, session: DbSession, actor: BookingActor
) -> list[PaymentOut]:
    tz, history = await service.payment_history(session, actor, appointment_id)
    return [PaymentOut.from_row(payment, refunds, tz) for payment, refunds in history]


@router.get(
    "/appointments/{appointment_id}/cancellation",
    response_model=CancellationQuoteOut,
    summary="What cancelling now would refund, before deciding",
)
async def cancellation_quote(
    appointment_id: uuid.UUID, session: DbSession, actor: BookingActor
) -> CancellationQuoteOut:
    quote = await service.cancellation_quote(session, actor, appointment_id)
    return CancellationQuoteOut(
        appointment_id=quote.appointment.id,
        late=quote.late,
        paid_cents=quote.paid_cents,
        refund_cents=quote.refund_cents,
        currency=quote.currency,
    )


def cancelled_out(cancelled: Cancelled) -> CancelledOut:
    booked = cancelled.appointment
    return CancelledOut.from_row(
        booked.appointment,
        booked.status,
        booked.tz,
        refunds=[RefundOut.from_row(refund, booked.tz) for refund in cancelled.refunds],
    )


@router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=CancelledOut,
    summary="Cancel, with the refund the policy gives",
)
async def cancel_appointment(
    appointment_id: uuid.UUID, body: CancelIn, session: DbSession, peers: Peers, actor: BookingActor
) -> CancelledOut:
    return cancelled_out(await service.cancel(session, peers, actor, appointment_id, body.reason))


@staff_router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=CancelledOut,
    summary="Cancel for the clinic: anything paid online is refunded in full",
)
async def staff_cancel(
    appointment_id: uuid.UUID, body: CancelIn, session: DbSession, peers: Peers, staff: StaffMember
) -> CancelledOut:
    actor = Actor(staff=staff)
    return cancelled_out(await service.cancel(session, peers, actor, appointment_id, body.reason))


@staff_router.post(
    "/appointments/{appointment_id}/no-show",
    response_model=CancelledOut,
    summary="No-show: the deposit is kept, any more paid online is refunded",
)
async def no_show(
    appointment_id: uuid.UUID, session: DbSession, peers: Peers, staff: StaffMember
) -> CancelledOut:
    return cancelled_out(await service.no_show(session, peers, staff, appointment_id))


@staff_router.post(
    "/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundOut,
    summary="Refund all or part of a payment, with a reason (clinic managers)",
)
async def staff_refund(
    payment_id: uuid.UUID, body: StaffRefundIn, session: DbSession, peers: Peers, staff: StaffMember
) -> RefundOut:
    refund, appointment = await service.staff_refund(
        session, peers, staff, payment_id, body.amount_cents, body.note
    )
    return RefundOut.from_row(refund, ZoneInfo(appointment.clinic.timezone))


@staff_router.get(
    "/clinics/{clinic_id}/payments",
    response_model=list[PaymentOut],
    summary="The payments of a clinic's day (beside the day view)",
)
async def clinic_day_payments(
    clinic_id: uuid.UUID, day: BookingDay, session: DbSession, staff: StaffMember
) -> list[PaymentOut]:
    tz, found = await service.clinic_day_payments(session, staff, clinic_id, day)
    return [PaymentOut.from_row(payment, refunds, tz) for payment, refunds in found]
