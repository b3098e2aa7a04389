"""Payments and refunds as the gateway reported them: references and statuses, never card data.

What a column may hold is deliberate: ids, amounts in cents, a currency, the gateway's name and
its references, statuses and short machine codes. tests/payments/test_card_data.py fails if a
column appears that could take more, so a new one is a decision, not an accident.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from medbook.db import Base, uuid_pk


class PaymentStatus(StrEnum):
    PENDING = "pending"  # created at the gateway; no card has been tried yet
    REQUIRES_ACTION = "requires_action"  # the card's bank wants 3-D Secure in the browser
    FAILED = "failed"  # the last card was declined; another may be tried while the hold lives
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"  # given up before any money moved


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded; the gateway has not confirmed it yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the gateway refused it for good: staff must settle it by hand


class RefundReason(StrEnum):
    PATIENT_CANCELLED = "patient_cancelled"  # before the cancellation window: all of it
    LATE_CANCELLATION = "late_cancellation"  # inside the window: all but the deposit
    NO_SHOW = "no_show"  # all but the deposit
    CLINIC_CANCELLED = "clinic_cancelled"  # staff cancelled: all of it
    SLOT_TAKEN = "slot_taken"  # paid after the hold ran out and the time had gone
    NOT_NEEDED = "not_needed"  # paid for a booking already confirmed or cancelled meanwhile
    STAFF = "staff"  # a refund staff chose to make, with their note
    MADE_AT_GATEWAY = "made_at_gateway"  # made outside us (the gateway's dashboard), found later


PAYMENT_STATUSES = ", ".join(f"'{status.value}'" for status in PaymentStatus)
REFUND_STATUSES = ", ".join(f"'{status.value}'" for status in RefundStatus)
REFUND_REASONS = ", ".join(f"'{reason.value}'" for reason in RefundReason)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="positive_amount"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        CheckConstraint(f"status IN ({PAYMENT_STATUSES})", name="status"),
        CheckConstraint("purpose IN ('deposit', 'full')", name="purpose"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refunds_within_amount"
        ),
        CheckConstraint("status <> 'succeeded' OR succeeded_at IS NOT NULL", name="succeeded_at"),
        Index("ix_payments_appointment_id", "appointment_id"),
        # One payment per booking at a time: a retry after a decline reuses it.
        Index(
            "uq_payments_live_per_appointment",
            "appointment_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index(
            "ix_payments_unsettled",
            "updated_at",
            postgresql_where=text("status IN ('pending', 'requires_action', 'failed')"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"))
    purpose: Mapped[str] = mapped_column(String(8))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(16))
    # The gateway's id for this payment (a Stripe PaymentIntent, pi_...): the audit trail's key.
    gateway_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    # The gateway's code for the last decline (card_declined, insufficient_funds): no card data.
    failure_code: Mapped[str | None] = mapped_column(String(64))
    refunded_cents: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="positive_amount"),
        CheckConstraint(f"status IN ({REFUND_STATUSES})", name="status"),
        CheckConstraint(f"reason IN ({REFUND_REASONS})", name="reason"),
        CheckConstraint("reason <> 'staff' OR requested_by IS NOT NULL", name="staff_refund_by"),
        Index("ix_refunds_payment_id", "payment_id"),
        Index("ix_refunds_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(24))
    # What staff wrote when they chose to refund (checked for card numbers at the edge).
    note: Mapped[str] = mapped_column(String(500), server_default="")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_members.id"))
    status: Mapped[str] = mapped_column(String(12))
    gateway_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GatewayEvent(Base):
    """Each webhook event, once: a redelivery finds its id here and changes nothing."""

    __tablename__ = "gateway_events"

    gateway: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
