"""SQL for payments, refunds and the webhook events already seen."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.payments.models import GatewayEvent, Payment, PaymentStatus, Refund, RefundStatus

UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED)


async def get_payment(
    session: AsyncSession, payment_id: uuid.UUID, *, for_update: bool = False
) -> Payment | None:
    query = select(Payment).where(Payment.id == payment_id)
    if for_update:
        query = query.with_for_update()
    payment: Payment | None = (await session.scalars(query)).one_or_none()
    return payment


async def payment_status(session: AsyncSession, payment_id: uuid.UUID) -> str | None:
    """The payment's status as last committed, without locking or loading the row."""
    query = select(Payment.status).where(Payment.id == payment_id)
    status: str | None = (await session.scalars(query)).one_or_none()
    return status


async def payment_by_reference(
    session: AsyncSession, gateway: str, reference: str, *, for_update: bool = False
) -> Payment | None:
    query = select(Payment).where(
        Payment.gateway == gateway, Payment.gateway_reference == reference
    )
    if for_update:
        query = query.with_for_update()
    payment: Payment | None = (await session.scalars(query)).one_or_none()
    return payment


async def live_payment(
    session: AsyncSession, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Payment | None:
    """The booking's payment that is not cancelled (there is at most one)."""
    query = select(Payment).where(
        Payment.appointment_id == appointment_id, Payment.status != PaymentStatus.CANCELLED
    )
    if for_update:
        query = query.with_for_update()
    payment: Payment | None = (await session.scalars(query)).one_or_none()
    return payment


# A rescheduled booking is a new row pointing back at the old one; its payment stays with the
# row it was made for. This walks back along that chain.
_BOOKING_CHAIN = text(
    """
    WITH RECURSIVE chain(id, rescheduled_from_id) AS (
        SELECT id, rescheduled_from_id FROM appointments WHERE id = :appointment_id
        UNION ALL
        SELECT a.id, a.rescheduled_from_id FROM appointments a JOIN chain c
            ON a.id = c.rescheduled_from_id
    )
    SELECT id FROM chain
    """
)


async def payments_for_booking(
    session: AsyncSession, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Sequence[Payment]:
    """Every payment made for this booking, including for the times it was moved from."""
    chain = [
        row[0]
        for row in (await session.execute(_BOOKING_CHAIN, {"appointment_id": appointment_id}))
    ]
    query = (
        select(Payment)
        .where(Payment.appointment_id.in_(chain))
        .order_by(Payment.created_at, Payment.id)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).all()


async def payments_for_appointments_between(
    session: AsyncSession, clinic_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[Payment]:
    """Payments of the clinic's bookings that start in [start, end): the desk's day."""
    query = text(
        """
        SELECT p.id FROM payments p JOIN appointments a ON a.id = p.appointment_id
         WHERE a.clinic_id = :clinic AND a.starts_at >= :start AND a.starts_at < :end
        """
    )
    ids = [
        row[0]
        for row in await session.execute(query, {"clinic": clinic_id, "start": start, "end": end})
    ]
    if not ids:
        return []
    found = select(Payment).where(Payment.id.in_(ids)).order_by(Payment.created_at, Payment.id)
    return (await session.scalars(found)).all()


async def refunds_of(session: AsyncSession, payment_ids: Sequence[uuid.UUID]) -> Sequence[Refund]:
    if not payment_ids:
        return []
    query = (
        select(Refund)
        .where(Refund.payment_id.in_(payment_ids))
        .order_by(Refund.created_at, Refund.id)
    )
    return (await session.scalars(query)).all()


async def add(session: AsyncSession, row: Payment | Refund) -> None:
    session.add(row)
    await session.flush()


async def touch(session: AsyncSession, row: Payment | Refund) -> None:
    row.updated_at = func.now()
    await session.flush()
    await session.refresh(row, ["updated_at"])


async def claim_pending_refund(session: AsyncSession, refund_id: uuid.UUID) -> Refund | None:
    """The refund, locked, if it is still pending and nobody else is making it right now."""
    query = (
        select(Refund)
        .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
        .with_for_update(skip_locked=True)
    )
    refund: Refund | None = (await session.scalars(query)).one_or_none()
    return refund


async def pending_refund_ids(session: AsyncSession, older_than: timedelta) -> Sequence[uuid.UUID]:
    query = select(Refund.id).where(
        Refund.status == RefundStatus.PENDING, Refund.updated_at < func.now() - older_than
    )
    return (await session.scalars(query)).all()


async def unsettled_payment_ids(
    session: AsyncSession, older_than: timedelta
) -> Sequence[uuid.UUID]:
    query = select(Payment.id).where(
        Payment.status.in_(UNSETTLED),
        Payment.gateway_reference.is_not(None),
        Payment.updated_at < func.now() - older_than,
    )
    return (await session.scalars(query)).all()


async def succeeded_payment_ids(session: AsyncSession, since: timedelta) -> Sequence[uuid.UUID]:
    """Payments that went through in this time and are not refunded in full yet."""
    query = select(Payment.id).where(
        Payment.status == PaymentStatus.SUCCEEDED,
        Payment.succeeded_at >= func.now() - since,
        Payment.refunded_cents < Payment.amount_cents,
    )
    return (await session.scalars(query)).all()


async def paid_without_booking_ids(session: AsyncSession) -> Sequence[uuid.UUID]:
    """Succeeded payments whose booking is still a hold (live or not) and that have not been
    refunded in full: paid, yet neither confirmed nor given back."""
    query = text(
        """
        SELECT p.id FROM payments p JOIN appointments a ON a.id = p.appointment_id
         WHERE p.status = 'succeeded' AND p.refunded_cents < p.amount_cents
           AND a.status IN ('held', 'expired', 'released')
        """
    )
    return [row[0] for row in await session.execute(query)]


async def record_event(session: AsyncSession, gateway: str, event_id: str, event_type: str) -> bool:
    """Note a webhook event as seen; False when it was already (a redelivery or a replay).

    A concurrent duplicate waits on the primary key until the first commits, then finds it.
    """
    statement = (
        insert(GatewayEvent)
        .values(gateway=gateway, event_id=event_id, type=event_type)
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
        .returning(GatewayEvent.event_id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def link_event(
    session: AsyncSession, gateway: str, event_id: str, payment_id: uuid.UUID
) -> None:
    await session.execute(
        text(
            "UPDATE gateway_events SET payment_id = :payment WHERE gateway = :gateway "
            "AND event_id = :event"
        ),
        {"payment": payment_id, "gateway": gateway, "event": event_id},
    )
