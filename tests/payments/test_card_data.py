"""Card data never reaches us: after whole payments with real card numbers through localstripe,
no table, log line or answer of ours holds a card number or a security code; no column could
hold one; no endpoint takes one; and the pages load scripts only from us and the gateway."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from medbook.payments.card_data import card_numbers_anywhere, is_card_field
from tests.auth import AppClient, sign_in_patient, sign_in_staff
from tests.booking.helpers import PATIENT, assert_problem, hold
from tests.factories import make_world
from tests.live import LiveServer
from tests.payments.helpers import (
    BANK_CHECK_CARD,
    CVC,
    DECLINED_CARD,
    GOOD_CARD,
    Localstripe,
    card_token,
    paid_online,
    pass_bank_check,
    pay,
    start_checkout,
)

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")
CARDS_USED = (GOOD_CARD, DECLINED_CARD, BANK_CHECK_CARD)


def leaks(found_in: str, text_: str) -> list[str]:
    """Card numbers (any Luhn-valid 13-19 digit run, or one of the cards used, however split)
    and security-code fields in `text_`."""
    problems = [f"{found_in}: card number {pan}" for pan in card_numbers_anywhere(text_)]
    squeezed = text_.replace(" ", "").replace("-", "")
    problems += [f"{found_in}: card {pan}" for pan in CARDS_USED if pan in squeezed]
    lowered = text_.lower()
    problems += [
        f"{found_in}: security-code field {name}"
        for name in ('"cvc"', '"cvv"', "'cvc'", "cvc=", "cvv=")
        if name in lowered
    ]
    return problems


async def scan_database(session: AsyncSession) -> list[str]:
    columns = (
        await session.execute(
            text(
                """
                SELECT table_name, column_name FROM information_schema.columns
                 WHERE table_schema = 'public' AND data_type = ANY(:types)
                 ORDER BY table_name, column_name
                """
            ),
            {"types": list(TEXT_TYPES)},
        )
    ).all()
    problems: list[str] = []
    for table, column in columns:
        values = await session.scalars(
            text(f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL')
        )
        for value in values:
            problems += leaks(f"{table}.{column}", value)
    await session.commit()
    assert columns, "no text columns found: the scan itself is broken"
    return problems


@pytest.fixture
async def http(payment_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=payment_server.url, timeout=15) as client:
        yield client


async def test_after_real_payments_no_card_data_is_in_our_tables_logs_or_answers(
    http: httpx.AsyncClient,
    session: AsyncSession,
    localstripe: Localstripe,
    payment_server: LiveServer,
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await sign_in_patient(session)
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))
    await session.commit()
    answers: list[str] = []

    async def keep(response: httpx.Response) -> httpx.Response:
        answers.append(response.text)
        return response

    # Declined, then paid with a card whose bank checks it, then a plain good card elsewhere.
    first = await start_checkout(http, world, world.at(9), patient)
    answers.append(json.dumps(first.checkout))
    await keep(
        await pay(http, first, await card_token(localstripe.url, first.fields, DECLINED_CARD))
    )
    page = await keep(
        await http.get(f"/api/v1/payments/{first.payment_id}", headers=patient.headers)
    )
    asked = await keep(
        await pay(
            http,
            first,
            await card_token(localstripe.url, page.json()["gateway_fields"], BANK_CHECK_CARD),
        )
    )
    await pass_bank_check(localstripe.url, asked.json()["gateway_fields"])
    await keep(await http.get(f"/api/v1/payments/{first.payment_id}", headers=patient.headers))
    second = await start_checkout(http, world, world.at(11), patient)
    answers.append(json.dumps(second.checkout))
    paid = await keep(
        await pay(http, second, await card_token(localstripe.url, second.fields, GOOD_CARD))
    )
    assert paid.json()["appointment"]["status"] == "confirmed"
    # Someone tries to give us the card itself: refused at the door, so never stored or logged.
    refused = await keep(
        await http.post(
            f"/api/v1/holds/{second.hold_id}/payment",
            json={"patient": PATIENT, "card": {"number": GOOD_CARD, "cvc": CVC}},
            headers=patient.headers,
        )
    )
    assert_problem(refused, 422, "card_data_refused")
    # Receipts, a refund by the manager, a cancellation with its refund, the desk's view.
    await keep(
        await http.get(f"/api/v1/appointments/{second.hold_id}/payments", headers=patient.headers)
    )
    await keep(
        await http.post(
            f"/api/v1/staff/payments/{second.payment_id}/refunds",
            json={"amount_cents": 1000, "note": "kept waiting"},
            headers=manager.headers,
        )
    )
    await keep(
        await http.post(
            f"/api/v1/appointments/{first.hold_id}/cancel", json={}, headers=patient.headers
        )
    )
    await keep(
        await http.get(
            f"/api/v1/staff/clinics/{world.clinic.id}/day",
            params={"day": world.tomorrow.isoformat()},
            headers=manager.headers,
        )
    )

    assert await scan_database(session) == []
    assert leaks("server log", payment_server.log_path.read_text()) == []
    assert [problem for answer in answers for problem in leaks("answer", answer)] == []
    # The scans can see: the same card written into a note is found at once.
    await session.execute(
        text("UPDATE appointments SET note = :note WHERE id = :id"),
        {
            "note": f"card {GOOD_CARD[:4]} {GOOD_CARD[4:8]} {GOOD_CARD[8:12]} {GOOD_CARD[12:]}",
            "id": uuid.UUID(second.hold_id),
        },
    )
    await session.commit()
    assert "appointments.note: card number 4242424242424242" in await scan_database(session)


async def test_no_column_could_hold_card_data(session: AsyncSession) -> None:
    columns = (
        await session.execute(
            text(
                """
                SELECT table_name, column_name, data_type, character_maximum_length
                  FROM information_schema.columns WHERE table_schema = 'public'
                """
            )
        )
    ).all()
    await session.commit()
    named_like_card_data = [
        f"{table}.{column}"
        for table, column, _, _ in columns
        if is_card_field(column)
        or any(part in column.lower() for part in ("card", "cvv", "cvc", "exp_month", "expiry"))
    ]
    assert named_like_card_data == []
    money = {
        (table, column): (kind, length)
        for table, column, kind, length in columns
        if table in ("payments", "refunds", "gateway_events")
    }
    # Exactly these, each text short and bounded: a new column is a decision (see models.py).
    assert money == {
        ("payments", "id"): ("uuid", None),
        ("payments", "appointment_id"): ("uuid", None),
        ("payments", "purpose"): ("character varying", 8),
        ("payments", "amount_cents"): ("integer", None),
        ("payments", "currency"): ("character varying", 3),
        ("payments", "gateway"): ("character varying", 16),
        ("payments", "gateway_reference"): ("character varying", 64),
        ("payments", "status"): ("character varying", 16),
        ("payments", "failure_code"): ("character varying", 64),
        ("payments", "refunded_cents"): ("integer", None),
        ("payments", "created_at"): ("timestamp with time zone", None),
        ("payments", "updated_at"): ("timestamp with time zone", None),
        ("payments", "succeeded_at"): ("timestamp with time zone", None),
        ("refunds", "id"): ("uuid", None),
        ("refunds", "payment_id"): ("uuid", None),
        ("refunds", "amount_cents"): ("integer", None),
        ("refunds", "reason"): ("character varying", 24),
        ("refunds", "note"): ("character varying", 500),
        ("refunds", "requested_by"): ("uuid", None),
        ("refunds", "status"): ("character varying", 12),
        ("refunds", "gateway_reference"): ("character varying", 64),
        ("refunds", "failure_code"): ("character varying", 64),
        ("refunds", "created_at"): ("timestamp with time zone", None),
        ("refunds", "updated_at"): ("timestamp with time zone", None),
        ("gateway_events", "gateway"): ("character varying", 16),
        ("gateway_events", "event_id"): ("character varying", 255),
        ("gateway_events", "type"): ("character varying", 64),
        ("gateway_events", "payment_id"): ("uuid", None),
        ("gateway_events", "received_at"): ("timestamp with time zone", None),
    }


CARD_BODY = {"card_number": "4242 4242 4242 4242", "cvc": CVC, "exp_month": 12}


async def test_no_endpoint_takes_card_fields_or_a_card_number(
    client: AppClient, session: AsyncSession
) -> None:
    staff = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    await session.commit()
    document = client.app.openapi()
    refused: list[str] = []
    for path, operations in document["paths"].items():
        url = "/" + "/".join(
            str(uuid.uuid4()) if segment.startswith("{") else segment
            for segment in path.strip("/").split("/")
        )
        for method in operations:
            if path.startswith("/api/v1/payments/webhooks/"):
                continue  # signed by the gateway; refused below for want of a signature
            if method in ("get", "delete"):
                response = await client.request(
                    method.upper(), url, params={"card_number": GOOD_CARD}, headers=staff.headers
                )
            else:
                response = await client.request(
                    method.upper(), url, json=CARD_BODY, headers=staff.headers
                )
            if response.status_code == 422 and response.json()["code"] == "card_data_refused":
                refused.append(f"{method} {path}")
            else:
                pytest.fail(
                    f"{method.upper()} {path} answered {response.status_code}: {response.text}"
                )
    assert len(refused) > 30  # every operation was tried
    webhook = await client.post("/api/v1/payments/webhooks/stripe", json=CARD_BODY)
    assert_problem(webhook, 400, "webhook_refused")


@pytest.mark.parametrize(
    ("where", "body"),
    [
        pytest.param(
            "name", {"patient": PATIENT | {"full_name": "4242 4242 4242 4242"}}, id="pan-in-a-name"
        ),
        pytest.param("nested", {"patient": PATIENT | {"cvv": "123"}}, id="cvv-field"),
        pytest.param("token", {"payment_method": GOOD_CARD}, id="pan-as-the-token"),
    ],
)
async def test_a_card_number_hidden_in_an_ordinary_field_is_refused_too(
    client: AppClient, session: AsyncSession, where: str, body: dict[str, Any]
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    response = await client.post(
        f"/api/v1/holds/{held.id}/payment", json=body, headers=held.headers
    )
    problem = assert_problem(response, 422, "card_data_refused")
    assert GOOD_CARD not in problem["detail"]


async def test_pages_load_scripts_only_from_us_and_the_gateway(
    client: AppClient, localstripe: Localstripe
) -> None:
    page = await client.get("/book/pay")
    api = await client.get("/api/v1/clinics")

    directives = {
        name: set(values)
        for name, *values in (
            part.split()
            for part in page.headers["content-security-policy"].split(";")
            if part.strip()
        )
    }
    assert directives["script-src"] == {"'self'", localstripe.url}
    assert directives["frame-src"] == {localstripe.url}
    assert directives["default-src"] == {"'self'"}
    assert directives["object-src"] == {"'none'"}
    assert directives["frame-ancestors"] == {"'none'"}
    assert "default-src 'none'" in api.headers["content-security-policy"]
