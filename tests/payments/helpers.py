"""localstripe as the gateway, and the browser's part played over HTTP.

What the browser does is exactly what localstripe's Stripe.js stand-in does: the card typed into
the gateway's own fields goes to the gateway (confirmCardSetup), never to us; the bank's check
(3-D Secure) is finished against the gateway too (confirmCardPayment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.settings import DEV_STRIPE_SECRET_KEY, DEV_STRIPE_WEBHOOK_SECRET
from tests.auth import AppClient, SignedIn
from tests.booking.helpers import CHECKOUT, hold_body
from tests.factories import World
from tests.live import free_port

PUBLISHABLE_KEY = "pk_test_localstripe"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # accepted by the card fields, declined when charged
BANK_CHECK_CARD = "4000002500003155"  # 3-D Secure: the bank asks the payer to confirm
CVC = "737"
CARD: dict[str, Any] = {"exp_month": 12, "exp_year": 2034, "cvc": CVC}  # and a "number"


@dataclass
class Localstripe:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def sdk(self) -> stripe.StripeClient:
        """The official SDK against localstripe, to look at what the gateway holds."""
        return stripe.StripeClient(
            DEV_STRIPE_SECRET_KEY,
            base_addresses={"api": self.url},
            http_client=stripe.HTTPXClient(),
        )

    def send_webhooks_to(self, name: str, url: str) -> None:
        response = httpx.post(
            f"{self.url}/_config/webhooks/{name}",
            data={"url": url, "secret": DEV_STRIPE_WEBHOOK_SECRET},
            timeout=5,
        )
        response.raise_for_status()

    def stop_webhooks_to(self, name: str) -> None:
        # localstripe cannot delete a webhook: point it where nothing listens.
        self.send_webhooks_to(name, f"http://127.0.0.1:{free_port()}/nowhere")


def start_localstripe(log_path: Path) -> Localstripe:
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/js.stripe.com/v3/", timeout=1).status_code == 200:
                return Localstripe(url, process, log_path)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"localstripe did not start:\n{log_path.read_text()}")


# --- the browser's part -------------------------------------------------------------------------


async def card_token(gateway_url: str, fields: dict[str, Any], number: str = GOOD_CARD) -> str:
    """Type a card into the gateway's fields: the gateway answers a payment-method token."""
    secret = fields["card_fields_secret"]
    assert secret, fields
    setup_intent = secret.split("_secret_")[0]
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as browser:
        body = {
            "key": fields["publishable_key"],
            "use_stripe_sdk": True,
            "client_secret": secret,
            "payment_method_data": {
                "type": "card",
                "card": CARD | {"number": number},
            },
        }
        response = await browser.post(f"/v1/setup_intents/{setup_intent}/confirm", json=body)
        response.raise_for_status()
        answer = response.json()
        if answer["status"] == "requires_action":  # the card's own check, passed
            again = {"key": fields["publishable_key"], "client_secret": secret}
            response = await browser.post(f"/v1/setup_intents/{setup_intent}/confirm", json=again)
            response.raise_for_status()
            answer = response.json()
    token: str = answer["payment_method"]
    return token


async def new_card(gateway: Localstripe, number: str = GOOD_CARD) -> str:
    """A fresh token for a card, as the gateway's fields would give one."""
    params: Any = {"type": "card", "card": CARD | {"number": number}}
    made = await gateway.sdk().v1.payment_methods.create_async(params=params)
    token: str = made.id
    return token


async def pass_bank_check(
    gateway_url: str, fields: dict[str, Any], *, success: bool = True
) -> None:
    """Finish 3-D Secure in the gateway's fields (confirmCardPayment)."""
    secret = fields["payment_secret"]
    assert secret, fields
    intent = secret.split("_secret_")[0]
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as browser:
        response = await browser.post(
            f"/v1/payment_intents/{intent}/_authenticate",
            params={"success": "true" if success else "false"},
            json={"key": fields["publishable_key"], "client_secret": secret},
        )
        response.raise_for_status()


# --- our side ----------------------------------------------------------------------------------


async def paid_online(session: AsyncSession, world: World, mode: str = "deposit") -> None:
    """Make the world's screening (S$180, S$50 deposit) paid online: its deposit, or in full."""
    await session.execute(
        text("UPDATE services SET online_payment = :mode WHERE id = :id"),
        {"mode": mode, "id": world.screening.id},
    )
    await session.commit()
    world.screening.online_payment = mode


