"""The gateway's webhook, delivered by localstripe to a real server process: it confirms a
payment finished in the browser; a redelivery, a forgery, an old event and twenty copies at once
change nothing more; events out of order cannot undo a payment."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.settings import DEV_STRIPE_WEBHOOK_SECRET
from tests.auth import SignedIn, sign_in_patient
from tests.booking.helpers import status_in_db
from tests.factories import make_world
from tests.identity.peers import BackgroundServer, JsonHandler
from tests.live import LiveServer
from tests.payments.helpers import (
    Localstripe,
    Started,
    at_the_bank_check,
    paid_online,
    pass_bank_check,
    payment_row,
    refund_rows,
)

WEBHOOK_PATH = "/api/v1/payments/webhooks/stripe"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


class Recorder(BackgroundServer):
    """A second webhook endpoint at localstripe: keeps each delivery exactly as sent."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.arrived = threading.Condition()
        owner = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with owner.arrived:
                    owner.deliveries.append(Delivery(body, self.headers["Stripe-Signature"]))
                    owner.arrived.notify_all()
                self.send_json(200, {})

        super().__init__(Handler)

    def wait_for(self, event_type: str, intent: str, within: float = 10) -> Delivery:
        deadline = time.monotonic() + within
        with self.arrived:
            while True:
                for delivery in self.deliveries:
                    subject = delivery.event["data"]["object"]
                    if delivery.event["type"] == event_type and subject["id"] == intent:
                        return delivery
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {event_type} for {intent} within {within} s"
                self.arrived.wait(remaining)


