"""The administration pages in the browser: a clinic manager creates a practitioner and gives
them weekly hours, which patients then find in the slot search; closes the clinic on a booked
day and is shown whom to call; a manager of every clinic changes a service's price; an
administrator creates a staff account with a role. Each page is checked with axe-core (no
serious or critical violations)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import SignedIn, sign_in_staff
from tests.factories import World, make_world
from tests.web.conftest import Stack, screenshot, signed_in
from tests.web.test_desk import booked

TABLET = {"width": 1024, "height": 768}


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.server.url, timeout=15) as client:
        yield client


async def admin_page(new_context: object, stack: Stack, who: SignedIn, path: str) -> Page:
    context: BrowserContext = await new_context(TABLET)  # type: ignore[operator]
    await signed_in(context, stack, who)
    page = await context.new_page()
    await page.goto(f"{stack.url}/admin/{path}")
    await expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    return page


async def no_serious_violations(page: Page) -> None:
    results = await Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious


async def manager_of_a_booked_clinic(
    new_context: object, stack: Stack, session: AsyncSession, http: httpx.AsyncClient, path: str
) -> tuple[World, Page]:
    """A clinic with a GP visit booked tomorrow at 10:00, and its manager on an admin page."""
    world = await make_world(session)
    await booked(http, session, world, 10)
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))
    return world, await admin_page(new_context, stack, manager, path)


async def test_a_manager_adds_a_practitioner_with_weekly_hours_and_patients_can_book_them(
    stack: Stack, new_context: object, session: AsyncSession
) -> None:
    world = await make_world(session)
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, world.clinic.id))
    page = await admin_page(new_context, stack, manager, "practitioners")
    await expect(page.get_by_role("row", name=re.compile("Dr Doctor 1"))).to_be_visible()

    await page.get_by_role("button", name="Add a practitioner").click()
    number = page.get_by_label("Registration number")
    await expect(number).to_be_focused()
    await number.fill("M54321B")
    await page.get_by_label("Full name").fill("Lim Wen Hui")
    await page.get_by_label("Profession").fill("doctor")
    await page.get_by_role("checkbox", name="GP consultation").check()
    await no_serious_violations(page)
    await screenshot(page, "admin-practitioner-new")
    await page.get_by_role("button", name="Create practitioner").click()
    created = page.get_by_role("status").filter(has_text="Dr Lim Wen Hui was created")
    await expect(created).to_be_focused()

    # A practitioner works at a clinic once weekly hours there say when: straight on to them.
    await created.get_by_role("link", name="Give Dr Lim Wen Hui weekly hours").click()
    await expect(page.get_by_label("Practitioner", exact=True)).to_have_value(
        re.compile("[0-9a-f-]{36}")
    )
    weekday = world.tomorrow.strftime("%A")
    await page.get_by_label("Day of the week").select_option(label=weekday)
    await page.get_by_label("From", exact=True).fill("09:00")
    await page.get_by_label("Until", exact=True).fill("12:00")
    await page.get_by_label("Room").select_option(label="Room 1")
    await no_serious_violations(page)
    await page.get_by_role("button", name="Add hours").click()
    en_dash = "\u2013"
    saved = page.get_by_role("status").filter(
        has_text=f"Dr Lim Wen Hui, {weekday} 09:00{en_dash}12:00"
    )
    await expect(saved).to_contain_text("No booked appointments are affected.")
    await expect(page.get_by_role("row", name=re.compile("Dr Lim Wen Hui"))).to_contain_text(
        "Room 1"
    )
    await screenshot(page, "admin-availability")

    # A clinic manager of one clinic sees the services, and who may change them.
    await page.get_by_role("link", name="Services and prices").click()
    await expect(page.get_by_text("only an administrator of every clinic")).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("^Edit "))).to_have_count(0)

    patient: BrowserContext = await new_context({"width": 390, "height": 844})  # type: ignore[operator]
    search = await patient.new_page()
    await search.goto(f"{stack.url}/?service={world.gp.id}&day={world.tomorrow.isoformat()}")
    slot = search.get_by_role("button", name=re.compile(r"^Book 9:00 am with Dr Lim Wen Hui "))
    await expect(slot).to_be_visible()
    await expect(
        search.get_by_role("button", name=re.compile(r"^Book 12:00 pm with Dr Lim Wen Hui "))
    ).to_have_count(0)


async def test_a_manager_closes_the_clinic_on_a_booked_day_and_is_told_whom_to_call(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    world, page = await manager_of_a_booked_clinic(new_context, stack, session, http, "closures")

    await page.get_by_role("button", name="Close the clinic").click()
    await page.get_by_role("button", name="Close on these days").click()
    # Nothing typed: the keyboard lands on the first field to fix, and nothing was sent.
    first_day = page.get_by_label("First day")
    await expect(first_day).to_be_focused()
    await expect(first_day).to_have_attribute("aria-invalid", "true")
    await first_day.fill(world.tomorrow.isoformat())
    await page.get_by_label("Reason").fill("Water leak")
    await page.get_by_role("button", name="Close on these days").click()

    outcome = page.get_by_role("status").filter(has_text="is closed on")
    await expect(outcome).to_be_focused()
    await expect(outcome).to_contain_text("1 booked appointment is now outside working time.")
    conflict = outcome.get_by_role("row", name=re.compile("Patient 10"))
    await expect(conflict).to_contain_text("10:00")
    await expect(conflict).to_contain_text("Dr Doctor 1")
    await expect(conflict).to_contain_text("GP consultation")
    await expect(conflict.get_by_role("link", name=re.compile(r"9123"))).to_be_visible()
    await expect(page.get_by_role("row", name=re.compile("Water leak"))).to_be_visible()
    await no_serious_violations(page)
    await screenshot(page, "admin-closure-conflicts")

    # The same day again: the API's refusal, in its words, with what was typed kept.
    await page.get_by_role("button", name="Close the clinic").click()
    await page.get_by_label("First day").fill(world.tomorrow.isoformat())
    await page.get_by_label("Reason").fill("Still leaking")
    await page.get_by_role("button", name="Close on these days").click()
    await expect(page.get_by_role("alert")).to_contain_text("already closed")
    await expect(page.get_by_label("Reason")).to_have_value("Still leaking")


async def test_a_manager_of_every_clinic_changes_a_service_price(
    stack: Stack, new_context: object, session: AsyncSession
) -> None:
    world = await make_world(session)
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, None))
    page = await admin_page(new_context, stack, manager, "services")
    row = page.get_by_role("row", name=re.compile("Health screening"))
    await expect(row).to_contain_text("$180.00")

    await row.get_by_role("button", name="Edit Health screening").click()
    price = page.get_by_label("Price (SGD)")
    await expect(price).to_have_value("180.00")
    # A deposit above the price is caught here, before the API is asked.
    await price.fill("40")
    await page.get_by_role("button", name="Save changes").click()
    deposit = page.get_by_label("Deposit (SGD)")
    await expect(deposit).to_be_focused()
    await expect(deposit).to_have_accessible_description(
        re.compile("cannot be more than the price")
    )
    await price.fill("195.50")
    await no_serious_violations(page)
    await screenshot(page, "admin-service-edit")
    await page.get_by_role("button", name="Save changes").click()

    await expect(page.get_by_role("status")).to_have_text("Health screening was saved.")
    await expect(row).to_contain_text("$195.50")
    cents = await session.scalar(
        text("SELECT price_cents FROM services WHERE id = :id"), {"id": world.screening.id}
    )
    await session.commit()
    assert cents == 19550
    await screenshot(page, "admin-services")


async def test_an_administrator_creates_a_staff_account_with_a_role(
    stack: Stack, new_context: object, session: AsyncSession
) -> None:
    world = await make_world(session)
    administrator = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    page = await admin_page(new_context, stack, administrator, "staff")

    await page.get_by_role("button", name="Add a staff account").click()
    await page.get_by_label("Full name").fill("Siti Rahmah")
    await page.get_by_label("Work email").fill("siti.rahmah@medical.example")
    await page.get_by_label("First password").fill("violet harbour lantern 42")
    await page.get_by_label("Role", exact=True).select_option(label="Receptionist")
    await page.get_by_label("At", exact=True).select_option(label=world.clinic.name)
    await no_serious_violations(page)
    await screenshot(page, "admin-staff-new")
    await page.get_by_role("button", name="Create account").click()

    await expect(page.get_by_role("status")).to_contain_text("The account of Siti Rahmah")
    row = page.get_by_role("row", name=re.compile("Siti Rahmah"))
    await expect(row).to_contain_text(f"Receptionist at {world.clinic.name}")
    await expect(row).to_contain_text("Authenticator not set up yet")
    roles = (
        await session.execute(
            text(
                "SELECT r.role, r.clinic_id FROM staff_roles r JOIN staff_members m "
                "ON m.id = r.staff_id WHERE m.email = 'siti.rahmah@medical.example'"
            )
        )
    ).all()
    await session.commit()
    assert [(role, clinic) for role, clinic in roles] == [("receptionist", world.clinic.id)]

    # Managing the account: a second role, given and taken back.
    await row.get_by_role("button", name="Manage Siti Rahmah").click()
    panel = page.get_by_role("region", name=re.compile("Siti Rahmah"))
    await panel.get_by_label("Role", exact=True).select_option(label="Practitioner")
    await panel.get_by_label("At", exact=True).select_option(label=world.clinic.name)
    await panel.get_by_role("button", name="Give this role").click()
    await expect(panel.get_by_role("status")).to_contain_text("is now Practitioner at")
    await no_serious_violations(page)
    await screenshot(page, "admin-staff")
    await panel.get_by_role("button", name=f"Revoke Practitioner at {world.clinic.name}").click()
    await expect(panel.get_by_role("status")).to_contain_text("is no longer Practitioner")


async def test_a_manager_gives_time_off_and_deactivates_a_practitioner_seeing_whom_to_call(
    stack: Stack, new_context: object, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    world, page = await manager_of_a_booked_clinic(new_context, stack, session, http, "time-off")

    await page.get_by_label("Practitioner").select_option(label="Dr Doctor 1")
    await page.get_by_role("button", name="Add time off").click()
    day = world.tomorrow.isoformat()
    await page.get_by_label("Away from").fill(f"{day}T09:00")
    await page.get_by_label("Back at").fill(f"{day}T12:00")
    await page.get_by_label("Reason").fill("Conference")
    await page.get_by_role("button", name="Add time off").last.click()
    outcome = page.get_by_role("status").filter(has_text="Dr Doctor 1 is away")
    await expect(outcome).to_be_focused()
    await expect(outcome.get_by_role("row", name=re.compile("Patient 10"))).to_contain_text("10:00")
    await expect(page.get_by_role("row", name=re.compile("Conference"))).to_contain_text("9:00")
    await screenshot(page, "admin-time-off")

    await page.get_by_role("link", name="Practitioners").click()
    await page.get_by_role("button", name="Deactivate Dr Doctor 1").click()
    await expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    await page.get_by_role("button", name="Deactivate", exact=True).click()
    outcome = page.get_by_role("status").filter(has_text="Dr Doctor 1 was deactivated")
    await expect(outcome).to_contain_text("1 booked appointment is now outside working time.")
    await expect(outcome.get_by_role("row", name=re.compile("Patient 10"))).to_be_visible()
    listed = page.get_by_role("table", name=re.compile("^Practitioners at"))
    await expect(listed.get_by_role("row", name=re.compile("Dr Doctor 1"))).to_have_count(0)
    await page.get_by_label("Show").select_option(label="Inactive only")
    await expect(listed.get_by_role("row", name=re.compile("Dr Doctor 1"))).to_contain_text(
        "Inactive"
    )
    await screenshot(page, "admin-practitioners")


@pytest.mark.parametrize(
    ("path", "opens"),
    [
        ("practitioners", "Add a practitioner"),
        ("services", "Add a service"),
        ("availability", "Add weekly hours"),
        ("time-off", "Add time off"),
        ("closures", "Close the clinic"),
        ("staff", "Add a staff account"),
    ],
)
async def test_each_page_and_its_form_has_no_serious_accessibility_problems(
    stack: Stack, new_context: object, session: AsyncSession, path: str, opens: str
) -> None:
    await make_world(session)
    administrator = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    page = await admin_page(new_context, stack, administrator, path)
    await expect(page.get_by_role("button", name=opens)).to_be_visible()
    await expect(page.get_by_text("Loading…")).to_have_count(0)
    await no_serious_violations(page)
    await page.get_by_role("button", name=opens).click()
    # The form opens with the keyboard on its first field; sent as it is, it marks what to fix.
    first_field = page.locator("form input:not([disabled]), form select:not([disabled])").first
    await expect(first_field).to_be_focused()
    await page.locator("form button[type=submit]").click()
    await expect(page.locator("form [aria-invalid=true]").first).to_be_focused()
    await no_serious_violations(page)