@dataclass
class Started:
    hold_id: str
    patient: SignedIn
    checkout: dict[str, Any]

    @property
    def payment_id(self) -> str:
        payment_id: str = self.checkout["payment"]["id"]
        return payment_id

    @property
    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = self.checkout["gateway_fields"]
        return fields


async def start_checkout(
    client: AppClient | httpx.AsyncClient,
    world: World,
    start: datetime,
    patient: SignedIn,
    doctor: int = 0,
    body: dict[str, Any] = CHECKOUT,
) -> Started:
    """Hold the screening at `start` and open its payment, giving contact details and consent."""
    held = await client.post(
        "/api/v1/holds",
        json=hold_body(world, start, doctor, world.screening),
        headers=patient.headers,
    )
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold_id"]
    started = await client.post(
        f"/api/v1/holds/{hold_id}/payment", json=body, headers=patient.headers
    )
    assert started.status_code == 201, started.text
    return Started(hold_id, patient, started.json())


async def pay(
    client: AppClient | httpx.AsyncClient, started: Started, token: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/payments/{started.payment_id}/pay",
        json={"payment_method": token},
        headers=started.patient.headers,
    )


async def run_out(session: AsyncSession, hold_id: str) -> None:
    """Move the hold's clock in the database: its 300 s are over."""
    await session.execute(
        text(
            "UPDATE appointments SET hold_expires_at = now() - interval '1 second' WHERE id = :id"
        ),
        {"id": uuid.UUID(hold_id)},
    )
    await session.commit()


async def payment_row(session: AsyncSession, payment_id: str) -> Any:
    found = (
        await session.execute(
            text("SELECT * FROM payments WHERE id = :id"), {"id": uuid.UUID(payment_id)}
        )
    ).one()
    await session.commit()
    return found


async def refund_rows(session: AsyncSession, payment_id: str) -> list[Any]:
    found = (
        await session.execute(
            text("SELECT * FROM refunds WHERE payment_id = :id ORDER BY created_at"),
            {"id": uuid.UUID(payment_id)},
        )
    ).all()
    await session.commit()
    return list(found)


async def paid_booking(
    client: AppClient | httpx.AsyncClient,
    gateway: Localstripe,
    world: World,
    start: datetime,
    patient: SignedIn,
    doctor: int = 0,
) -> Started:
    """Hold, pay with a good card, confirmed."""
    started = await start_checkout(client, world, start, patient, doctor)
    paid = await pay(client, started, await card_token(gateway.url, started.fields, GOOD_CARD))
    assert paid.json()["appointment"]["status"] == "confirmed", paid.text
    return started


async def at_the_bank_check(
    client: AppClient | httpx.AsyncClient,
    gateway: Localstripe,
    world: World,
    start: datetime,
    patient: SignedIn,
) -> tuple[Started, dict[str, Any]]:
    """Hold and pay with a card whose bank wants 3-D Secure: the payment waits for the payer's
    check in the gateway's fields. Answers the checkout and the fields that finish it."""
    started = await start_checkout(client, world, start, patient)
    asked = await pay(
        client, started, await card_token(gateway.url, started.fields, BANK_CHECK_CARD)
    )
    assert asked.json()["payment"]["status"] == "requires_action", asked.text
    fields: dict[str, Any] = asked.json()["gateway_fields"]
    return started, fields


async def succeeded_charges(gateway: Localstripe, payment_id: str) -> list[Any]:
    """Every charge that went through at localstripe for our payment, across all of its
    PaymentIntents: found by our payment id in their metadata, so an intent we lost track of
    is counted too."""
    sdk = gateway.sdk()
    intents = {
        intent.id
        for intent in await _every(sdk.v1.payment_intents.list_async)
        if intent.metadata.to_dict().get("medbook_payment_id") == payment_id
    }
    return [
        charge
        for charge in await _every(sdk.v1.charges.list_async)
        if charge.payment_intent in intents and charge.status == "succeeded"
    ]


async def _every(list_page: Any) -> list[Any]:
    found: list[Any] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await list_page(params=params)
        found += page.data
        if not page.has_more or not page.data:
            return found
        params = {**params, "starting_after": page.data[-1].id}
