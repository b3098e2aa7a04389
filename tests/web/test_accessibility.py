"""Accessibility: axe-core finds no serious or critical violation on any page, and a patient can
book with the keyboard alone.

The gateway's card fields are left out of the scan: in production they are Stripe's own frames,
with Stripe's own labels; localstripe's stand-in is bare inputs.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import sign_in_patient, sign_in_staff
from tests.booking.helpers import book
from tests.factories import make_world
from tests.payments.helpers import paid_online
from tests.web.conftest import Stack, signed_in

SERIOUS = {"serious", "critical"}
AXE = Axe()


async def violations(page: Page) -> list[str]:
    results: Any = await AXE.run(page, context={"exclude": [["#card-fields"]]})
    found = results.response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


async def scan(page: Page, where: str, problems: list[str]) -> None:
    problems += [f"{where}: {violation}" for violation in await violations(page)]


async def test_no_page_has_a_serious_accessibility_violation(
    stack: Stack, new_context: object, session: AsyncSession, client: Any
) -> None:
    world = await make_world(session)
    await paid_online(session, world, "deposit")
    patient = await sign_in_patient(session, full_name="Rahman bin Ali")
    desk = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))
    await session.commit()
    await book(client, world, world.at(9))  # something on the desk's day and in a list
    problems: list[str] = []

    visitor: BrowserContext = await new_context()  # type: ignore[operator]
    page = await visitor.new_page()
    for path in ("/", "/privacy", "/staff/sign-in"):
        await page.goto(f"{stack.url}{path}")
        await expect(page.locator("h1")).to_be_visible()
        await scan(page, path, problems)

    patient_context: BrowserContext = await new_context({"width": 390, "height": 844})  # type: ignore[operator]
    await signed_in(patient_context, stack, patient)
    page = await patient_context.new_page()
    await page.goto(f"{stack.url}/?service={world.screening.id}&day={world.tomorrow.isoformat()}")
    await page.get_by_role("button", name=re.compile(r"^Book 10:00 am")).first.click()
    await page.wait_for_url(re.compile(r"/book/[0-9a-f-]+$"))
    await expect(page.get_by_role("timer")).to_be_visible()
    await scan(page, "checkout details", problems)
    await page.get_by_label("Full name").fill("Rahman bin Ali")
    await page.get_by_label("Mobile number").fill("9123 4567")
    await page.get_by_label(re.compile("I have read the privacy notice")).check()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#card-fields input").first).to_be_visible()
    await scan(page, "checkout payment", problems)
    await page.goto(f"{stack.url}/me/appointments")
    await expect(page.get_by_role("heading", name="My appointments")).to_be_visible()
    await scan(page, "/me/appointments", problems)

    staff_context: BrowserContext = await new_context()  # type: ignore[operator]
    await signed_in(staff_context, stack, desk)
    page = await staff_context.new_page()
    await page.goto(f"{stack.url}/staff")
    await page.get_by_role("button", name="Next day").click()
    await page.get_by_role("button", name=re.compile("Tan Mei Ling")).first.click()
    await expect(page.get_by_role("button", name="Move", exact=True)).to_be_visible()
    await scan(page, "/staff day with a booking open", problems)
    await page.get_by_role("button", name="Walk-in").click()
    await scan(page, "/staff walk-in", problems)
    await page.get_by_role("button", name="Block time").click()
    await scan(page, "/staff block time", problems)
    await page.get_by_role("button", name="Week").click()
    await expect(page.locator(".week")).to_be_visible()
    await scan(page, "/staff week", problems)
    await page.goto(f"{stack.url}/staff/patients")
    await page.get_by_label("Find a patient").fill("Tan Mei")
    await page.get_by_role("button", name=re.compile("Tan Mei Ling")).first.click()
    await expect(page.get_by_role("list", name="Visits")).to_be_visible()
    await scan(page, "/staff/patients", problems)
    await page.goto(
        f"{stack.url}/staff/day-sheet?clinic={world.clinic.id}&day={world.tomorrow.isoformat()}"
    )
    await expect(page.get_by_role("table")).to_be_visible()
    await scan(page, "/staff/day-sheet", problems)
    for link in await admin_pages(page, stack):
        await page.goto(f"{stack.url}{link}")
        await expect(page.locator("h1")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        await scan(page, link, problems)

    assert problems == []


async def admin_pages(page: Page, stack: Stack) -> list[str]:
    """Every administration page the navigation offers (whatever the admin area holds)."""
    await page.goto(f"{stack.url}/admin")
    await expect(page.locator("h1")).to_be_visible()
    links = await page.locator("main a[href^='/admin']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    return ["/admin", *sorted(set(links) - {"/admin"})]


async def test_a_patient_books_with_the_keyboard_alone(
    stack: Stack, new_context: object, session: AsyncSession
) -> None:
    world = await make_world(session)  # the GP visit is paid at the clinic: no card needed
    patient = await sign_in_patient(session, full_name="Kumar s/o Raj")
    await session.commit()
    context: BrowserContext = await new_context()  # type: ignore[operator]
    await signed_in(context, stack, patient)
    page = await context.new_page()
    await page.goto(f"{stack.url}/?service={world.gp.id}&day={world.tomorrow.isoformat()}")
    first_time = page.get_by_role("button", name=re.compile(r"^Book 8:00 am")).first
    await expect(first_time).to_be_visible()

    # Tab from the top of the page to the first free time, then Enter.
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await first_time.evaluate("button => button === document.activeElement"):
            break
    else:
        raise AssertionError("the first free time is never reached with Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/book/[0-9a-f-]+$"))
    name = page.get_by_label("Full name")
    for _ in range(30):
        if await name.evaluate("input => input === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("Kumar s/o Raj")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("9123 4567")
    consent = page.get_by_label(re.compile("I have read the privacy notice"))
    for _ in range(3):  # email, reason, then the consent box
        await page.keyboard.press("Tab")
    assert await consent.evaluate("box => box === document.activeElement")
    await page.keyboard.press("Space")
    await expect(page.get_by_label(re.compile("I have read the privacy notice"))).to_be_checked()
    await page.keyboard.press("Enter")  # submits the form

    await expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    async with httpx.AsyncClient(base_url=stack.server.url) as http:
        mine = await http.get("/api/v1/me/appointments", headers=patient.headers)
    assert [a["status"] for a in mine.json()] == ["confirmed"]
