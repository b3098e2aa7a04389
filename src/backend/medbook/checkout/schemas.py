"""What the payment and cancellation API accepts and answers. No field of ours takes card data:
the card goes into the gateway's own fields, which give back an opaque payment-method token."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from medbook.booking.schemas import AppointmentOut, CheckoutDetailsIn
from medbook.payments.models import Payment, PaymentStatus, Refund, RefundReason, RefundStatus
from medbook.schemas import MultiLine, StrictModel


class CheckoutIn(CheckoutDetailsIn):
    """Start paying for a hold: what is given here is saved before the payment confirms it."""


class PayIn(StrictModel):
    payment_method: str = Field(
        min_length=3,
        max_length=255,
        pattern=r"^[A-Za-z0-9_]+$",
        description="The token the gateway's card fields gave for the card (Stripe: pm_...). "
        "Never the card itself.",
        examples=["pm_1Q0PsIJvEtkwdCNYMe4Q3ZpR"],
    )


class StaffRefundIn(StrictModel):
    amount_cents: int = Field(gt=0, description="How much to give back, in cents.")
    note: MultiLine = Field(
        min_length=3, max_length=500, description="Why: kept with the refund for the audit trail."
    )


class RefundOut(BaseModel):
    id: uuid.UUID
    amount_cents: int
    reason: RefundReason
    note: str
    status: RefundStatus
    gateway_reference: str | None = Field(description="The gateway's id for the refund (re_...).")
    created_at: datetime

    @classmethod
    def from_row(cls, refund: Refund, tz: ZoneInfo) -> RefundOut:
        return cls(
            id=refund.id,
            amount_cents=refund.amount_cents,
            reason=RefundReason(refund.reason),
            note=refund.note,
            status=RefundStatus(refund.status),
            gateway_reference=refund.gateway_reference,
            created_at=refund.created_at.astimezone(tz),
        )


class PaymentOut(BaseModel):
    """A payment as the receipt and the desk show it."""

    id: uuid.UUID
    appointment_id: uuid.UUID
    purpose: str = Field(description="deposit or full")
    amount_cents: int
    currency: str
    refunded_cents: int = Field(description="Refunded or being refunded.")
    status: PaymentStatus
    gateway: str
    gateway_reference: str | None = Field(description="The gateway's id for the payment (pi_...).")
    failure_code: str | None = Field(description="Why the last card was declined, if it was.")
    created_at: datetime
    succeeded_at: datetime | None
    refunds: list[RefundOut]

    @classmethod
    def from_row(cls, payment: Payment, refunds: list[Refund], tz: ZoneInfo) -> PaymentOut:
        return cls(
            id=payment.id,
            appointment_id=payment.appointment_id,
            purpose=payment.purpose,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            refunded_cents=payment.refunded_cents,
            status=PaymentStatus(payment.status),
            gateway=payment.gateway,
            gateway_reference=payment.gateway_reference,
            failure_code=payment.failure_code,
            created_at=payment.created_at.astimezone(tz),
            succeeded_at=payment.succeeded_at.astimezone(tz) if payment.succeeded_at else None,
            refunds=[RefundOut.from_row(refund, tz) for refund in refunds],
        )


class GatewayFieldsOut(BaseModel):
    """What the payment page needs to show the gateway's own card fields."""

    gateway: str
    publishable_key: str
    js_url: str = Field(description="The gateway's script: the only one besides ours.")
    card_fields_secret: str | None = Field(
        description="Turns the card typed into the gateway's fields into a payment-method token "
        "(Stripe: a SetupIntent's client secret, for confirmCardSetup). Present while a card "
        "is needed."
    )
    payment_secret: str | None = Field(
        description="Finishes the bank's check when the status is requires_action (Stripe: "
        "confirmCardPayment)."
    )


class CheckoutOut(BaseModel):
    payment: PaymentOut
    appointment: AppointmentOut
    gateway_fields: GatewayFieldsOut | None = Field(
        description="Present while the payer still has something to do in the gateway's fields."
    )
    message: str = Field(description="What happened and what to do next, in plain words.")


class CancelledOut(AppointmentOut):
    refunds: list[RefundOut] = Field(
        description="Refunds this cancellation started (empty when nothing was paid online)."
    )


class CancellationQuoteOut(BaseModel):
    appointment_id: uuid.UUID
    late: bool = Field(description="Inside the cancellation window: the deposit is kept.")
    paid_cents: int = Field(description="Paid online and not refunded yet.")
    refund_cents: int = Field(description="What cancelling now gives back.")
    currency: str | None


class WebhookOut(BaseModel):
    received: bool
    result: str = Field(description="processed, duplicate or ignored")
