"""What ending a paid booking gives back, by the policy: before the window everything, after it
all but the deposit, the clinic cancelling everything, a no-show all but the deposit; refunds
staff choose; and every refund made at localstripe with its reference kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import assert_problem, book, move_appointment, status_in_db
from tests.factories import World, make_clinic, make_room, make_weekly_hours, make_world
from tests.payments.helpers import (
    Localstripe,
    Started,
    paid_booking,
    paid_online,
    refund_rows,
)


async def cancel_as_patient(
    client: AppClient, appointment_id: str, patient: SignedIn
) -> dict[str, Any]:
    quote = await client.get(
        f"/api/v1/appointments/{appointment_id}/cancellation", headers=patient.headers
    )
    assert quote.status_code == 200, quote.text
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment_id}/cancel",
        json={"reason": "changed plans"},
        headers=patient.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    return {"quote": quote.json(), "cancelled": cancelled.json()}


async def made_at_gateway(localstripe: Localstripe, reference: str) -> int:
    refund = await localstripe.sdk().v1.refunds.retrieve_async(reference)
    assert refund.status == "succeeded"
    return int(refund.amount)


@pytest.mark.parametrize(
    ("mode", "hours_before", "refunded"),
    [
        pytest.param("deposit", 48, 5000, id="deposit-before-the-window-all-back"),
        pytest.param("deposit", 2, 0, id="deposit-inside-the-window-deposit-kept"),
        pytest.param("full", 48, 18000, id="full-before-the-window-all-back"),
        pytest.param("full", 2, 13000, id="full-inside-the-window-all-but-the-deposit"),
    ],
)
async def test_a_patient_cancelling_gets_back_what_the_policy_says_and_was_told_first(
    client: AppClient,
    session: AsyncSession,
    localstripe: Localstripe,
    mode: str,
    hours_before: int,
    refunded: int,
) -> None:
    world = await make_world(session)
    await paid_online(session, world, mode)
    patient = await client.patient()
    booked = await paid_booking(client, localstripe, world, world.at(10), patient)
    await move_appointment(session, booked.hold_id, timedelta(hours=hours_before))

    seen = await cancel_as_patient(client, booked.hold_id, patient)

    quote, cancelled = seen["quote"], seen["cancelled"]
    late = hours_before < 24
    assert (quote["late"], quote["refund_cents"]) == (late, refunded)
    assert cancelled["status"] == "cancelled"
    assert cancelled["late_cancellation"] is late
    assert sum(r["amount_cents"] for r in cancelled["refunds"]) == refunded
    rows = await refund_rows(session, booked.payment_id)
    assert sum(r.amount_cents for r in rows) == refunded
    for row in rows:
        assert row.reason == ("late_cancellation" if late else "patient_cancelled")
        assert row.status == "succeeded"
        assert await made_at_gateway(localstripe, row.gateway_reference) == row.amount_cents


async def test_the_clinic_cancelling_refunds_everything_even_at_the_last_minute(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world, "full")
    booked = await paid_booking(client, localstripe, world, world.at(10), await client.patient())
    await move_appointment(session, booked.hold_id, timedelta(hours=1))
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    cancelled = await client.post(
        f"/api/v1/staff/appointments/{booked.hold_id}/cancel",
        json={"reason": "doctor unwell"},
        headers=desk.headers,
    )

    assert cancelled.status_code == 200, cancelled.text
    [refund] = cancelled.json()["refunds"]
    assert (refund["amount_cents"], refund["reason"]) == (18000, "clinic_cancelled")
    [row] = await refund_rows(session, booked.payment_id)
    assert await made_at_gateway(localstripe, row.gateway_reference) == 18000


@pytest.mark.parametrize(("mode", "refunded"), [("deposit", 0), ("full", 13000)])
async def test_a_no_show_keeps_the_deposit(
    client: AppClient, session: AsyncSession, localstripe: Localstripe, mode: str, refunded: int
) -> None:
    world = await make_world(session)
    await paid_online(session, world, mode)
    booked = await paid_booking(client, localstripe, world, world.at(10), await client.patient())
    await move_appointment(session, booked.hold_id, timedelta(minutes=-30))
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    marked = await client.post(
        f"/api/v1/staff/appointments/{booked.hold_id}/no-show", headers=desk.headers
    )

    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "no_show"
    assert sum(r["amount_cents"] for r in marked.json()["refunds"]) == refunded
    assert sum(r.amount_cents for r in await refund_rows(session, booked.payment_id)) == refunded


async def test_a_moved_booking_keeps_its_payment_and_is_refunded_when_cancelled(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await client.patient()
    booked = await paid_booking(client, localstripe, world, world.at(10), patient)
    # Both times days away, at any hour the test runs: outside the 24 h window.
    await move_appointment(session, booked.hold_id, world.at(10, day=world.tomorrow + timedelta(3)))
    moved = await client.post(
        f"/api/v1/appointments/{booked.hold_id}/reschedule",
        json={"start": world.at(14, day=world.tomorrow + timedelta(2)).isoformat()},
        headers=patient.headers,
    )
    assert moved.status_code == 201, moved.text
    new_id = moved.json()["id"]

    receipts = await client.get(f"/api/v1/appointments/{new_id}/payments", headers=patient.headers)
    seen = await cancel_as_patient(client, new_id, patient)

    assert [p["id"] for p in receipts.json()] == [booked.payment_id]
    assert receipts.json()[0]["status"] == "succeeded"
    assert seen["cancelled"]["refunds"][0]["amount_cents"] == 5000


async def staff_refund(
    client: AppClient, who: SignedIn, payment_id: str, amount: int, note: str = "goodwill"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/staff/payments/{payment_id}/refunds",
        json={"amount_cents": amount, "note": note},
        headers=who.headers,
    )


async def paid_screening(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> tuple[World, Started]:
    world = await make_world(session)
    await paid_online(session, world, "full")
    booked = await paid_booking(client, localstripe, world, world.at(10), await client.patient())
    return world, booked


async def test_a_clinic_manager_refunds_part_then_the_rest_and_no_more(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world, booked = await paid_screening(client, session, localstripe)
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))

    first = await staff_refund(client, manager, booked.payment_id, 2000, "waited an hour")
    too_much = await staff_refund(client, manager, booked.payment_id, 16001)
    rest = await staff_refund(client, manager, booked.payment_id, 16000)
    nothing_left = await staff_refund(client, manager, booked.payment_id, 1)

    assert first.status_code == 201, first.text
    assert first.json()["note"] == "waited an hour"
    assert_problem(too_much, 422, "refund_too_large")
    assert rest.status_code == 201
    assert_problem(nothing_left, 422, "refund_too_large")
    rows = await refund_rows(session, booked.payment_id)
    assert [(r.amount_cents, r.reason, r.status) for r in rows] == [
        (2000, "staff", "succeeded"),
        (16000, "staff", "succeeded"),
    ]
    assert all(r.requested_by is not None for r in rows)
    for row in rows:
        assert await made_at_gateway(localstripe, row.gateway_reference) == row.amount_cents
    receipts = await client.get(
        f"/api/v1/appointments/{booked.hold_id}/payments", headers=manager.headers
    )
    assert receipts.json()[0]["refunded_cents"] == 18000
    assert [r["amount_cents"] for r in receipts.json()[0]["refunds"]] == [2000, 16000]
    # The booking itself stands: a refund by choice is not a cancellation.
    assert await status_in_db(session, booked.hold_id) == "confirmed"


async def test_refunds_by_choice_are_for_managers_of_that_clinic_and_need_a_reason(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world, booked = await paid_screening(client, session, localstripe)
    other_clinic = await make_clinic(session, "jurong-east")
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    elsewhere = await sign_in_staff(session, (Role.CLINIC_MANAGER, other_clinic.id))
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))

    by_desk = await staff_refund(client, desk, booked.payment_id, 100)
    from_elsewhere = await staff_refund(client, elsewhere, booked.payment_id, 100)
    without_reason = await staff_refund(client, manager, booked.payment_id, 100, note="")
    by_patient = await staff_refund(client, booked.patient, booked.payment_id, 100)

    assert_problem(by_desk, 403, "not_permitted")
    assert_problem(from_elsewhere, 404, "payment_not_found")
    assert without_reason.status_code == 422
    assert by_patient.status_code in (401, 403)
    assert await refund_rows(session, booked.payment_id) == []


async def test_a_refund_by_choice_is_for_the_clinic_a_moved_booking_is_at_now(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    # Given a screening paid in full at Tampines, which the patient moves to Jurong East,
    world = await make_world(session)
    await paid_online(session, world, "full")
    jurong = await make_clinic(session, "jurong-east", name="Medical Inc. Jurong East")
    await make_weekly_hours(session, world.doctors[0], jurong, await make_room(session, jurong))
    await session.commit()
    patient = await client.patient()
    booked = await paid_booking(client, localstripe, world, world.at(10), patient)
    # Both times days away, at any hour the test runs: outside the 24 h window.
    await move_appointment(session, booked.hold_id, world.at(10, day=world.tomorrow + timedelta(3)))
    moved = await client.post(
        f"/api/v1/appointments/{booked.hold_id}/reschedule",
        json={
            "start": world.at(14, day=world.tomorrow + timedelta(2)).isoformat(),
            "clinic_id": str(jurong.id),
        },
        headers=patient.headers,
    )
    assert moved.status_code == 201, moved.text
    tampines_manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))
    jurong_manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, jurong.id))

    # when each clinic's manager refunds some of it by choice,
    by_tampines = await staff_refund(client, tampines_manager, booked.payment_id, 1000)
    by_jurong = await staff_refund(client, jurong_manager, booked.payment_id, 1000)

    # then the booking is Jurong's now, and so is the decision.
    assert_problem(by_tampines, 404, "payment_not_found")
    assert by_jurong.status_code == 201, by_jurong.text
    rows = await refund_rows(session, booked.payment_id)
    assert [(r.amount_cents, r.requested_by) for r in rows] == [(1000, jurong_manager.id)]


async def test_cancelling_a_booking_paid_at_the_clinic_refunds_nothing(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    booked = await book(client, world, world.at(10))
    seen = await cancel_as_patient(client, booked.id, booked.patient)
    assert seen["quote"]["paid_cents"] == 0
    assert seen["cancelled"]["refunds"] == []


async def test_the_desk_sees_the_payments_of_its_day_and_no_other_clinics(
    client: AppClient, session: AsyncSession, localstripe: Localstripe
) -> None:
    world, booked = await paid_screening(client, session, localstripe)
    other_clinic = await make_clinic(session, "novena")
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    elsewhere = await sign_in_staff(session, (Role.RECEPTIONIST, other_clinic.id))
    path = f"/api/v1/staff/clinics/{world.clinic.id}/payments"

    today = await client.get(path, params={"day": world.tomorrow.isoformat()}, headers=desk.headers)
    next_day = await client.get(
        path, params={"day": (world.tomorrow + timedelta(days=1)).isoformat()}, headers=desk.headers
    )
    refused = await client.get(
        path, params={"day": world.tomorrow.isoformat()}, headers=elsewhere.headers
    )

    assert today.status_code == 200, today.text
    [payment] = today.json()
    assert (payment["id"], payment["appointment_id"]) == (booked.payment_id, booked.hold_id)
    assert (payment["status"], payment["amount_cents"]) == ("succeeded", 18000)
    assert payment["gateway_reference"].startswith("pi_")
    assert next_day.json() == []
    assert_problem(refused, 403, "not_permitted")
