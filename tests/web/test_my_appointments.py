"""A patient manages their visits in the browser: moves one to another free time, then cancels
it, seeing the refund before confirming; the calendar file is there for a booked visit."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from playwright.async_api import BrowserContext, expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth import sign_in_patient
from tests.booking.helpers import move_appointment
from tests.factories import make_world
from tests.payments.helpers import paid_booking, paid_online, refund_rows
from tests.web.conftest import Stack, screenshot, signed_in

PHONE = {"width": 390, "height": 844}


async def test_a_patient_moves_then_cancels_a_paid_visit_seeing_the_refund_first(
    stack: Stack, new_context: object, session: AsyncSession
) -> None:
    world = await make_world(session)
    await paid_online(session, world, "deposit")
    patient = await sign_in_patient(session, full_name="Ong Li Ting")
    await session.commit()
    async with httpx.AsyncClient(base_url=stack.server.url, timeout=15) as http:
        paid = await paid_booking(http, stack.gateway, world, world.at(9), patient)
    # Days away at a fixed hour (well before the window), whatever the hour the test runs at.
    await move_appointment(session, paid.hold_id, world.at(9, day=world.tomorrow + timedelta(3)))
    context: BrowserContext = await new_context(PHONE)  # type: ignore[operator]
    await signed_in(context, stack, patient)
    page = await context.new_page()

    await page.goto(f"{stack.url}/me/appointments")
    card = page.get_by_role("listitem").filter(has_text="Health screening")
    await expect(card.get_by_role("link", name="Add to calendar")).to_be_visible()
    ics = await page.request.get(
        f"{stack.url}{await card.get_by_role('link', name='Add to calendar').get_attribute('href')}"
    )
    assert ics.status == 200
    assert "BEGIN:VEVENT" in await ics.text()

    await card.get_by_role("button", name="Change time").click()
    await page.get_by_role(
        "button", name=re.compile(r"^Move to 3:00 pm with Dr Doctor 1")
    ).first.click()
    await expect(page.get_by_role("heading", name=re.compile(r"3:00 pm"))).to_be_visible()
    await screenshot(page, "patient-my-appointments")

    moved = page.get_by_role("listitem").filter(has_text="3:00 pm")
    await moved.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("alertdialog")).to_contain_text("You will get $50.00 back.")
    await screenshot(page, "patient-cancel-shows-refund")
    await page.get_by_role("button", name="Yes, cancel it").click()

    await expect(moved).to_contain_text("Cancelled")
    await expect(moved.get_by_role("button", name="Cancel")).to_have_count(0)
    [refund] = await refund_rows(session, paid.payment_id)
    assert (refund.amount_cents, refund.reason) == (5000, "patient_cancelled")
    # The time it was moved from is not listed as a visit of its own.
    await expect(page.get_by_role("listitem").filter(has_text="9:00 am")).to_have_count(0)