def sign(body: bytes, at: int | None = None, secret: str = DEV_STRIPE_WEBHOOK_SECRET) -> str:
    """A Stripe-Signature header, as the gateway makes it."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), b"%d.%s" % (at, body), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


@pytest.fixture(scope="module")
def recorder(localstripe: Localstripe) -> Iterator[Recorder]:
    recording = Recorder()
    localstripe.send_webhooks_to("recorder", recording.base_url + "/")
    yield recording
    localstripe.stop_webhooks_to("recorder")
    recording.stop()


@pytest.fixture
def webhooks_on(localstripe: Localstripe, payment_server: LiveServer) -> Iterator[None]:
    localstripe.send_webhooks_to("medbook", payment_server.url + WEBHOOK_PATH)
    yield
    localstripe.stop_webhooks_to("medbook")


@pytest.fixture
async def http(payment_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=payment_server.url, timeout=15) as client:
        yield client


async def paid_in_the_browser(
    http: httpx.AsyncClient, session: AsyncSession, localstripe: Localstripe
) -> tuple[Started, str]:
    """A screening paid with a card whose bank asks for a check, passed in the gateway's fields:
    after that only the webhook (or the return page) tells us. Answers the gateway reference."""
    world = await make_world(session)
    await paid_online(session, world)
    patient: SignedIn = await sign_in_patient(session)
    await session.commit()
    started, fields = await at_the_bank_check(http, localstripe, world, world.at(10), patient)
    await pass_bank_check(localstripe.url, fields)
    reference = (await payment_row(session, started.payment_id)).gateway_reference
    return started, reference


async def wait_for_status(session: AsyncSession, appointment_id: str, wanted: str) -> float:
    began = time.monotonic()
    while (status := await status_in_db(session, appointment_id)) != wanted:
        assert time.monotonic() - began < 10, f"still {status}"
        await asyncio.sleep(0.05)
    return time.monotonic() - began


async def confirmations(session: AsyncSession, appointment_id: str) -> int:
    count = await session.scalar(
        text(
            "SELECT count(*) FROM change_events WHERE appointment_id = :id AND status = 'confirmed'"
        ),
        {"id": uuid.UUID(appointment_id)},
    )
    await session.commit()
    return int(count or 0)


async def post(http: httpx.AsyncClient, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return await http.post(WEBHOOK_PATH, content=body, headers=headers)


async def test_a_payment_finished_in_the_browser_is_confirmed_by_the_webhook(
    http: httpx.AsyncClient, session: AsyncSession, localstripe: Localstripe, webhooks_on: None
) -> None:
    started, _ = await paid_in_the_browser(http, session, localstripe)

    took = await wait_for_status(session, started.hold_id, "confirmed")

    print(f"\nwebhook confirmed the booking {took:.2f} s after the bank's check")
    stored = await payment_row(session, started.payment_id)
    assert stored.status == "succeeded"
    events = (
        await session.execute(
            text("SELECT type, payment_id FROM gateway_events WHERE payment_id = :id"),
            {"id": uuid.UUID(started.payment_id)},
        )
    ).all()
    await session.commit()
    assert ("payment_intent.succeeded", uuid.UUID(started.payment_id)) in events
    assert await confirmations(session, started.hold_id) == 1


async def test_a_redelivered_event_is_taken_once(
    http: httpx.AsyncClient,
    session: AsyncSession,
    localstripe: Localstripe,
    recorder: Recorder,
    webhooks_on: None,
) -> None:
    started, reference = await paid_in_the_browser(http, session, localstripe)
    delivery = recorder.wait_for("payment_intent.succeeded", reference)
    await wait_for_status(session, started.hold_id, "confirmed")

    replays = [await post(http, delivery.body, delivery.signature) for _ in range(3)]

    assert [r.json()["result"] for r in replays] == ["duplicate"] * 3
    seen = await session.scalar(
        text("SELECT count(*) FROM gateway_events WHERE event_id = :id"),
        {"id": delivery.event["id"]},
    )
    assert seen == 1
    assert await confirmations(session, started.hold_id) == 1


async def test_forged_unsigned_and_stale_events_are_refused(
    http: httpx.AsyncClient, session: AsyncSession, localstripe: Localstripe, recorder: Recorder
) -> None:
    started, reference = await paid_in_the_browser(http, session, localstripe)
    genuine = recorder.wait_for("payment_intent.succeeded", reference)
    forged_body = genuine.body.replace(b'"payment_intent.succeeded"', b'"payment_intent.created"')

    attempts = {
        "forged body": await post(http, forged_body, genuine.signature),
        "wrong secret": await post(http, genuine.body, sign(genuine.body, secret="whsec_guess")),
        "unsigned": await post(http, genuine.body, None),
        "ten minutes old": await post(
            http, genuine.body, sign(genuine.body, int(time.time()) - 600)
        ),
        "not json": await post(http, b"hello", sign(b"hello")),
    }

    for what, response in attempts.items():
        assert response.status_code == 400, (what, response.text)
        assert response.json()["code"] == "webhook_refused", what
    # None of them moved anything: the booking waits for a genuine word (or the return page).
    assert await status_in_db(session, started.hold_id) == "held"
    accepted = await post(http, genuine.body, sign(genuine.body))
    assert accepted.json()["result"] == "processed"
    assert await status_in_db(session, started.hold_id) == "confirmed"


async def test_twenty_copies_at_once_and_ten_other_events_confirm_once(
    http: httpx.AsyncClient, session: AsyncSession, localstripe: Localstripe, recorder: Recorder
) -> None:
    started, reference = await paid_in_the_browser(http, session, localstripe)
    genuine = recorder.wait_for("payment_intent.succeeded", reference)
    others = []
    for _ in range(10):
        event = genuine.event | {"id": f"evt_{uuid.uuid4().hex[:16]}"}
        body = json.dumps(event).encode()
        others.append((body, sign(body)))

    answers = await asyncio.gather(
        *(post(http, genuine.body, genuine.signature) for _ in range(20)),
        *(post(http, body, signature) for body, signature in others),
    )

    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    results = [r.json()["result"] for r in answers]
    assert results[:20].count("processed") == 1
    assert results[:20].count("duplicate") == 19
    assert results[20:] == ["processed"] * 10
    assert await status_in_db(session, started.hold_id) == "confirmed"
    assert await confirmations(session, started.hold_id) == 1
    refunds = await session.scalar(text("SELECT count(*) FROM refunds"))
    assert refunds == 0


async def test_events_out_of_order_never_undo_a_payment(
    http: httpx.AsyncClient, session: AsyncSession, localstripe: Localstripe, recorder: Recorder
) -> None:
    started, reference = await paid_in_the_browser(http, session, localstripe)
    succeeded = recorder.wait_for("payment_intent.succeeded", reference)
    # An event that says "failed" for the same payment, as an older attempt's would.
    failed_event = succeeded.event | {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "type": "payment_intent.payment_failed",
    }
    failed_body = json.dumps(failed_event).encode()

    # The failure arrives first: the gateway, asked, says succeeded, so the booking is confirmed.
    first = await post(http, failed_body, sign(failed_body))
    assert first.json()["result"] == "processed"
    assert await status_in_db(session, started.hold_id) == "confirmed"
    # The success arrives last, and the failure once more: nothing changes.
    await post(http, succeeded.body, succeeded.signature)
    again_body = json.dumps(failed_event | {"id": f"evt_{uuid.uuid4().hex[:16]}"}).encode()
    await post(http, again_body, sign(again_body))

    stored = await payment_row(session, started.payment_id)
    assert stored.status == "succeeded"
    assert await status_in_db(session, started.hold_id) == "confirmed"
    assert await confirmations(session, started.hold_id) == 1


async def test_an_event_about_a_payment_that_is_not_ours_is_acknowledged_and_ignored(
    http: httpx.AsyncClient,
) -> None:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_not_ours", "object": "payment_intent", "metadata": {}}},
    }
    body = json.dumps(event).encode()
    answer = await post(http, body, sign(body))
    assert answer.status_code == 200
    assert answer.json()["result"] == "ignored"


async def test_a_refund_made_in_the_gateways_dashboard_is_recorded_from_its_events(
    http: httpx.AsyncClient, session: AsyncSession, localstripe: Localstripe, webhooks_on: None
) -> None:
    """localstripe sends no charge.refunded, so the events are made here as Stripe makes them."""
    started, reference = await paid_in_the_browser(http, session, localstripe)
    await wait_for_status(session, started.hold_id, "confirmed")
    made = await localstripe.sdk().v1.refunds.create_async(
        params={"payment_intent": reference, "amount": 1200}
    )

    def event(event_type: str) -> bytes:
        charge = {"id": made.charge, "object": "charge", "payment_intent": reference}
        return json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex[:16]}",
                "type": event_type,
                "data": {"object": charge},
            }
        ).encode()

    answers = [
        await post(http, body, sign(body))
        for body in (event("charge.refunded"), event("charge.refund.updated"))
    ]

    assert [a.json()["result"] for a in answers] == ["processed", "processed"]
    [refund] = await refund_rows(session, started.payment_id)  # recorded once, not twice
    assert (refund.reason, refund.amount_cents, refund.gateway_reference) == (
        "made_at_gateway",
        1200,
        made.id,
    )
    assert (await payment_row(session, started.payment_id)).refunded_cents == 1200
    assert await status_in_db(session, started.hold_id) == "confirmed"  # a refund cancels nothing
