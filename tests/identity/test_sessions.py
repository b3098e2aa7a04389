"""Sessions: server-side, expiring on the database clock, revocable, CSRF-guarded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, SignedIn, new_session, sign_in_staff
from tests.booking.helpers import assert_problem, count_appointments, hold_body
from tests.factories import make_world

SESSION = "/api/v1/session"


async def age_session(session: AsyncSession, who: SignedIn, idle: timedelta) -> None:
    """Make the session look idle for `idle` by the database clock."""
    await session.execute(
        text(
            "UPDATE user_sessions SET last_seen_at = now() - CAST(:idle AS interval) "
            "WHERE patient_id = :id OR staff_id = :id"
        ),
        {"idle": idle, "id": who.id},
    )
    await session.commit()


async def test_the_session_says_who_is_signed_in_and_gives_the_csrf_token(
    client: AppClient,
) -> None:
    patient = await client.patient()

    response = await client.get(SESSION, headers=patient.cookie_only)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "patient"
    assert body["csrf_token"] == patient.csrf_token
    assert body["patient"]["id"] == str(patient.id)
    assert body["patient"]["needs_contact_details"] is False


@pytest.mark.parametrize("cookie", [None, "not-a-session"], ids=["no-cookie", "made-up-token"])
async def test_without_a_live_session_nothing_is_signed_in(
    client: AppClient, cookie: str | None
) -> None:
    headers = {"Cookie": f"__Host-medbook_session={cookie}"} if cookie else {}

    response = await client.get(SESSION, headers=headers)

    assert_problem(response, 401, "not_signed_in")


@pytest.mark.parametrize("csrf", [None, "wrong"], ids=["missing", "wrong"])
async def test_a_state_changing_request_without_the_csrf_token_is_refused(
    client: AppClient, session: AsyncSession, csrf: str | None
) -> None:
    world = await make_world(session)
    patient = await client.patient()
    headers = patient.cookie_only | ({"X-CSRF-Token": csrf} if csrf else {})

    response = await client.post(
        "/api/v1/holds", json=hold_body(world, world.at(10)), headers=headers
    )

    assert_problem(response, 403, "csrf_failed")
    assert await count_appointments(session) == 0


@pytest.mark.parametrize(
    ("kind", "idle_minutes", "alive"),
    [("patient", 29, True), ("patient", 31, False), ("staff", 14, True), ("staff", 16, False)],
)
async def test_a_session_ends_after_its_idle_timeout(
    client: AppClient, session: AsyncSession, kind: str, idle_minutes: int, alive: bool
) -> None:
    who = (
        await client.patient()
        if kind == "patient"
        else await sign_in_staff(session, (Role.RECEPTIONIST, None))
    )
    await age_session(session, who, timedelta(minutes=idle_minutes))

    response = await client.get(SESSION, headers=who.cookie_only)

    assert response.status_code == (200 if alive else 401)


async def test_a_busy_session_still_ends_at_its_absolute_lifetime(
    client: AppClient, session: AsyncSession
) -> None:
    patient = await client.patient()
    await session.execute(
        text(
            "UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE patient_id = :id"
        ),
        {"id": patient.id},
    )
    await session.commit()

    response = await client.get(SESSION, headers=patient.cookie_only)

    assert_problem(response, 401, "not_signed_in")


async def test_signing_out_ends_the_session_and_clears_the_cookie(client: AppClient) -> None:
    patient = await client.patient()

    response = await client.post("/api/v1/auth/sign-out", headers=patient.headers)

    assert response.status_code == 204
    assert '__Host-medbook_session=""' in response.headers["set-cookie"]
    assert (await client.get(SESSION, headers=patient.cookie_only)).status_code == 401


async def test_signing_out_everywhere_ends_every_session_of_that_person_only(
    client: AppClient, session: AsyncSession
) -> None:
    patient = await client.patient()
    other_device = await new_session(session, "patient", patient.id)
    bystander = await client.patient("bystander")

    response = await client.post("/api/v1/auth/sign-out-everywhere", headers=patient.headers)

    assert response.status_code == 204
    assert (await client.get(SESSION, headers=patient.cookie_only)).status_code == 401
    assert (await client.get(SESSION, headers=other_device.cookie_only)).status_code == 401
    assert (await client.get(SESSION, headers=bystander.cookie_only)).status_code == 200
    audit = (
        await session.execute(
            text("SELECT action, detail FROM audit_events WHERE subject_id = :id"),
            {"id": patient.id},
        )
    ).one()
    assert audit.action == "patient.sign_out_everywhere"
    assert audit.detail == {"sessions_ended": 2}


async def test_locking_a_staff_account_ends_its_sessions_at_once(
    client: AppClient, session: AsyncSession
) -> None:
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, None))
    assert (await client.get(SESSION, headers=staff.cookie_only)).status_code == 200

    await session.execute(
        text("UPDATE staff_members SET active = false WHERE id = :id"), {"id": staff.id}
    )
    await session.commit()

    assert (await client.get(SESSION, headers=staff.cookie_only)).status_code == 401


async def test_every_answer_carries_the_security_headers(client: AppClient) -> None:
    response = await client.get("/api/v1/clinics")

    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_a_state_changing_request_from_a_foreign_origin_is_refused(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    patient = await client.patient()

    foreign = await client.post(
        "/api/v1/holds",
        json=hold_body(world, world.at(10)),
        headers=patient.headers | {"Origin": "https://evil.example"},
    )
    ours = await client.post(
        "/api/v1/holds",
        json=hold_body(world, world.at(10)),
        headers=patient.headers | {"Origin": "https://testserver"},
    )

    assert_problem(foreign, 403, "foreign_origin")
    assert ours.status_code == 201, ours.text
    assert await count_appointments(session) == 1
