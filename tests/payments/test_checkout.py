"""Paying for a hold through localstripe, in-process: confirmed, declined, the bank's check, the
return page, a payment that arrives after the hold ran out, and what is kept at the gateway."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.privacy.notice import CURRENT_NOTICE_VERSION
from tests.auth import AppClient
from tests.booking.helpers import CHECKOUT, assert_problem, hold, row, status_in_db
from tests.factories import make_world
from tests.payments.helpers import (
    BANK_CHECK_CARD,
    DECLINED_CARD,
    GOOD_CARD,
    Localstripe,
    at_the_bank_check,
    card_token,
    paid_online,
    pass_bank_check,
    pay,
    payment_row,
    refund_rows,
    run_out,
    start_checkout,
)
from tests.privacy.helpers import consents


async def test_a_paid_booking_is_confirmed_and_the_gateway_reference_kept(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world, "deposit")
    patient = await client.patient()

    started = await start_checkout(client, world, world.at(10), patient)
    # Until paid, the hold is only a hold, and confirming it without paying is refused.
    assert started.checkout["payment"]["status"] == "pending"
    assert started.checkout["payment"]["amount_cents"] == 5000
    assert started.checkout["payment"]["currency"] == "SGD"
    assert started.fields["js_url"] == f"{localstripe.url}/js.stripe.com/v3/"
    refused = await client.post(
        f"/api/v1/holds/{started.hold_id}/confirm", json={}, headers=patient.headers
    )
    assert_problem(refused, 402, "payment_required")

    token = await card_token(localstripe.url, started.fields, GOOD_CARD)
    paid = await pay(client, started, token)

    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["payment"]["status"] == "succeeded"
    assert body["appointment"]["status"] == "confirmed"
    assert body["gateway_fields"] is None
    assert "confirmed" in body["message"]
    assert await status_in_db(session, started.hold_id) == "confirmed"
    stored = await payment_row(session, started.payment_id)
    intent = await localstripe.sdk().v1.payment_intents.retrieve_async(stored.gateway_reference)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 5000, "sgd")
    assert intent.metadata["medbook_payment_id"] == started.payment_id
    assert stored.succeeded_at is not None
    # Paying again with the same token changes nothing and charges nothing more.
    again = await pay(client, started, token)
    assert again.status_code == 200
    assert again.json()["payment"]["status"] == "succeeded"


async def test_what_is_given_when_the_payment_opens_is_kept_for_the_booking_it_confirms(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world, "deposit")
    patient = await client.patient()
    body = CHECKOUT | {"visit_reason": "Yearly screening"}

    started = await start_checkout(client, world, world.at(10), patient, body=body)
    # Going on with the same payment later (the return page) asks nothing again, keeps the reason.
    again = await client.post(
        f"/api/v1/holds/{started.hold_id}/payment", json={}, headers=patient.headers
    )
    token = await card_token(localstripe.url, started.fields, GOOD_CARD)
    paid = await pay(client, started, token)

    assert again.status_code == 201, again.text
    assert paid.json()["appointment"]["status"] == "confirmed", paid.text
    assert (await row(session, started.hold_id)).visit_reason == "Yearly screening"
    [consent] = await consents(session, patient.id)
    assert (consent.notice_version, consent.channel) == (CURRENT_NOTICE_VERSION, "online")


async def test_a_service_paid_in_full_charges_its_price(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world, "full")
    started = await start_checkout(client, world, world.at(11), await client.patient())
    assert started.checkout["payment"]["amount_cents"] == 18000
    assert started.checkout["payment"]["purpose"] == "full"


async def test_a_declined_card_leaves_the_hold_to_run_out_and_another_card_may_be_tried(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())

    declined = await pay(
        client, started, await card_token(localstripe.url, started.fields, DECLINED_CARD)
    )

    problem = assert_problem(declined, 402, "payment_declined")
    assert "Nothing was charged" in problem["detail"]
    assert await status_in_db(session, started.hold_id) == "held"
    stored = await payment_row(session, started.payment_id)
    assert (stored.status, stored.failure_code) == ("failed", "card_declined")
    # The page offers fresh card fields, and a good card then goes through.
    page = await client.get(
        f"/api/v1/payments/{started.payment_id}", headers=started.patient.headers
    )
    assert page.json()["payment"]["status"] == "failed"
    assert "declined" in page.json()["message"]
    retry = page.json()["gateway_fields"]
    assert retry["card_fields_secret"] not in (None, started.fields["card_fields_secret"])
    paid = await pay(client, started, await card_token(localstripe.url, retry, GOOD_CARD))
    assert paid.json()["appointment"]["status"] == "confirmed"


async def test_a_declined_payment_then_expiry_frees_the_slot_and_charges_nothing(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())
    await pay(client, started, await card_token(localstripe.url, started.fields, DECLINED_CARD))

    await run_out(session, started.hold_id)
    late = await pay(client, started, await card_token(localstripe.url, started.fields, GOOD_CARD))

    assert_problem(late, 410, "hold_expired")
    # Somebody else can hold the time at once.
    other = await hold(client, world, world.at(10), service=world.screening, client_id="other")
    assert other.id != started.hold_id
    stored = await payment_row(session, started.payment_id)
    intent = await localstripe.sdk().v1.payment_intents.retrieve_async(stored.gateway_reference)
    assert intent.status == "requires_payment_method"  # never charged


async def test_the_return_page_confirms_a_payment_whose_webhook_never_came(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())
    token = await card_token(localstripe.url, started.fields, BANK_CHECK_CARD)
    asked = await pay(client, started, token)
    assert asked.json()["payment"]["status"] == "requires_action"
    assert "bank" in asked.json()["message"]

    # The payer passes the bank's check in the gateway's fields. No webhook reaches this app.
    await pass_bank_check(localstripe.url, asked.json()["gateway_fields"])
    assert await status_in_db(session, started.hold_id) == "held"
    page = await client.get(
        f"/api/v1/payments/{started.payment_id}", headers=started.patient.headers
    )

    assert page.status_code == 200, page.text
    assert page.json()["payment"]["status"] == "succeeded"
    assert page.json()["appointment"]["status"] == "confirmed"
    assert await status_in_db(session, started.hold_id) == "confirmed"


async def test_paid_after_the_hold_ran_out_with_the_time_still_free_is_confirmed(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started, fields = await at_the_bank_check(
        client, localstripe, world, world.at(10), await client.patient()
    )

    await run_out(session, started.hold_id)  # the bank's check took longer than the hold
    await pass_bank_check(localstripe.url, fields)
    page = await client.get(
        f"/api/v1/payments/{started.payment_id}", headers=started.patient.headers
    )

    assert page.json()["payment"]["status"] == "succeeded"
    assert page.json()["appointment"]["status"] == "confirmed"
    assert await refund_rows(session, started.payment_id) == []


async def test_paid_after_the_hold_ran_out_and_the_time_was_taken_is_refunded_in_full(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started, fields = await at_the_bank_check(
        client, localstripe, world, world.at(10), await client.patient()
    )

    await run_out(session, started.hold_id)
    taker = await hold(client, world, world.at(10), service=world.screening, client_id="taker")
    await pass_bank_check(localstripe.url, fields)
    page = await client.get(
        f"/api/v1/payments/{started.payment_id}", headers=started.patient.headers
    )

    body = page.json()
    assert body["payment"]["status"] == "succeeded"
    assert body["appointment"]["status"] == "expired"
    assert body["payment"]["refunded_cents"] == 5000
    assert "refunding" in body["message"]
    [refund] = await refund_rows(session, started.payment_id)
    assert (refund.reason, refund.amount_cents, refund.status) == ("slot_taken", 5000, "succeeded")
    made = await localstripe.sdk().v1.refunds.retrieve_async(refund.gateway_reference)
    assert (made.amount, made.status) == (5000, "succeeded")
    assert await status_in_db(session, taker.id) == "held"  # the other patient keeps the time


async def test_the_payment_for_one_hold_is_opened_once_however_often_it_is_asked(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())

    again = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/holds/{started.hold_id}/payment",
                json={},
                headers=started.patient.headers,
            )
            for _ in range(5)
        )
    )

    assert {response.status_code for response in again} == {201}
    assert {response.json()["payment"]["id"] for response in again} == {started.payment_id}


async def test_a_service_paid_at_the_clinic_has_no_online_payment(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    response = await client.post(f"/api/v1/holds/{held.id}/payment", json={}, headers=held.headers)
    assert_problem(response, 422, "no_online_payment")


async def test_someone_elses_payment_is_not_found(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    started = await start_checkout(client, world, world.at(10), await client.patient())
    stranger = await client.patient("stranger")

    looked = await client.get(f"/api/v1/payments/{started.payment_id}", headers=stranger.headers)
    paid = await client.post(
        f"/api/v1/payments/{started.payment_id}/pay",
        json={"payment_method": "pm_whatever"},
        headers=stranger.headers,
    )

    assert_problem(looked, 404, "payment_not_found")
    assert_problem(paid, 404, "payment_not_found")
