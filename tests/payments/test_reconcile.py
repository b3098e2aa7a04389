"""`medbook payments reconcile`: lists where our records and localstripe's differ, then mends
them with --fix, and finds nothing the second time; says which records it could not check when
the gateway is out of reach, and the periodic job logs them and fails, to be retried."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.checkout.service import Gateways
from medbook.checkout.tasks import ReconciliationIncompleteError, reconcile_payments
from medbook.db import session_factory
from medbook.payments.service import configured_gateway
from medbook.settings import Settings
from tests.auth import AppClient
from tests.booking.helpers import PATIENT, status_in_db
from tests.factories import World, make_world
from tests.live import free_port
from tests.payments.faults import GatewayProxy
from tests.payments.helpers import (
    BANK_CHECK_CARD,
    Localstripe,
    Started,
    card_token,
    paid_booking,
    paid_online,
    pass_bank_check,
    pay,
    payment_row,
    refund_rows,
    run_out,
    start_checkout,
)


def reconcile(
    database_url: str, gateway: Localstripe | str, *flags: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medbook", "payments", "reconcile", *flags],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "MEDBOOK_PAYMENT_API_BASE": gateway if isinstance(gateway, str) else gateway.url,
            "MEDBOOK_LOG_LEVEL": "warning",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def execute(session: AsyncSession, sql: str, **values: object) -> None:
    await session.execute(text(sql), values)
    await session.commit()


async def test_reconcile_lists_then_mends_every_kind_of_mismatch(
    client: AppClient, session: AsyncSession, localstripe: Localstripe, database_url: str
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    # 1. Paid at the gateway (the bank's check passed), but no webhook and no return page.
    unheard = await start_checkout(client, world, world.at(9), await client.patient("a"))
    asked = await pay(
        client, unheard, await card_token(localstripe.url, unheard.fields, BANK_CHECK_CARD)
    )
    await pass_bank_check(localstripe.url, asked.json()["gateway_fields"])
    # 2. Recorded as paid, yet its booking was left a hold (a safety net: no code path does it).
    stranded = await paid_booking(
        client, localstripe, world, world.at(11), await client.patient("b")
    )
    await execute(
        session,
        "UPDATE appointments SET status = 'held', hold_expires_at = now() - interval '1 minute' "
        "WHERE id = :id",
        id=uuid.UUID(stranded.hold_id),
    )
    # 3. A refund recorded, never made at the gateway (the process stopped before it could).
    unrefunded = await paid_booking(
        client, localstripe, world, world.at(13), await client.patient("c")
    )
    refund_id = uuid.uuid4()
    await execute(
        session,
        "WITH recorded AS (INSERT INTO refunds (id, payment_id, amount_cents, reason, status) "
        "VALUES (:id, :payment, 1500, 'clinic_cancelled', 'pending') RETURNING payment_id) "
        "UPDATE payments SET refunded_cents = 1500 WHERE id IN (SELECT payment_id FROM recorded)",
        id=refund_id,
        payment=uuid.UUID(unrefunded.payment_id),
    )
    # 4. Opened two hours ago and never paid; the hold is long over.
    abandoned = await start_checkout(client, world, world.at(15), await client.patient("d"))
    await run_out(session, abandoned.hold_id)
    await execute(
        session,
        "UPDATE payments SET updated_at = now() - interval '2 hours' WHERE id = :id",
        id=uuid.UUID(abandoned.payment_id),
    )

    listed = reconcile(database_url, localstripe)

    assert listed.returncode == 1, listed.stderr
    for subject in (unheard.payment_id, stranded.payment_id, str(refund_id), abandoned.payment_id):
        assert subject in listed.stdout, listed.stdout
    assert "4 mismatch(es)" in listed.stdout
    # Listing changed nothing.
    assert (await payment_row(session, unheard.payment_id)).status == "requires_action"
    assert await status_in_db(session, stranded.hold_id) == "held"

    fixed = reconcile(database_url, localstripe, "--fix")

    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "[to fix]" not in fixed.stdout
    assert (await payment_row(session, unheard.payment_id)).status == "succeeded"
    assert await status_in_db(session, unheard.hold_id) == "confirmed"
    # The stranded one's time was still free: taken back and confirmed, not refunded.
    assert await status_in_db(session, stranded.hold_id) == "confirmed"
    [made] = await refund_rows(session, unrefunded.payment_id)
    assert (made.status, made.amount_cents) == ("succeeded", 1500)
    gateway_refund = await localstripe.sdk().v1.refunds.retrieve_async(made.gateway_reference)
    assert gateway_refund.amount == 1500
    given_up = await payment_row(session, abandoned.payment_id)
    assert given_up.status == "cancelled"
    intent = await localstripe.sdk().v1.payment_intents.retrieve_async(given_up.gateway_reference)
    assert intent.status == "canceled"

    again = reconcile(database_url, localstripe)
    assert again.returncode == 0, again.stdout
    assert "0 mismatch(es)" in again.stdout


async def test_a_refund_made_in_the_gateways_dashboard_is_found_and_recorded_once(
    client: AppClient, session: AsyncSession, localstripe: Localstripe, database_url: str
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    booked = await paid_booking(client, localstripe, world, world.at(9), await client.patient())
    reference = (await payment_row(session, booked.payment_id)).gateway_reference
    # One refund of ours, recorded and not made yet, and one made in the dashboard, without us.
    ours = uuid.uuid4()
    await execute(
        session,
        "WITH recorded AS (INSERT INTO refunds (id, payment_id, amount_cents, reason, status) "
        "VALUES (:id, :payment, 1500, 'clinic_cancelled', 'pending') RETURNING payment_id) "
        "UPDATE payments SET refunded_cents = 1500 WHERE id IN (SELECT payment_id FROM recorded)",
        id=ours,
        payment=uuid.UUID(booked.payment_id),
    )
    dashboard = await localstripe.sdk().v1.refunds.create_async(
        params={"payment_intent": reference, "amount": 2000}
    )

    usual = reconcile(database_url, localstripe)  # the background job's scope: no refund lists
    listed = reconcile(database_url, localstripe, "--refunds-since-days", "30")

    assert dashboard.id not in usual.stdout
    assert listed.returncode == 1, listed.stderr
    assert dashboard.id in listed.stdout
    assert str(ours) in listed.stdout
    assert "2 mismatch(es)" in listed.stdout
    assert [r.id for r in await refund_rows(session, booked.payment_id)] == [ours]

    fixed = reconcile(database_url, localstripe, "--fix", "--refunds-since-days", "30")

    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    rows = {r.reason: r for r in await refund_rows(session, booked.payment_id)}
    assert set(rows) == {"clinic_cancelled", "made_at_gateway"}
    found = rows["made_at_gateway"]
    assert (found.amount_cents, found.status, found.gateway_reference) == (
        2000,
        "succeeded",
        dashboard.id,
    )
    assert rows["clinic_cancelled"].status == "succeeded"
    assert (await payment_row(session, booked.payment_id)).refunded_cents == 3500
    # Ours, now made at the gateway too, is known by its id there: nothing is recorded twice.
    again = reconcile(database_url, localstripe, "--refunds-since-days", "30")
    assert again.returncode == 0, again.stdout
    assert "0 mismatch(es)" in again.stdout
    assert len(await refund_rows(session, booked.payment_id)) == 2
    # Had the dashboard's refund still been pending when recorded, reconciliation only asks how
    # it ended: it never makes that refund a second time.
    await execute(session, "UPDATE refunds SET status = 'pending' WHERE id = :id", id=found.id)
    settled = reconcile(database_url, localstripe, "--fix")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    at_gateway = await localstripe.sdk().v1.refunds.list_async(params={"payment_intent": reference})
    assert sorted(r.amount for r in at_gateway.data) == [1500, 2000]
    assert {r.reason: r.status for r in await refund_rows(session, booked.payment_id)} == {
        "clinic_cancelled": "succeeded",
        "made_at_gateway": "succeeded",
    }


async def paid_at_the_gateway_unheard_of(
    client: AppClient, localstripe: Localstripe, world: World, start: datetime, name: str
) -> Started:
    """Paid at the gateway (the bank's check passed), but no webhook and no return page: our
    record still waits for the bank's check, and the booking is a hold."""
    unheard = await start_checkout(client, world, start, await client.patient(name))
    asked = await pay(
        client, unheard, await card_token(localstripe.url, unheard.fields, BANK_CHECK_CARD)
    )
    await pass_bank_check(localstripe.url, asked.json()["gateway_fields"])
    return unheard


async def test_reconcile_says_what_it_could_not_check_when_the_gateway_is_unreachable(
    client: AppClient, session: AsyncSession, localstripe: Localstripe, database_url: str
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    unheard = await paid_at_the_gateway_unheard_of(client, localstripe, world, world.at(9), "a")
    booked = await paid_booking(client, localstripe, world, world.at(11), await client.patient())
    refund_id = uuid.uuid4()
    await execute(
        session,
        "WITH recorded AS (INSERT INTO refunds (id, payment_id, amount_cents, reason, status) "
        "VALUES (:id, :payment, 1500, 'clinic_cancelled', 'pending') RETURNING payment_id) "
        "UPDATE payments SET refunded_cents = 1500 WHERE id IN (SELECT payment_id FROM recorded)",
        id=refund_id,
        payment=uuid.UUID(booked.payment_id),
    )
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    listed = reconcile(database_url, nowhere)
    mended = reconcile(database_url, nowhere, "--fix")

    assert listed.returncode == 2, listed.stdout + listed.stderr
    assert f"payment {unheard.payment_id}: NOT CHECKED" in listed.stdout, listed.stdout
    assert "1 record(s) NOT CHECKED" in listed.stdout
    assert "0 mismatch(es)" not in listed.stdout  # the refund is still listed, to be made
    assert mended.returncode == 2, mended.stdout + mended.stderr
    assert f"payment {unheard.payment_id}: NOT CHECKED" in mended.stdout
    assert f"refund {refund_id}: NOT CHECKED" in mended.stdout
    assert "Traceback" not in mended.stderr
    # Nothing was changed or claimed done.
    assert (await payment_row(session, unheard.payment_id)).status == "requires_action"
    assert await status_in_db(session, unheard.hold_id) == "held"
    [refund] = await refund_rows(session, booked.payment_id)
    assert refund.status == "pending"

    back = reconcile(database_url, localstripe, "--fix")

    assert back.returncode == 0, back.stdout + back.stderr
    assert "NOT CHECKED" not in back.stdout
    assert await status_in_db(session, unheard.hold_id) == "confirmed"
    [refund] = await refund_rows(session, booked.payment_id)
    assert refund.status == "succeeded"


async def test_the_reconciliation_job_logs_what_it_could_not_check_and_fails_to_be_retried(
    client: AppClient,
    session: AsyncSession,
    localstripe: Localstripe,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    unheard = await paid_at_the_gateway_unheard_of(client, localstripe, world, world.at(9), "a")
    proxy = GatewayProxy(localstripe.url)
    proxy.refuse()
    settings = Settings(
        payment_api_base=proxy.url,
        payment_settle_after_seconds=0,
        payment_gateway_timeout_seconds=1,
    )
    caplog.set_level(logging.DEBUG)
    try:
        async with httpx.AsyncClient() as outbound:
            peers = Gateways(configured_gateway(settings, outbound), session_factory(engine))
            # Two runs that could not check it (the job and its retry): each one says so and
            # fails, so the queue retries it with backoff and, past its retries, shows it failed.
            for _ in range(2):
                with pytest.raises(ReconciliationIncompleteError, match="1 record"):
                    await reconcile_payments(peers, settings)
            assert await status_in_db(session, unheard.hold_id) == "held"
            proxy.release()
            await reconcile_payments(peers, settings)
    finally:
        proxy.stop()

    assert any("reconciled payment" in line for line in lines(caplog))
    assert await status_in_db(session, unheard.hold_id) == "confirmed"
    assert len(not_checked(caplog)) == 2
    [first, *_] = not_checked(caplog)
    assert f"payment {unheard.payment_id} (the payment gateway did not answer)" in first
    # Ids and reasons only: nobody's details, and no tracebacks.
    for line in lines(caplog):
        for personal in (*PATIENT.values(), "Tan Mei Ling", "+6591234567", "mei.ling"):
            assert personal not in line, line
    assert [r for r in caplog.records if r.name.startswith("medbook") and r.exc_info] == []


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def not_checked(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [line for line in lines(caplog) if line.startswith("payment reconciliation:")]
