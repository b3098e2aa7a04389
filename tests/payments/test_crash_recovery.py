"""A real crash between the gateway's charge and our commit: `medbook serve` is killed (SIGKILL)
while localstripe's answer to the charge is held at a proxy, a new server starts, and the
payer's retry completes the booking with exactly one charge at localstripe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth import sign_in_patient
from tests.booking.helpers import assert_problem, status_in_db
from tests.factories import make_world
from tests.live import LiveServer, start_live_server, stop_live_server
from tests.payments.faults import GatewayProxy
from tests.payments.helpers import (
    DECLINED_CARD,
    GOOD_CARD,
    Localstripe,
    card_token,
    paid_online,
    pay,
    payment_row,
    start_checkout,
    succeeded_charges,
)


@pytest.fixture
def gateway_proxy(localstripe: Localstripe) -> Iterator[GatewayProxy]:
    proxy = GatewayProxy(localstripe.url)
    yield proxy
    proxy.stop()


def serve(
    database_url: str, gateway: GatewayProxy, localstripe: Localstripe, log: Path
) -> LiveServer:
    return start_live_server(
        database_url,
        log,
        MEDBOOK_PAYMENT_API_BASE=gateway.url,
        MEDBOOK_PAYMENT_JS_URL=f"{localstripe.url}/js.stripe.com/v3/",
    )


@pytest.mark.parametrize("declined_first", [False, True], ids=["first card", "after a decline"])
async def test_a_pay_retried_after_the_server_died_mid_charge_completes_with_one_charge(
    session: AsyncSession,
    localstripe: Localstripe,
    gateway_proxy: GatewayProxy,
    database_url: str,
    tmp_path: Path,
    declined_first: bool,
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await sign_in_patient(session)
    await session.commit()

    doomed = serve(database_url, gateway_proxy, localstripe, tmp_path / "doomed.log")
    try:
        async with httpx.AsyncClient(base_url=doomed.url, timeout=30) as browser:
            started = await start_checkout(browser, world, world.at(10), patient)
            fields = started.fields
            if declined_first:  # the next card then goes on a fresh PaymentIntent
                declined = await pay(
                    browser, started, await card_token(localstripe.url, fields, DECLINED_CARD)
                )
                assert_problem(declined, 402, "payment_declined")
                page = await browser.get(
                    f"/api/v1/payments/{started.payment_id}", headers=patient.headers
                )
                fields = page.json()["gateway_fields"]
            token = await card_token(localstripe.url, fields, GOOD_CARD)

            gateway_proxy.hold_charges()
            paying = asyncio.create_task(pay(browser, started, token))
            assert await asyncio.to_thread(gateway_proxy.charge_answered.wait, 20)
            doomed.process.kill()  # SIGKILL: no shutdown, no commit
            doomed.process.wait(10)
            with pytest.raises(httpx.TransportError):
                await paying
    finally:
        if doomed.process.poll() is None:
            doomed.process.kill()

    # localstripe charged; we never committed: our records still say the payment is open.
    stored = await payment_row(session, started.payment_id)
    intent = await localstripe.sdk().v1.payment_intents.retrieve_async(stored.gateway_reference)
    assert intent.status == "succeeded"
    assert stored.status == "pending"
    assert await status_in_db(session, started.hold_id) == "held"
    gateway_proxy.release()

    revived = serve(database_url, gateway_proxy, localstripe, tmp_path / "revived.log")
    try:
        async with httpx.AsyncClient(base_url=revived.url, timeout=30) as browser:
            retried = await pay(browser, started, token)  # the browser tries again
    finally:
        stop_live_server(revived)

    assert retried.status_code == 200, retried.text
    assert retried.json()["payment"]["status"] == "succeeded"
    assert retried.json()["appointment"]["status"] == "confirmed"
    assert await status_in_db(session, started.hold_id) == "confirmed"
    [charge] = await succeeded_charges(localstripe, started.payment_id)
    assert charge.payment_intent == stored.gateway_reference
    assert "Traceback" not in (tmp_path / "revived.log").read_text()
