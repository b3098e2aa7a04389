"""The front desk in the browser: a receptionist signs in with password and authenticator code,
checks a patient in, books a walk-in for a patient found by phone, moves a booking, and cancels
a paid one with its refund, all on the live day view."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import AppClient, sign_in_patient, sign_in_staff
from tests.booking.helpers import CHECKOUT, PATIENT, hold_body, move_appointment
from tests.factories import SINGAPORE, World, later_today, make_world
from tests.identity.staff_helpers import code, enrol, make_member
from tests.payments.helpers import Started, paid_booking, paid_online, refund_rows
from tests.web.conftest import Stack, screenshot, signed_in


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.server.url, timeout=15) as client:
        yield client


async def status_of(session: AsyncSession, appointment_id: str) -> str:
    status = await session.scalar(
        text("SELECT status FROM appointments WHERE id = :id"), {"id": uuid.UUID(appointment_id)}
    )
    await session.commit()
    return str(status)


async def booked(http: httpx.AsyncClient, session: AsyncSession, world: World, hour: int) -> str:
    """A confirmed GP visit tomorrow at `hour`, booked by a patient through the API."""
    patient = await sign_in_patient(session, full_name=f"Patient {hour}")
    await session.commit()
    held = await http.post(
        "/api/v1/holds", json=hold_body(world, world.at(hour)), headers=patient.headers
    )
    assert held.status_code == 201, held.text
    hold_id: str = held.json()["hold_id"]
    body = CHECKOUT | {"patient": PATIENT | {"full_name": f"Patient {hour}"}}
    confirmed = await http.post(
        f"/api/v1/holds/{hold_id}/confirm", json=body, headers=patient.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return hold_id


async def desk_page(new_context: object, stack: Stack, session: AsyncSession, world: World) -> Page:
    desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    context: BrowserContext = await new_context()  # type: ignore[operator]
    await signed_in(context, stack, desk)
    page = await context.new_page()
    await page.goto(f"{stack.url}/staff")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    return page


async def test_a_receptionist_signs_in_with_password_and_code_and_sees_the_live_day(
    stack: Stack, new_context: object, session: AsyncSession, client: AppClient
) -> None:
    world = await make_world(session)
    member = await make_member(session, (Role.RECEPTIONIST, world.clinic.id))
    # The authenticator was set up at the first sign-in (over HTTPS, where httpx keeps the
    # __Host- cookies; the in-process app shares the database).
    enrolled = await enrol(client, member)
    context: BrowserContext = await new_context()  # type: ignore[operator]
    page = await context.new_page()

    await page.goto(f"{stack.url}/staff")
    await page.wait_for_url(re.compile(r"/staff/sign-in$"))
    await page.get_by_label("Work email").fill(member.email)
    await page.get_by_label("Password").fill(member.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("6-digit code").fill(code(enrolled.secret, steps_ahead=1))
    await screenshot(page, "staff-sign-in-code")
    await page.get_by_role("button", name="Verify").click()

    await page.wait_for_url(re.compile(r"/staff$"))
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    await expect(page.get_by_role("heading", name=re.compile(world.clinic.name))).to_be_visible()


async def test_the_desk_checks_in_an_arrival(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    world = await make_world(session)
    arriving = await booked(http, session, world, 9)
    # Due in 20 minutes (or, near midnight, 20 minutes late): today, whatever the hour.
    await move_appointment(session, arriving, later_today(20))
    page = await desk_page(new_context, stack, session, world)

    await page.get_by_role("button", name=re.compile("Patient 9")).first.click()
    await page.get_by_role("button", name="Check in").click()

    await expect(page.get_by_role("status").filter(has_text="Checked in.")).to_be_visible()
    assert await status_of(session, arriving) == "checked_in"
    await page.get_by_role("button", name=re.compile("Patient 9")).first.click()
    await expect(page.get_by_role("button", name="Complete")).to_be_visible()
    await screenshot(page, "staff-arrival-checked-in")


async def test_the_desk_books_a_walk_in_for_a_patient_found_by_phone(
    stack: Stack, new_context: object, session: AsyncSession
) -> None:
    world = await make_world(session)
    # A walk-in is booked for now, whatever the hour the test runs at (the world's doctors work
    # 08:00-20:00): Dr Doctor 2 works round the clock, all but the last microsecond of each day.
    await session.execute(
        text(
            "UPDATE weekly_availability SET start_time = '00:00', end_time = '23:59:59.999999'"
            " WHERE practitioner_id = :doctor"
        ),
        {"doctor": world.doctors[1].id},
    )
    known = await sign_in_patient(session, full_name="Lim Ah Seng", phone="+6598765432")
    await session.commit()
    page = await desk_page(new_context, stack, session, world)

    await page.get_by_role("button", name="Walk-in").click()
    await page.get_by_label("Find a patient").fill("9876 5432")
    await page.get_by_role("button", name=re.compile("Lim Ah Seng")).click()
    await page.get_by_label("Practitioner").select_option(label="Dr Doctor 2")
    if later_today(30) < timedelta(0):
        # Near midnight a visit from now would run into tomorrow, past the day's hours: the
        # desk records it as begun half an hour ago (a walk-in may be recorded late).
        begun = datetime.now(SINGAPORE) - timedelta(minutes=30)
        await page.get_by_label("Time").fill(begun.strftime("%Y-%m-%dT%H:%M"))
    await screenshot(page, "staff-walk-in")
    await page.get_by_role("button", name="Book", exact=True).click()

    await expect(page.get_by_role("status").filter(has_text="Booked.")).to_be_visible()
    walk_in = await session.scalar(
        text("SELECT status FROM appointments WHERE patient_id = :patient"), {"patient": known.id}
    )
    await session.commit()
    assert walk_in == "checked_in"  # at the desk today: checked in at once
    await expect(
        page.get_by_role("button", name=re.compile("Lim Ah Seng, GP consultation"))
    ).to_be_visible()


async def test_the_desk_moves_a_booking_to_another_time(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    world = await make_world(session)
    moving = await booked(http, session, world, 10)
    page = await desk_page(new_context, stack, session, world)
    await page.get_by_role("button", name="Next day").click()

    await page.get_by_role("button", name=re.compile("Patient 10")).click()
    await page.get_by_role("button", name="Move").click()
    await page.get_by_role("button", name=re.compile(r"^Move to 3:00 pm with Dr Doctor 1")).click()

    await expect(page.get_by_role("status").filter(has_text="Moved.")).to_be_visible()
    assert await status_of(session, moving) == "rescheduled"
    await expect(
        page.get_by_role("button", name=re.compile(r"^3:00 pm Patient 10"))
    ).to_be_visible()


async def paid_visit_and_the_desk(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> tuple[Started, Page]:
    """A $50 deposit paid online for a screening tomorrow at 11:00, and the desk's day open."""
    world = await make_world(session)
    await paid_online(session, world, "deposit")
    patient = await sign_in_patient(session, full_name="Chua Mei Fen")
    await session.commit()
    paid = await paid_booking(http, stack.gateway, world, world.at(11), patient)
    return paid, await desk_page(new_context, stack, session, world)


