"""Paying while the gateway misbehaves, in-process against localstripe (through a proxy that can
hang, hold a charge's answer, or refuse): a card token the gateway refuses is a 4xx, a gateway
that is down or hangs is a 503 with Retry-After inside the budget, the return page is never told
`busy` meanwhile, and whatever went through is found later and charged once."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.settings import get_settings
from tests.auth import AppClient
from tests.booking.helpers import assert_problem, status_in_db
from tests.factories import make_world
from tests.payments.faults import GatewayProxy
from tests.payments.helpers import (
    BANK_CHECK_CARD,
    DECLINED_CARD,
    GOOD_CARD,
    Localstripe,
    card_token,
    new_card,
    paid_online,
    pass_bank_check,
    pay,
    payment_row,
    start_checkout,
    succeeded_charges,
)

# Short, so the tests are quick; the database's lock_timeout stays at its 5 s default.
GATEWAY_BUDGET_SECONDS = 1.5
LOCK_TIMEOUT_SECONDS = get_settings().db_lock_timeout_ms / 1000

T = TypeVar("T")


@pytest.fixture
def gateway_proxy(localstripe: Localstripe) -> Iterator[GatewayProxy]:
    proxy = GatewayProxy(localstripe.url)
    yield proxy
    proxy.stop()


@pytest.fixture
async def proxied(session: AsyncSession, gateway_proxy: GatewayProxy) -> AsyncIterator[AppClient]:
    """The app in-process, talking to localstripe through the proxy, on a short budget."""
    from medbook.app import create_app

    changed = {
        "MEDBOOK_PAYMENT_API_BASE": gateway_proxy.url,
        "MEDBOOK_PAYMENT_GATEWAY_TIMEOUT_SECONDS": str(GATEWAY_BUDGET_SECONDS),
    }
    saved = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    get_settings.cache_clear()
    try:
        app = create_app()
        async with (
            app.router.lifespan_context(app),
            AppClient(app, base_url="https://testserver") as http,
        ):
            yield http
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


async def timed(call: Awaitable[T]) -> tuple[T, float]:
    started = time.monotonic()
    answer = await call
    return answer, time.monotonic() - started


async def test_card_tokens_the_gateway_never_issued_are_refused_and_charge_nothing(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())
    other = await start_checkout(client, world, world.at(12), await client.patient("other"))
    setup_intent = started.fields["card_fields_secret"].split("_secret_")[0]
    other_intent = (await payment_row(session, other.payment_id)).gateway_reference

    # Never issued; a token of another kind; objects the gateway did issue, but not cards.
    for token in ("pm_neverissued0000", "tok_visa", setup_intent, other_intent):
        refused = await pay(client, started, token)

        problem = assert_problem(refused, 422, "payment_method_refused")
        assert "Nothing was charged" in problem["detail"]
        assert await status_in_db(session, started.hold_id) == "held"
        assert (await payment_row(session, started.payment_id)).status == "pending"

    assert await succeeded_charges(localstripe, started.payment_id) == []
    # The same payment then takes a real card.
    paid = await pay(client, started, await card_token(localstripe.url, started.fields))
    assert paid.json()["appointment"]["status"] == "confirmed", paid.text
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1


async def test_a_gateway_that_refuses_connections_is_a_503_with_retry_after_never_a_500(
    proxied: AppClient, session: AsyncSession, localstripe: Localstripe, gateway_proxy: GatewayProxy
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await proxied.patient()
    started = await start_checkout(proxied, world, world.at(10), patient)
    token = await card_token(localstripe.url, started.fields)

    gateway_proxy.refuse()
    paid = await pay(proxied, started, token)
    page = await proxied.get(f"/api/v1/payments/{started.payment_id}", headers=patient.headers)
    again = await proxied.post(
        f"/api/v1/holds/{started.hold_id}/payment", json={}, headers=patient.headers
    )

    for answer in (paid, page, again):
        assert_problem(answer, 503, "gateway_unavailable")
        assert int(answer.headers["retry-after"]) > 0
    assert await status_in_db(session, started.hold_id) == "held"
    gateway_proxy.release()
    paid = await pay(proxied, started, token)
    assert paid.json()["appointment"]["status"] == "confirmed", paid.text
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1


async def test_a_hanging_gateway_holds_pay_no_longer_than_the_return_page_waits(
    proxied: AppClient, session: AsyncSession, localstripe: Localstripe, gateway_proxy: GatewayProxy
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await proxied.patient()
    started = await start_checkout(proxied, world, world.at(10), patient)
    token = await card_token(localstripe.url, started.fields)

    gateway_proxy.hang()
    paying = asyncio.create_task(timed(pay(proxied, started, token)))
    await asyncio.sleep(0.3)  # pay holds the payment's row, waiting on the gateway
    page = await proxied.get(f"/api/v1/payments/{started.payment_id}", headers=patient.headers)
    paid, pay_took = await paying

    problem = assert_problem(paid, 503, "gateway_unavailable")
    assert "never be charged twice" in problem["detail"]
    assert int(paid.headers["retry-after"]) > 0
    # Before this was bounded, pay took 31 s and the page was told `busy` (409) after 5 s.
    assert pay_took < LOCK_TIMEOUT_SECONDS, pay_took
    # The page got the row: it could not reach the gateway either, and says so the same way.
    assert_problem(page, 503, "gateway_unavailable")
    # Nothing moved: the hold is held, the payment open, nothing charged.
    assert await status_in_db(session, started.hold_id) == "held"
    assert (await payment_row(session, started.payment_id)).status == "pending"
    assert await succeeded_charges(localstripe, started.payment_id) == []

    gateway_proxy.release()
    paid = await pay(proxied, started, token)
    assert paid.json()["appointment"]["status"] == "confirmed", paid.text
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1


async def test_a_charge_whose_answer_never_comes_in_time_is_found_later_and_counted_once(
    proxied: AppClient, session: AsyncSession, localstripe: Localstripe, gateway_proxy: GatewayProxy
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await proxied.patient()
    started = await start_checkout(proxied, world, world.at(10), patient)
    token = await card_token(localstripe.url, started.fields, GOOD_CARD)

    gateway_proxy.hold_charges()  # localstripe charges; its answer stays at the proxy
    paid, pay_took = await timed(pay(proxied, started, token))

    problem = assert_problem(paid, 503, "gateway_unavailable")
    assert "cannot tell yet whether your card was charged" in problem["detail"]
    assert pay_took < LOCK_TIMEOUT_SECONDS, pay_took
    assert gateway_proxy.charge_answered.is_set()
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1
    assert await status_in_db(session, started.hold_id) == "held"

    gateway_proxy.release()
    page = await proxied.get(f"/api/v1/payments/{started.payment_id}", headers=patient.headers)
    assert page.json()["payment"]["status"] == "succeeded", page.text
    assert page.json()["appointment"]["status"] == "confirmed"
    # The payer, unsure, pays again, even with another card: nothing more is charged.
    again = await pay(proxied, started, await new_card(localstripe))
    assert again.status_code == 200, again.text
    assert again.json()["payment"]["status"] == "succeeded"
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1


async def test_the_budget_is_for_the_whole_request_not_for_each_call(
    proxied: AppClient, session: AsyncSession, localstripe: Localstripe, gateway_proxy: GatewayProxy
) -> None:
    """Each call answers well inside the budget, but pay makes three (look, attach the card,
    charge): together they outlast it, and pay lets the payment's row go in time."""
    world = await make_world(session)
    await paid_online(session, world)
    patient = await proxied.patient()
    started = await start_checkout(proxied, world, world.at(10), patient)
    token = await card_token(localstripe.url, started.fields)

    gateway_proxy.slow(GATEWAY_BUDGET_SECONDS * 0.45)
    paid, pay_took = await timed(pay(proxied, started, token))

    assert_problem(paid, 503, "gateway_unavailable")
    assert pay_took < LOCK_TIMEOUT_SECONDS, pay_took
    gateway_proxy.release()
    # Whether or not the charge got in before the cut, the page settles it, once.
    page = await proxied.get(f"/api/v1/payments/{started.payment_id}", headers=patient.headers)
    assert page.status_code == 200, page.text
    if page.json()["payment"]["status"] != "succeeded":
        paid = await pay(proxied, started, token)
        assert paid.json()["payment"]["status"] == "succeeded", paid.text
    assert await status_in_db(session, started.hold_id) == "confirmed"
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1


