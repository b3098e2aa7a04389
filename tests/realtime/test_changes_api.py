"""GET /api/v1/changes: the feed as pages, for clients that cannot hold a WebSocket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from medbook.realtime.cursor import Cursor
from medbook.realtime.tasks import prune_once
from tests.auth import AppClient, sign_in_staff
from tests.booking.helpers import PATIENT, assert_problem, book, hold
from tests.factories import World, make_clinic, make_world


def follow(world: World, channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "clinic_id": str(world.clinic.id),
        "from": str(world.tomorrow),
        "to": str(world.tomorrow),
        **extra,
    }


async def start_cursor(client: AppClient, params: dict[str, Any], headers: dict[str, str]) -> str:
    response = await client.get("/api/v1/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["changes"] == []
    cursor: str = response.json()["next"]
    return cursor


async def changes_since(
    client: AppClient, params: dict[str, Any], since: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/changes", params={**params, "since": since}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_staff_follow_a_booking_from_hold_to_cancellation(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    params = follow(world, "staff")
    since = await start_cursor(client, params, staff.cookie_only)

    booked = await book(client, world, world.at(10))
    await client.post(f"/api/v1/appointments/{booked.id}/cancel", json={}, headers=booked.headers)

    page = await changes_since(client, params, since, staff.cookie_only)
    assert [change["type"] for change in page["changes"]] == [
        "appointment.held",
        "appointment.confirmed",
        "appointment.cancelled",
    ]
    assert {change["appointment_id"] for change in page["changes"]} == {booked.id}
    assert page["changes"][0]["starts_at"] == world.at(10).isoformat()
    assert page["more"] is False
    assert page["next"] == page["changes"][-1]["cursor"]
    for change in page["changes"]:
        shown = str(change)
        assert PATIENT["full_name"] not in shown
        assert PATIENT["phone"] not in shown
        assert str(booked.patient.id) not in shown
    # Nothing new: the same cursor comes back, with no changes.
    again = await changes_since(client, params, page["next"], staff.cookie_only)
    assert again == {"changes": [], "next": page["next"], "more": False}


async def test_anyone_may_follow_availability_and_learns_only_taken_or_freed(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    params = follow(world, "availability")
    since = await start_cursor(client, params, {})
    booked = await book(client, world, world.at(10))
    page = await changes_since(client, params, since)
    assert [change["type"] for change in page["changes"]] == ["slot.taken"]
    assert "appointment_id" not in page["changes"][0]
    assert page["changes"][0]["from"] == world.at(10).isoformat()
    # The confirm changed nothing anyone browsing can see, yet the cursor moved past it.
    assert Cursor.parse(page["next"]) > Cursor.parse(page["changes"][0]["cursor"])

    await client.post(f"/api/v1/appointments/{booked.id}/cancel", json={}, headers=booked.headers)
    page = await changes_since(client, params, page["next"])
    assert [change["type"] for change in page["changes"]] == ["slot.freed"]


async def test_a_patient_follows_only_their_own_appointments(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    mine = await client.patient("ann")
    since = await start_cursor(client, {"channel": "mine"}, mine.cookie_only)
    own = await hold(client, world, world.at(10), client_id="ann")
    await hold(client, world, world.at(11), client_id="bob")
    page = await changes_since(client, {"channel": "mine"}, since, mine.cookie_only)
    assert [change["appointment_id"] for change in page["changes"]] == [own.id]

    response = await client.get("/api/v1/changes", params={"channel": "mine"})
    assert_problem(response, 401, "not_signed_in")


async def test_days_and_practitioners_narrow_what_is_followed(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    params = follow(world, "staff", practitioner_id=str(world.doctors[1].id))
    since = await start_cursor(client, params, staff.cookie_only)
    await hold(client, world, world.at(10), doctor=0, client_id="a")
    wanted = await hold(client, world, world.at(10), doctor=1, client_id="b")
    await hold(
        client, world, world.at(10, day=world.tomorrow + timedelta(days=1)), doctor=1, client_id="c"
    )
    page = await changes_since(client, params, since, staff.cookie_only)
    assert [change["appointment_id"] for change in page["changes"]] == [wanted.id]


async def test_a_long_feed_comes_in_pages(client: AppClient, session: AsyncSession) -> None:
    world = await make_world(session)
    params = follow(world, "availability", limit=2)
    cursor = await start_cursor(client, params, {})
    for hour in (9, 10, 11):
        await hold(client, world, world.at(hour), client_id=f"p{hour}")
    seen: list[str] = []
    pages = 0
    while True:
        page = await changes_since(client, params, cursor)
        pages += 1
        seen += [change["from"] for change in page["changes"]]
        cursor = page["next"]
        if not page["more"]:
            break
    assert seen == [world.at(hour).isoformat() for hour in (9, 10, 11)]
    assert pages == 2


async def test_the_staff_channel_needs_staff_with_the_clinic_s_schedule(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    elsewhere = await make_clinic(session, "jurong")
    await session.commit()
    params = follow(world, "staff")
    assert_problem(await client.get("/api/v1/changes", params=params), 401, "not_signed_in")
    patient = await client.patient()
    response = await client.get("/api/v1/changes", params=params, headers=patient.cookie_only)
    assert_problem(response, 403, "staff_only")
    other = await sign_in_staff(session, (Role.RECEPTIONIST, elsewhere.id))
    response = await client.get("/api/v1/changes", params=params, headers=other.cookie_only)
    assert_problem(response, 403, "not_permitted")
    dpo = await sign_in_staff(session, (Role.DATA_PROTECTION_OFFICER, None))
    response = await client.get("/api/v1/changes", params=params, headers=dpo.cookie_only)
    assert_problem(response, 403, "not_permitted")


async def test_bad_requests_say_what_is_wrong(client: AppClient, session: AsyncSession) -> None:
    world = await make_world(session)
    params = follow(world, "availability")
    for since in ("yesterday", "1-2-3", "-5-1"):
        response = await client.get("/api/v1/changes", params={**params, "since": since})
        assert_problem(response, 422, "invalid_cursor")
    response = await client.get(
        "/api/v1/changes", params={**params, "to": str(world.tomorrow - timedelta(days=1))}
    )
    assert_problem(response, 422, "invalid_period")
    response = await client.get(
        "/api/v1/changes", params={**params, "to": str(world.tomorrow + timedelta(days=60))}
    )
    assert_problem(response, 422, "period_too_long")
    response = await client.get("/api/v1/changes", params={"channel": "availability"})
    assert_problem(response, 422, "subscription_incomplete")
    response = await client.get(
        "/api/v1/changes", params={**params, "clinic_id": "00000000-0000-0000-0000-000000000001"}
    )
    assert_problem(response, 404, "clinic_not_found")
    response = await client.get("/api/v1/changes", params={**params, "channel": "everything"})
    assert response.status_code == 422


async def test_a_cursor_older_than_the_kept_feed_is_gone(
    client: AppClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    params = follow(world, "availability")
    old = await start_cursor(client, params, {})
    await hold(client, world, world.at(9), client_id="a")
    await session.execute(text("UPDATE change_events SET recorded_at = now() - interval '30 days'"))
    await session.commit()
    async with client.app.state.sessions() as db:
        assert await prune_once(db, retention_days=7) == 1
        await db.commit()
    response = await client.get("/api/v1/changes", params={**params, "since": old})
    assert_problem(response, 410, "cursor_expired")
    fresh = await start_cursor(client, params, {})
    assert (await changes_since(client, params, fresh))["changes"] == []
