"""The payment gateway port: the few things we ask of a gateway, in our own words.

Card details never pass through here: the browser types them into the gateway's own fields,
which hand us an opaque payment-method token. What comes back is a reference and a status.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from medbook.payments.models import PaymentStatus, RefundStatus


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    reference: str
    status: PaymentStatus
    amount_cents: int
    currency: str
    # Lets the browser finish the payment in the gateway's fields; sent to the payer, never stored.
    client_secret: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    # The card token last given to this payment (an opaque id, never card data).
    payment_method: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    reference: str
    status: RefundStatus
    amount_cents: int
    # Our refund's id, carried in the gateway's metadata; None for a refund made elsewhere
    # (in the gateway's dashboard, say), which reconciliation then records.
    refund_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    payment_reference: str | None  # the gateway's payment the event is about, if any


@dataclass(frozen=True, slots=True)
class BrowserSetup:
    """What the payment page needs to show the gateway's own card fields."""

    gateway: str
    publishable_key: str
    js_url: str


class GatewayError(Exception):
    """The gateway could not be reached, failed, or did not answer within its time budget:
    what the call did is not known. Retry; every money-moving call is safe to repeat."""


class PaymentMethodRefusedError(Exception):
    """The gateway will not charge this payment method at all (never issued, expired, of
    another kind or account): nothing was charged, and a fresh card token is needed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PaymentDeclinedError(Exception):
    """The card was refused (or its bank's check failed): another card may be tried."""

    def __init__(self, payment: GatewayPayment) -> None:
        super().__init__(payment.failure_message or "declined")
        self.payment = payment


class RefundRefusedError(Exception):
    """The gateway will not make this refund, whatever we retry (already refunded, failed
    payment): staff have to settle it by hand."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class WebhookRefusedError(Exception):
    """Not a webhook we can trust: missing, forged or stale signature, or not JSON."""


class PaymentGateway(Protocol):
    name: str

    def browser_setup(self) -> BrowserSetup: ...

    def time_budget(self) -> AbstractContextManager[None]:
        """Every call made inside shares one time budget (the gateway's timeout, retries
        included), so work done while a payment's row is locked never outlasts what a request
        waiting for that row allows. A call past the budget raises GatewayError."""
        ...

    async def create_payment(
        self, *, amount_cents: int, currency: str, payment_id: uuid.UUID, idempotency_key: str
    ) -> GatewayPayment:
        """A payment waiting for a card; moves no money."""
        ...

    async def card_fields(self, *, idempotency_key: str) -> str:
        """A client secret with which the gateway's card fields turn a card into a token."""
        ...

    async def pay(
        self, reference: str, payment_method: str, *, idempotency_key: str
    ) -> GatewayPayment:
        """Charge the tokenised card; PaymentDeclinedError when the card is refused,
        PaymentMethodRefusedError when the token is. A payment that has moved on without this
        call (charged by an earlier try, at the bank's check) is answered as it stands."""
        ...

    async def fetch(self, reference: str) -> GatewayPayment: ...

    async def cancel(self, reference: str) -> GatewayPayment:
        """Give the payment up so it can never charge; one given up already, or gone through
        already, is answered as it stands (the caller looks at the status)."""
        ...

    async def refund(
        self, reference: str, amount_cents: int, *, refund_id: uuid.UUID, idempotency_key: str
    ) -> GatewayRefund: ...

    async def refunds(self, reference: str) -> list[GatewayRefund]:
        """Every refund the gateway made of this payment, ours and any made elsewhere."""
        ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """The event, once its signature and age are checked; WebhookRefusedError if not."""
        ...