async def test_pays_sent_at_once_after_a_decline_charge_one_card_once(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    """A payer double-clicking, with tabs open, after a decline: each pay may open the fresh
    PaymentIntent, charge, or find the charge; exactly one card is charged, once."""
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())
    declined = await pay(
        client, started, await card_token(localstripe.url, started.fields, DECLINED_CARD)
    )
    assert_problem(declined, 402, "payment_declined")
    cards = [await new_card(localstripe) for _ in range(5)]

    answers = await asyncio.gather(*(pay(client, started, card) for card in cards))

    assert {answer.status_code for answer in answers} == {200}, [a.text for a in answers]
    assert {answer.json()["payment"]["status"] for answer in answers} == {"succeeded"}
    assert await status_in_db(session, started.hold_id) == "confirmed"
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1


async def test_pay_sent_again_while_the_bank_checks_the_card_does_not_charge_it_afresh(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await client.patient()
    started = await start_checkout(client, world, world.at(10), patient)
    token = await card_token(localstripe.url, started.fields, BANK_CHECK_CARD)
    asked = await pay(client, started, token)
    assert asked.json()["payment"]["status"] == "requires_action", asked.text

    again = await pay(client, started, token)  # a retry, or a double click

    assert again.status_code == 200, again.text
    assert again.json()["payment"]["status"] == "requires_action"
    assert again.json()["gateway_fields"]["payment_secret"]
    # Another card may still take over from the one stuck at its bank's check.
    other = await pay(client, started, await new_card(localstripe))
    assert other.status_code == 200, other.text
    await pass_bank_check(localstripe.url, asked.json()["gateway_fields"])
    page = await client.get(f"/api/v1/payments/{started.payment_id}", headers=patient.headers)
    assert page.json()["appointment"]["status"] == "confirmed", page.text
    assert len(await succeeded_charges(localstripe, started.payment_id)) == 1