async def test_the_desk_cancels_a_paid_booking_and_the_patient_is_refunded(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    paid, page = await paid_visit_and_the_desk(stack, new_context, session, http)
    await page.get_by_role("button", name="Next day").click()

    await page.get_by_role("button", name=re.compile("Tan Mei Ling")).click()  # checkout's name
    await expect(page.get_by_text(re.compile(r"\$50\.00 · succeeded"))).to_be_visible()
    await page.get_by_role("button", name="Cancel", exact=True).click()
    await page.get_by_label("Reason (for the record)").fill("Doctor away")
    await screenshot(page, "staff-cancel-with-refund")
    await page.get_by_role("button", name="Cancel and refund $50.00").click()

    await expect(page.get_by_role("status").filter(has_text="Cancelled")).to_be_visible()
    assert await status_of(session, paid.hold_id) == "cancelled"
    [refund] = await refund_rows(session, paid.payment_id)
    assert (refund.amount_cents, refund.reason, refund.status) == (
        5000,
        "clinic_cancelled",
        "succeeded",
    )


async def test_the_desk_finds_a_patient_and_cancels_their_visit_from_the_patients_page(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    """A patient rings: "when is my appointment? I can't come." The desk finds them by phone."""
    paid, page = await paid_visit_and_the_desk(stack, new_context, session, http)

    await page.get_by_role("link", name="Patients").click()
    await page.get_by_label("Find a patient").fill("9123 4567")  # the phone given at checkout
    await page.get_by_role("button", name=re.compile("Tan Mei Ling")).click()
    visits = page.get_by_role("list", name="Visits")
    await expect(visits.get_by_role("listitem")).to_have_count(1)
    await expect(visits).to_contain_text("11:00 am")
    await visits.get_by_role("button", name="Open").click()
    await expect(page.get_by_text(re.compile(r"\$50\.00 · succeeded"))).to_be_visible()
    # Tomorrow's visit: checking in is for its own day, so it is not offered yet.
    await expect(page.get_by_role("button", name="Check in")).to_have_count(0)
    await screenshot(page, "staff-patients")
    await page.get_by_role("button", name="Cancel", exact=True).click()
    await page.get_by_label("Reason (for the record)").fill("Patient rang to cancel")
    await page.get_by_role("button", name="Cancel and refund $50.00").click()

    await expect(page.get_by_role("status").filter(has_text="Cancelled")).to_be_visible()
    await expect(visits).to_contain_text("Cancelled")
    assert await status_of(session, paid.hold_id) == "cancelled"
    [refund] = await refund_rows(session, paid.payment_id)
    assert (refund.amount_cents, refund.reason) == (5000, "clinic_cancelled")
