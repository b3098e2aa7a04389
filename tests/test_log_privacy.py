"""No personal data in any log line: the platform's main flows run against a real server
logging at DEBUG, and every line it wrote is scanned for NRIC/FIN numbers, e-mail addresses,
Singapore phone numbers, card numbers in any spelling, and the secrets of the run (session and
CSRF tokens, Singpass codes and states, the staff password and authenticator secret), names and
visit reasons. A control plants those same values in a copy of the log: the scan must find
each, so a clean result means clean, not blind.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity.sessions import CSRF_HEADER, SESSION_COOKIE
from medbook.kernel.permissions import Role
from medbook.payments.card_data import card_numbers_anywhere
from tests.booking.helpers import hold_body
from tests.factories import World, make_world
from tests.identity.peers import Persona, mockpass_sign_in
from tests.identity.staff_helpers import (
    CONFIRM,
    ENROLMENT,
    SECOND_FACTOR,
    SIGN_IN,
    code,
    make_member,
)
from tests.payments.helpers import card_token, paid_online
from tests.stack import Stack, start_stack, stop_stack

NRIC = "S8979373D"
PATIENT_NAME = "Goh Siew Lan"
PATIENT_PHONE = "+65 9876 5432"
PATIENT_EMAIL = "siew.lan.goh@example.sg"
VISIT_REASON = "Persistent wheezing after the flu"
STAFF_NAME = "Chua Boon Keng"
CARD_SPELLINGS = (
    "4242424242424242",
    "4242 4242 4242 4242",
    "4242-4242-4242-4242",
    "4242.4242.4242.4242",
)

NRIC_PATTERN = re.compile(r"(?<![A-Za-z0-9])[STFGM]\d{7}[A-Z](?![A-Za-z0-9])", re.IGNORECASE)
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+?65[\s-]?)?[3689]\d{3}[\s-]?\d{4}(?!\w)")


@dataclass
class Secrets:
    """What the run handled that must never reach a log line, besides the patterns."""

    exact: set[str] = field(default_factory=set)

    def add(self, *values: str | None) -> None:
        self.exact.update(value for value in values if value and len(value) >= 6)


def leaks(line: str, secrets: Secrets) -> list[str]:
    """What personal data or secret this log line carries."""
    found = [f"secret {value[:4]}…" for value in secrets.exact if value in line]
    # Ids are not personal data, and a UUID's groups can look like a phone number.
    line = UUID_PATTERN.sub("<id>", line)
    found += [f"NRIC {m}" for m in NRIC_PATTERN.findall(line)]
    found += [f"e-mail {m}" for m in EMAIL_PATTERN.findall(line)]
    found += [f"phone {m.strip()}" for m in PHONE_PATTERN.findall(line)]
    found += [f"card {m}" for m in card_numbers_anywhere(line)]
    return found


@pytest.fixture(scope="module")
def debug_stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(
        database_url,
        tmp_path_factory.mktemp("log-privacy"),
        worker=True,
        MEDBOOK_LOG_LEVEL="debug",
        # The worker reconciles the run's payments while it goes on.
        MEDBOOK_PAYMENT_RECONCILE_SECONDS="2",
        MEDBOOK_PAYMENT_SETTLE_AFTER_SECONDS="0",
    )
    yield stack
    stop_stack(stack)


async def patient_signs_in_with_singpass(
    browser: httpx.AsyncClient, stack: Stack, secrets: Secrets
) -> dict[str, str]:
    login = await browser.get("/api/v1/auth/singpass/login", params={"return_to": "/me"})
    assert login.status_code in (302, 303), login.text
    binding = login.cookies["__Host-medbook_singpass"]
    callback = f"{stack.url}/api/v1/auth/singpass/callback"
    back = await mockpass_sign_in(
        login.headers["location"], Persona(NRIC, str(uuid.uuid4())), redirect_uri=callback
    )
    query = parse_qs(urlsplit(back).query)
    secrets.add(binding, *query.get("code", []), *query.get("state", []))
    done = await browser.get(
        f"/api/v1/auth/singpass/callback?{urlsplit(back).query}",
        headers={"Cookie": f"__Host-medbook_singpass={binding}"},
    )
    assert done.status_code == 303, done.text
    token = done.cookies[SESSION_COOKIE]
    session = await browser.get("/api/v1/session", headers={"Cookie": f"{SESSION_COOKIE}={token}"})
    csrf_token = session.json()["csrf_token"]
    secrets.add(token, csrf_token)
    return {"Cookie": f"{SESSION_COOKIE}={token}", CSRF_HEADER: csrf_token, "Origin": stack.url}


async def patient_books_and_pays(
    browser: httpx.AsyncClient, stack: Stack, world: World, patient: dict[str, str]
) -> str:
    slots = await browser.get(
        "/api/v1/availability",
        params={
            "service_id": str(world.screening.id),
            "practitioner_id": str(world.doctors[0].id),
            "from": world.tomorrow.isoformat(),
            "to": world.tomorrow.isoformat(),
        },
    )
    assert slots.status_code == 200, slots.text
    start = slots.json()["slots"][0]["start"]
    held = await browser.post(
        "/api/v1/holds",
        json={**hold_body(world, world.at(8), 0, world.screening), "start": start},
        headers=patient,
    )
    assert held.status_code == 201, held.text
    hold_id = held.json()["hold_id"]
    contact = {"full_name": PATIENT_NAME, "phone": PATIENT_PHONE, "email": PATIENT_EMAIL}
    checkout = await browser.post(
        f"/api/v1/holds/{hold_id}/payment",
        json={"patient": contact, "visit_reason": VISIT_REASON, "privacy_consent": True},
        headers=patient,
    )
    assert checkout.status_code == 201, checkout.text
    payment_id = checkout.json()["payment"]["id"]
    token = await card_token(stack.gateway.url, checkout.json()["gateway_fields"])
    paid = await browser.post(
        f"/api/v1/payments/{payment_id}/pay", json={"payment_method": token}, headers=patient
    )
    assert paid.json()["appointment"]["status"] == "confirmed", paid.text
    assert (await browser.get(f"/api/v1/payments/{payment_id}", headers=patient)).is_success
    mine = await browser.get("/api/v1/me/appointments", headers=patient)
    assert mine.status_code == 200, mine.text
    return str(paid.json()["appointment"]["id"])


async def staff_signs_in(
    browser: httpx.AsyncClient, stack: Stack, session: AsyncSession, secrets: Secrets
) -> dict[str, str]:
    member = await make_member(
        session,
        (Role.RECEPTIONIST, None),
        email="boon.keng.chua@medical.example",
        full_name=STAFF_NAME,
    )
    secrets.add(member.password)
    wrong = await browser.post(SIGN_IN, json={"email": member.email, "password": "not it at all"})
    assert wrong.status_code == 401, wrong.text
    unknown = await browser.post(
        SIGN_IN, json={"email": "nobody.here@medical.example", "password": "whatever it is"}
    )
    assert unknown.status_code == 401, unknown.text
    signed = await browser.post(SIGN_IN, json={"email": member.email, "password": member.password})
    assert signed.status_code == 200, signed.text
    token = signed.cookies[SESSION_COOKIE]
    step = {"Cookie": f"{SESSION_COOKIE}={token}", "Origin": stack.url}
    csrf_token = signed.json()["csrf_token"]
    started = await browser.post(ENROLMENT, headers={**step, CSRF_HEADER: csrf_token})
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await browser.post(
        CONFIRM, json={"code": code(secret)}, headers={**step, CSRF_HEADER: csrf_token}
    )
    assert confirmed.status_code == 200, confirmed.text
    secrets.add(token, csrf_token, secret, confirmed.json()["csrf_token"])
    secrets.add(*confirmed.json()["recovery_codes"])
    full = confirmed.cookies.get(SESSION_COOKIE, token)
    secrets.add(full)
    assert SECOND_FACTOR  # the code step itself is covered by the sign-in tests
    return {
        "Cookie": f"{SESSION_COOKIE}={full}",
        CSRF_HEADER: confirmed.json()["csrf_token"],
        "Origin": stack.url,
    }


async def desk_searches_and_attends(
    browser: httpx.AsyncClient, world: World, desk: dict[str, str], appointment_id: str
) -> None:
    for term in (NRIC, NRIC[-4:], "9876 5432", PATIENT_PHONE, "Siew Lan", PATIENT_EMAIL):
        found = await browser.get("/api/v1/staff/patients", params={"q": term}, headers=desk)
        assert found.status_code in (200, 422), found.text
    by_nric = await browser.get("/api/v1/staff/patients", params={"q": NRIC}, headers=desk)
    assert by_nric.json(), by_nric.text
    patient_id = by_nric.json()[0]["id"]
    visits = await browser.get(f"/api/v1/staff/patients/{patient_id}/appointments", headers=desk)
    assert visits.status_code == 200, visits.text
    day = await browser.get(
        f"/api/v1/staff/clinics/{world.clinic.id}/day",
        params={"day": world.tomorrow.isoformat()},
        headers=desk,
    )
    assert day.status_code == 200, day.text
    detail = await browser.get(f"/api/v1/staff/appointments/{appointment_id}", headers=desk)
    assert detail.status_code in (200, 404), detail.text


async def strangers_send_bad_input(
    browser: httpx.AsyncClient, world: World, patient: dict[str, str], desk: dict[str, str]
) -> None:
    hold = {**hold_body(world, world.at(9)), "service_id": str(world.gp.id)}
    refusals = [
        await browser.get("/api/v1/staff/patients", params={"q": f"{NRIC}\x00"}, headers=desk),
        await browser.get("/api/v1/clinics", params={"pan": CARD_SPELLINGS[0]}),
        await browser.post(
            "/api/v1/holds",
            content=b"[" * 100_000 + b"]" * 100_000,
            headers={**patient, "Content-Type": "application/json"},
        ),
        await browser.post(SIGN_IN, json={"email": f"{PATIENT_EMAIL}\x1b", "password": "x" * 12}),
    ]
    for spelling in CARD_SPELLINGS:
        held = await browser.post("/api/v1/holds", json=hold, headers=patient)
        if held.status_code == 201:
            refusals.append(
                await browser.post(
                    f"/api/v1/holds/{held.json()['hold_id']}/confirm",
                    json={
                        "visit_reason": f"card {spelling} {PATIENT_NAME}",
                        "privacy_consent": True,
                    },
                    headers=patient,
                )
            )
    # Unknown query parameters are ignored, but never written down.
    ignored = await browser.get("/api/v1/clinics", params={"email": PATIENT_EMAIL, "nric": NRIC})
    assert ignored.status_code == 200, ignored.text
    refusals.append(
        await browser.get(
            "/api/v1/auth/singpass/callback",
            params={"code": NRIC, "state": f"{PATIENT_EMAIL}\x00"},
        )
    )
    for refused in refusals:
        assert 400 <= refused.status_code < 500, refused.text


async def test_debug_logs_of_the_main_flows_carry_no_personal_data(
    debug_stack: Stack, session: AsyncSession
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    secrets = Secrets()
    secrets.add(PATIENT_NAME, VISIT_REASON, STAFF_NAME, NRIC)
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(request.url.path)

    hooks = {"request": [count]}
    async with httpx.AsyncClient(
        base_url=debug_stack.url, timeout=30, event_hooks=hooks
    ) as browser:
        patient = await patient_signs_in_with_singpass(browser, debug_stack, secrets)
        appointment_id = await patient_books_and_pays(browser, debug_stack, world, patient)
        desk = await staff_signs_in(browser, debug_stack, session, secrets)
        await desk_searches_and_attends(browser, world, desk, appointment_id)
        await strangers_send_bad_input(browser, world, patient, desk)
        await browser.post("/api/v1/auth/sign-out", headers=patient)

    log = debug_stack.server.log_path.read_text()
    assert debug_stack.worker is not None
    worker_lines = debug_stack.worker.log.splitlines()
    assert any("payments.reconcile" in line and "Success" in line for line in worker_lines)
    lines = log.splitlines()
    # The capture is real: DEBUG lines were written, and an access line for each flow.
    assert any(" DEBUG " in line for line in lines), log[-2000:]
    assert sum("medbook.access" in line for line in lines) >= len(sent) > 30
    assert any("/api/v1/staff/patients" in line for line in lines)

    found = {line: hits for line in lines + worker_lines if (hits := leaks(line, secrets))}
    assert not found, json.dumps(found, indent=1)[:5000]

    # Control: the same values, planted in lines shaped like ours, are all found.
    planted = [
        f"2026-01-01 00:00:00,000 INFO medbook.access [-] GET /x?{value} 200"
        for value in (
            NRIC,
            PATIENT_EMAIL,
            PATIENT_PHONE,
            "9876 5432",
            *CARD_SPELLINGS,
            *sorted(secrets.exact),
        )
    ]
    missed = [line for line in planted if not leaks(line, secrets)]
    assert not missed, missed


def test_the_scanner_finds_each_kind_and_passes_ordinary_lines() -> None:
    secrets = Secrets()
    secrets.add("tok_abcdef123456")
    for leaking in (
        "q=S8979373D",
        "f=g1234567x",
        "mail mei.ling@example.sg",
        "tel +65 9123 4567",
        "tel 6123-4567",
        "pan 4242 4242 4242 4242",
        "pan " + "".join(chr(0xFF10 + int(digit)) for digit in "4242424242424242"),  # fullwidth
        "pan 4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2",
        "cookie tok_abcdef123456",
    ):
        assert leaks(leaking, secrets), leaking
    for ordinary in (
        "2026-12-03 13:38:01,907 INFO medbook.access [37db0676c66c4a6980cc6e3baff16261] "
        "GET /api/v1/holds/{hold_id} 201 duration_ms=12.3",
        "INFO uvicorn.error [-] Started server process [23255]",
        "WARNING medbook.errors [-] database_unavailable error_id=4bb974d019fa4cd1 status=503",
        f"route=/api/v1/appointments/{uuid.UUID(int=0x12345678123456781234567812345678)}",
        "INFO medbook.access [86857550-4670-40b9-b67f-32e0d9135d18] POST - 422",  # seen in CI
    ):
        assert not leaks(ordinary, secrets), ordinary
