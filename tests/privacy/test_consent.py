"""Consent to the privacy notice at checkout: asked of patients once per notice version, recorded
once, never asked of staff booking for a patient; and the reason for the visit kept with it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.privacy.notice import CURRENT_NOTICE_VERSION
from tests.auth import AppClient, SignedIn
from tests.booking.helpers import CHECKOUT, PATIENT, assert_problem, hold, row, status_in_db
from tests.factories import make_world
from tests.privacy.helpers import consents


def confirm_url(hold_id: str) -> str:
    return f"/api/v1/holds/{hold_id}/confirm"


async def test_the_privacy_notice_is_public_and_says_whom_to_ask(client: AppClient) -> None:
    response = await client.get("/api/v1/privacy-notice")

    assert response.status_code == 200, response.text
    assert response.json()["version"] == CURRENT_NOTICE_VERSION
    notice = response.json()["text"]
    assert "privacy@medicalinc.sg" in notice
    for topic in ("What we collect", "Why", "Who sees it", "How long we keep it", "correct"):
        assert topic in notice


async def test_a_patient_who_never_agreed_cannot_confirm_and_nothing_is_kept(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    body = {"patient": PATIENT | {"full_name": "Someone Else"}, "visit_reason": "Sore throat"}

    response = await client.post(confirm_url(held.id), json=body, headers=held.headers)

    problem = assert_problem(response, 422, "privacy_consent_required")
    assert "privacy notice" in problem["detail"]
    assert await status_in_db(session, held.id) == "held"
    assert (await row(session, held.id)).visit_reason == ""
    assert await consents(session, held.patient.id) == []
    me = await client.get("/api/v1/me", headers=held.headers)
    assert me.json()["full_name"] != "Someone Else"  # the refused request changed nothing


async def test_agreeing_at_checkout_records_the_consent_once_and_is_not_asked_again(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    first = await hold(client, world, world.at(10))
    body = CHECKOUT | {"visit_reason": "Cough for two weeks"}

    agreed = await client.post(confirm_url(first.id), json=body, headers=first.headers)

    assert agreed.status_code == 200, agreed.text
    assert (await row(session, first.id)).visit_reason == "Cough for two weeks"
    [consent] = await consents(session, first.patient.id)
    assert consent.notice_version == CURRENT_NOTICE_VERSION
    assert consent.channel == "online"
    assert consent.given_at is not None

    # The next booking needs no consent, and agreeing again records nothing new.
    second = await hold(client, world, world.at(11))
    third = await hold(client, world, world.at(12))
    not_asked = await client.post(confirm_url(second.id), json={}, headers=second.headers)
    again = await client.post(confirm_url(third.id), json=CHECKOUT, headers=third.headers)

    assert not_asked.status_code == 200, not_asked.text
    assert again.status_code == 200, again.text
    assert [c.id for c in await consents(session, first.patient.id)] == [consent.id]


async def test_a_consent_to_an_older_notice_is_not_enough(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))
    await session.execute(
        text(
            "INSERT INTO consents (patient_id, notice_version, channel) "
            "VALUES (:id, '2020-01', 'online')"
        ),
        {"id": held.patient.id},
    )
    await session.commit()

    refused = await client.post(confirm_url(held.id), json={}, headers=held.headers)
    agreed = await client.post(
        confirm_url(held.id), json={"privacy_consent": True}, headers=held.headers
    )

    assert_problem(refused, 422, "privacy_consent_required")
    assert agreed.status_code == 200, agreed.text
    versions = [c.notice_version for c in await consents(session, held.patient.id)]
    assert versions == ["2020-01", CURRENT_NOTICE_VERSION]


async def test_two_checkouts_agreeing_at_once_record_one_consent(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    holds = [await hold(client, world, world.at(hour)) for hour in (10, 11, 12)]

    answers = await asyncio.gather(
        *(client.post(confirm_url(h.id), json=CHECKOUT, headers=h.headers) for h in holds)
    )

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert len(await consents(session, holds[0].patient.id)) == 1


async def test_staff_booking_for_a_patient_need_no_online_consent(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    world = await make_world(session)
    patient = await client.patient()
    bodies = [{"visit_reason": "Follow-up"}, {"privacy_consent": True}]
    held = []
    for hour in (10, 11):
        response = await client.post(
            "/api/v1/holds",
            json={
                "clinic_id": str(world.clinic.id),
                "practitioner_id": str(world.doctors[0].id),
                "service_id": str(world.gp.id),
                "start": world.at(hour).isoformat(),
                "patient_id": str(patient.id),
            },
            headers=staff.headers,
        )
        assert response.status_code == 201, response.text
        held.append(response.json()["hold_id"])

    without = await client.post(confirm_url(held[0]), json=bodies[0], headers=staff.headers)
    assert without.status_code == 200, without.text
    assert (await row(session, held[0])).visit_reason == "Follow-up"
    assert await consents(session, patient.id) == []

    # A consent the patient gives at the desk is recorded as such.
    at_desk = await client.post(confirm_url(held[1]), json=bodies[1], headers=staff.headers)
    assert at_desk.status_code == 200, at_desk.text
    assert [c.channel for c in await consents(session, patient.id)] == ["desk"]


async def test_opening_a_payment_needs_consent_too(
    client: AppClient, session: AsyncSession
) -> None:
    # The consent is asked before the gateway is: no payment is opened without it.
    world = await make_world(session)
    await session.execute(
        text("UPDATE services SET online_payment = 'deposit' WHERE id = :id"),
        {"id": world.screening.id},
    )
    await session.commit()
    held = await hold(client, world, world.at(10), service=world.screening)

    response = await client.post(
        f"/api/v1/holds/{held.id}/payment", json={"patient": PATIENT}, headers=held.headers
    )

    assert_problem(response, 422, "privacy_consent_required")
    payments = (await session.execute(text("SELECT count(*) FROM payments"))).scalar_one()
    await session.commit()
    assert payments == 0


async def test_a_visit_reason_is_at_most_500_characters(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))

    response = await client.post(
        confirm_url(held.id), json=CHECKOUT | {"visit_reason": "x" * 501}, headers=held.headers
    )

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "visit_reason"]
    assert await status_in_db(session, held.id) == "held"


@pytest.mark.parametrize(
    ("notice_version", "channel", "constraint"),
    [
        (CURRENT_NOTICE_VERSION, "desk", "uq_consents_patient_version"),
        ("2020-01", "email", "ck_consents_channel"),
    ],
    ids=["twice-for-one-version", "unknown-channel"],
)
async def test_the_database_keeps_one_consent_per_version_given_online_or_at_the_desk(
    client: AppClient, session: AsyncSession, notice_version: str, channel: str, constraint: str
) -> None:
    patient = await client.patient()
    insert = text(
        "INSERT INTO consents (patient_id, notice_version, channel) VALUES (:id, :version, :channel)"
    )
    await session.execute(
        insert, {"id": patient.id, "version": CURRENT_NOTICE_VERSION, "channel": "online"}
    )

    with pytest.raises(IntegrityError, match=constraint):
        await session.execute(
            insert, {"id": patient.id, "version": notice_version, "channel": channel}
        )
    await session.rollback()
