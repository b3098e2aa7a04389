"""Stripe, through the official SDK: PaymentIntents, SetupIntents for the card fields, Refunds,
signed webhooks. The API base is a setting, so the same code talks to localstripe in tests.

Calls stay minimal on purpose: localstripe refuses parameters real Stripe accepts, and every
call carries an idempotency key (localstripe ignores them; our payment row makes retries safe
there).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx
import stripe

from medbook.payments.gateway import (
    BrowserSetup,
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    PaymentDeclinedError,
    PaymentMethodRefusedError,
    RefundRefusedError,
    WebhookEvent,
    WebhookRefusedError,
)
from medbook.payments.models import PaymentStatus, RefundStatus

METADATA_PAYMENT_ID = "medbook_payment_id"
METADATA_REFUND_ID = "medbook_refund_id"
# Stripe's own default: a signed event older than this is refused as a possible replay.
WEBHOOK_TOLERANCE_SECONDS = 300
# A host that does not take the connection within this is not going to: fail fast, so the SDK's
# retry (or the caller's answer) still fits in the budget.
CONNECT_TIMEOUT_SECONDS = 2.0
# States in which a PaymentIntent still waits for a card: a refusal then is about the card token.
WAITING_FOR_CARD = frozenset({"requires_payment_method", "requires_confirmation"})

# When the calls of the current time_budget() block must be done by (time.monotonic()).
_deadline: ContextVar[float | None] = ContextVar("stripe_deadline", default=None)

_REFUND_STATUSES = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


class _OutboundHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx transport, sending through our outbound client (TLS 1.3, verified)."""

    def __init__(self, client: httpx.AsyncClient, timeout: httpx.Timeout) -> None:
        super().__init__(timeout=timeout)
        self._client_async = client


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        *,
        api_base: str,
        secret_key: str,
        publishable_key: str,
        webhook_secret: str,
        js_url: str,
        http: httpx.AsyncClient,
        timeout_seconds: float,
    ) -> None:
        """`timeout_seconds` bounds each call, the SDK's retries included, and each
        time_budget() block as a whole."""
        transport_timeout = httpx.Timeout(
            timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        )
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")},
            http_client=_OutboundHTTPXClient(http, transport_timeout),
            # Retries reuse the idempotency key; they only happen while the budget lasts.
            max_network_retries=2,
        )
        self._timeout_seconds = timeout_seconds
        self._publishable_key = publishable_key
        self._webhook_secret = webhook_secret
        self._js_url = js_url

    def browser_setup(self) -> BrowserSetup:
        return BrowserSetup(self.name, self._publishable_key, self._js_url)

    @contextmanager
    def time_budget(self) -> Iterator[None]:
        until = time.monotonic() + self._timeout_seconds
        outer = _deadline.get()
        token = _deadline.set(until if outer is None else min(outer, until))
        try:
            yield
        finally:
            _deadline.reset(token)

    async def create_payment(
        self, *, amount_cents: int, currency: str, payment_id: uuid.UUID, idempotency_key: str
    ) -> GatewayPayment:
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {METADATA_PAYMENT_ID: str(payment_id)},
        }
        intent = await self._call(
            self._client.v1.payment_intents.create_async,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return _payment(intent)

    async def card_fields(self, *, idempotency_key: str) -> str:
        setup = await self._call(
            self._client.v1.setup_intents.create_async,
            params={"payment_method_types": ["card"]},
            options={"idempotency_key": idempotency_key},
        )
        secret: str = setup.client_secret
        return secret

    async def pay(
        self, reference: str, payment_method: str, *, idempotency_key: str
    ) -> GatewayPayment:
        # Two calls, not confirm(payment_method=...): localstripe implements only this form,
        # and Stripe treats both the same.
        try:
            await self._call(
                self._client.v1.payment_intents.update_async,
                reference,
                params={"payment_method": payment_method},
            )
            intent = await self._call(
                self._client.v1.payment_intents.confirm_async,
                reference,
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            declined = await self.fetch(reference)
            raise PaymentDeclinedError(
                _replace_failure(declined, error.code, error.user_message)
            ) from error
        except stripe.InvalidRequestError as error:
            # Either the token is no good (never issued, another kind of object, another
            # account's), or the PaymentIntent no longer waits for a card: an earlier try got
            # through, or a retry of the confirm found it done. Its own state tells which.
            current = await self._call(self._client.v1.payment_intents.retrieve_async, reference)
            if current.status in WAITING_FOR_CARD:
                raise PaymentMethodRefusedError(error.code or "invalid_request") from error
            return _payment(current)
        payment = _payment(intent)
        if payment.status is PaymentStatus.FAILED:
            raise PaymentDeclinedError(payment)
        return payment

    async def fetch(self, reference: str) -> GatewayPayment:
        return _payment(await self._call(self._client.v1.payment_intents.retrieve_async, reference))

    async def cancel(self, reference: str) -> GatewayPayment:
        try:
            intent = await self._call(self._client.v1.payment_intents.cancel_async, reference)
        except stripe.InvalidRequestError:
            # Cancelled already (an earlier try got through), or gone too far to cancel
            # (succeeded, processing): the caller decides from its state.
            intent = await self._call(self._client.v1.payment_intents.retrieve_async, reference)
        return _payment(intent)

    async def refund(
        self, reference: str, amount_cents: int, *, refund_id: uuid.UUID, idempotency_key: str
    ) -> GatewayRefund:
        try:
            refund = await self._call(
                self._client.v1.refunds.create_async,
                params={
                    "payment_intent": reference,
                    "amount": amount_cents,
                    "metadata": {METADATA_REFUND_ID: str(refund_id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            # A 400 is final: retrying the same refund cannot succeed.
            raise RefundRefusedError(error.code or "refund_refused") from error
        return _refund(refund)

    async def refunds(self, reference: str) -> list[GatewayRefund]:
        listed = self._client.v1.refunds.list_async
        found: list[GatewayRefund] = []
        params: dict[str, Any] = {"payment_intent": reference, "limit": 100}
        while True:
            page = await self._call(listed, params=params)
            found += [_refund(refund) for refund in page.data]
            if not page.has_more or not page.data:
                return found
            params = {**params, "starting_after": page.data[-1].id}

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        if not signature:
            raise WebhookRefusedError("The Stripe-Signature header is missing.")
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature,
                self._webhook_secret,
                WEBHOOK_TOLERANCE_SECONDS,
            )
            event = json.loads(payload)
            subject = event["data"]["object"]
            event_id, event_type = str(event["id"]), str(event["type"])
        except stripe.SignatureVerificationError as error:
            raise WebhookRefusedError(
                "The signature does not match, or the event is too old."
            ) from error
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise WebhookRefusedError("The body is not a Stripe event.") from error
        return WebhookEvent(event_id, event_type, _payment_reference(subject))

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """One SDK call (with its retries), cut off at the call's timeout or at the end of the
        enclosing time_budget(), whichever comes first."""
        now = time.monotonic()
        until = min(now + self._timeout_seconds, _deadline.get() or math.inf)
        try:
            async with asyncio.timeout(max(0.0, until - now)):
                return await method(*args, **kwargs)
        except (stripe.CardError, stripe.InvalidRequestError):
            raise
        except TimeoutError as error:
            raise GatewayError("Stripe did not answer within the time budget") from error
        except stripe.StripeError as error:
            raise GatewayError(f"Stripe: {type(error).__name__} {error.http_status}") from error
        except httpx.HTTPError as error:
            raise GatewayError(f"Stripe unreachable: {type(error).__name__}") from error


def _payment(intent: Any) -> GatewayPayment:
    error = intent.last_payment_error
    return GatewayPayment(
        reference=intent.id,
        status=_payment_status(intent.status, has_error=error is not None),
        amount_cents=int(intent.amount),
        currency=str(intent.currency).upper(),
        client_secret=intent.client_secret,
        failure_code=getattr(error, "code", None) if error else None,
        failure_message=getattr(error, "message", None) if error else None,
        payment_method=_id_of(intent.payment_method),
    )


def _id_of(field: Any) -> str | None:
    """An id the API gives either as it is or expanded into its object."""
    if field is None or isinstance(field, str):
        return field
    found = getattr(field, "id", None)
    return found if isinstance(found, str) else None


def _payment_status(status: str, *, has_error: bool) -> PaymentStatus:
    if status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if status == "requires_action":
        return PaymentStatus.REQUIRES_ACTION
    if status == "canceled":
        return PaymentStatus.CANCELLED
    if status == "requires_payment_method" and has_error:
        return PaymentStatus.FAILED
    # requires_payment_method, requires_confirmation, processing, requires_capture: not yet.
    return PaymentStatus.PENDING


def _replace_failure(
    payment: GatewayPayment, code: str | None, message: str | None
) -> GatewayPayment:
    return GatewayPayment(
        reference=payment.reference,
        status=PaymentStatus.FAILED,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        client_secret=payment.client_secret,
        failure_code=code or payment.failure_code or "card_declined",
        failure_message=message or payment.failure_message,
        payment_method=payment.payment_method,
    )


def _refund(refund: Any) -> GatewayRefund:
    metadata = refund.metadata.to_dict() if refund.metadata else {}
    try:
        ours = uuid.UUID(metadata[METADATA_REFUND_ID])
    except (KeyError, ValueError):
        ours = None
    return GatewayRefund(
        reference=refund.id,
        status=_REFUND_STATUSES.get(str(refund.status), RefundStatus.PENDING),
        amount_cents=int(refund.amount),
        refund_id=ours,
    )


def _payment_reference(subject: Any) -> str | None:
    if not isinstance(subject, dict):
        return None
    if subject.get("object") == "payment_intent":
        return str(subject.get("id"))
    intent = subject.get("payment_intent")
    return intent if isinstance(intent, str) else None
