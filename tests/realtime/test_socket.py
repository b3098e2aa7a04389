"""The change feed's WebSocket, against real server processes sharing one database.

Process A is `live_server` (default settings), process B is `tuned_server` (see conftest.py).
Changes are made over HTTP through one process and watched on the other's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from medbook.kernel.permissions import Role
from medbook.realtime.cursor import Cursor
from tests.auth import SignedIn, sign_in_patient, sign_in_staff
from tests.booking.helpers import PATIENT, hold_body
from tests.factories import SINGAPORE, World, make_clinic, make_world
from tests.live import LiveServer
from tests.realtime.helpers import (
    CURSOR_PATTERN,
    HOLD_TTL_SECONDS,
    PUBLIC_BASE_URL,
    QUEUE_CAPACITY,
    SEND_TIMEOUT_SECONDS,
    SLOT_KEYS,
    Feed,
    Received,
    connect_to,
    insert_blocks,
    open_feed,
    subscription,
    ws_url,
)

LATENCY_LIMIT = 1.0


@pytest.fixture
async def http_a(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        yield http


@pytest.fixture
async def http_b(tuned_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tuned_server.url, timeout=10) as http:
        yield http


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Timed:
    """When a request went out and when its answer came back (time.monotonic())."""

    def __init__(self, sent: float, returned: float, body: Any) -> None:
        self.sent = sent
        self.returned = returned
        self.body = body

    def latency(self, received: Received) -> float:
        """How long after the answer came back the message arrived (0: it was there first)."""
        return max(0.0, received.at - self.returned)


async def call(http: httpx.AsyncClient, method: str, path: str, who: SignedIn, **kw: Any) -> Timed:
    sent = time.monotonic()
    response = await http.request(method, path, headers=who.headers, **kw)
    returned = time.monotonic()
    assert response.is_success, response.text
    return Timed(sent, returned, response.json() if response.content else None)


async def place_hold(
    http: httpx.AsyncClient, world: World, patient: SignedIn, start: datetime, doctor: int = 0
) -> Timed:
    return await call(http, "POST", "/api/v1/holds", patient, json=hold_body(world, start, doctor))


async def confirm(
    http: httpx.AsyncClient, hold_id: str, patient: SignedIn, contact: dict[str, str] = PATIENT
) -> Timed:
    path = f"/api/v1/holds/{hold_id}/confirm"
    return await call(
        http, "POST", path, patient, json={"patient": contact, "privacy_consent": True}
    )


async def cancel(http: httpx.AsyncClient, appointment_id: str, patient: SignedIn) -> Timed:
    path = f"/api/v1/appointments/{appointment_id}/cancel"
    return await call(http, "POST", path, patient, json={"reason": "plans changed"})


async def release(http: httpx.AsyncClient, hold_id: str, patient: SignedIn) -> Timed:
    return await call(http, "DELETE", f"/api/v1/holds/{hold_id}", patient)


async def polled_changes(
    http: httpx.AsyncClient,
    world: World,
    channel: str,
    since: str,
    who: SignedIn | None = None,
    texts: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Everything GET /api/v1/changes has for the channel after `since`, page by page (each
    answer's raw text added to `texts`)."""
    params: dict[str, str | list[str]] = {"channel": channel, "since": since}
    if channel != "mine":
        day = world.tomorrow.isoformat()
        params |= {"clinic_id": [str(world.clinic.id)], "from": day, "to": day}
    changes: list[dict[str, Any]] = []
    for _ in range(100):
        response = await http.get(
            "/api/v1/changes", params=params, headers=who.cookie_only if who else {}
        )
        assert response.status_code == 200, response.text
        if texts is not None:
            texts.append(response.text)
        body = response.json()
        changes += body["changes"]
        params["since"] = body["next"]
        if not body["more"]:
            return changes
    raise AssertionError("the feed never ran out of pages")


def kinds(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(change["appointment_id"], change["type"]) for change in changes]


def cursor(text: str) -> Cursor:
    return Cursor.parse(text)


# 1. Two processes, one database


async def test_a_hold_confirm_and_cancel_through_one_process_reach_the_others_socket_in_a_second(
    session: AsyncSession,
    tuned_server: LiveServer,
    http_a: httpx.AsyncClient,
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    patient = await sign_in_patient(session)

    async with open_feed(tuned_server, staff) as desk, open_feed(tuned_server) as slots:
        await desk.subscribe(subscription(world, "staff"))
        await slots.subscribe(subscription(world, "availability"))

        held_call = await place_hold(http_a, world, patient, world.at(10))
        hold_id = held_call.body["hold_id"]
        held = await desk.change()
        confirm_call = await confirm(http_a, hold_id, patient)
        confirmed = await desk.change()
        cancel_call = await cancel(http_a, hold_id, patient)
        cancelled = await desk.change()
        taken, freed = await slots.change(), await slots.change()
        await slots.quiet(0.3)  # held -> confirmed kept the time taken: nothing to say

    latencies = {
        "hold": held_call.latency(held),
        "confirm": confirm_call.latency(confirmed),
        "cancel": cancel_call.latency(cancelled),
        "slot.taken": held_call.latency(taken),
        "slot.freed": cancel_call.latency(freed),
    }
    since_sent = {
        "hold": held.at - held_call.sent,
        "confirm": confirmed.at - confirm_call.sent,
        "cancel": cancelled.at - cancel_call.sent,
    }
    print(
        "\nA -> B, after the HTTP answer: "
        + ", ".join(f"{name} {ms(value)}" for name, value in latencies.items())
        + "; after the request went out: "
        + ", ".join(f"{name} {ms(value)}" for name, value in since_sent.items())
    )
    assert kinds([held.change, confirmed.change, cancelled.change]) == [
        (hold_id, "appointment.held"),
        (hold_id, "appointment.confirmed"),
        (hold_id, "appointment.cancelled"),
    ]
    assert [c.change["previous_status"] for c in (held, confirmed, cancelled)] == [
        None,
        "held",
        "confirmed",
    ]
    assert [taken.change["type"], freed.change["type"]] == ["slot.taken", "slot.freed"]
    assert taken.change["from"] == freed.change["from"] == world.at(10).isoformat()
    assert max(latencies.values()) < LATENCY_LIMIT


# 2. Hold expiry, announced by the worker, seen on an API process


async def test_a_hold_running_out_reaches_the_other_process_within_a_second_of_expiry_not_before(
    session: AsyncSession, live_server: LiveServer, http_b: httpx.AsyncClient
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    patient = await sign_in_patient(session)

    async with open_feed(live_server, staff) as desk, open_feed(live_server) as slots:
        await desk.subscribe(subscription(world, "staff"))
        await slots.subscribe(subscription(world, "availability"))
        # B holds for HOLD_TTL_SECONDS; the worker beside it announces the expiry, A hears it.
        hold = await place_hold(http_b, world, patient, world.at(11))
        expires_at = datetime.fromisoformat(hold.body["expires_at"])
        held = await desk.change()
        taken = await slots.change()
        expired = await desk.change(timeout=HOLD_TTL_SECONDS + 2)
        freed = await slots.change(timeout=2)

    hold_id = hold.body["hold_id"]
    late = expired.wall - expires_at.timestamp()
    freed_late = freed.wall - expires_at.timestamp()
    print(
        f"\nexpiry announced on A {ms(late)} after the hold's expiry (slot.freed {ms(freed_late)})"
    )
    assert kinds([held.change, expired.change]) == [
        (hold_id, "appointment.held"),
        (hold_id, "appointment.expired"),
    ]
    assert datetime.fromisoformat(held.change["hold_expires_at"]) == expires_at
    assert expires_at - datetime.fromisoformat(held.change["at"]) == pytest.approx(
        timedelta(seconds=HOLD_TTL_SECONDS), abs=timedelta(seconds=0.5)
    )
    assert expired.change["previous_status"] == "held"
    assert expired.change["hold_expires_at"] is None
    # Not before the mark, by the database clock and by ours, and within a second of it.
    assert datetime.fromisoformat(expired.change["at"]) >= expires_at
    assert 0 <= late < LATENCY_LIMIT
    assert [taken.change["type"], freed.change["type"]] == ["slot.taken", "slot.freed"]
    assert 0 <= freed_late < LATENCY_LIMIT


# 3. Cut off, then resumed from the last cursor


async def test_a_client_cut_off_abruptly_resumes_from_its_cursor_with_exactly_what_it_missed(
    session: AsyncSession, tuned_server: LiveServer, http_a: httpx.AsyncClient
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    ann = await sign_in_patient(session)
    bob = await sign_in_patient(session, full_name="Bob Lim", phone="+6598765432")

    feed = Feed(await connect_to(tuned_server, staff))
    try:
        await feed.subscribe(subscription(world, "staff"))
        first = (await place_hold(http_a, world, ann, world.at(9))).body["hold_id"]
        last_seen = (await feed.change()).change["cursor"]
        feed.connection.transport.abort()  # no closing handshake: the TCP connection just ends
        assert await feed.closed() == 1006
    finally:
        await feed.aclose()

    second = (await place_hold(http_a, world, ann, world.at(10))).body["hold_id"]
    await confirm(http_a, second, ann)
    third = (await place_hold(http_a, world, bob, world.at(11), doctor=1)).body["hold_id"]
    await cancel(http_a, second, ann)
    await release(http_a, first, ann)
    fourth = (await place_hold(http_a, world, bob, world.at(12))).body["hold_id"]
    missed = [
        (second, "appointment.held"),
        (second, "appointment.confirmed"),
        (third, "appointment.held"),
        (second, "appointment.cancelled"),
        (first, "appointment.released"),
        (fourth, "appointment.held"),
    ]
    polled = await polled_changes(http_a, world, "staff", last_seen, staff)
    assert kinds(polled) == missed

    async with open_feed(tuned_server, staff) as resumed:
        await resumed.send(subscription(world, "staff", since=last_seen))
        subscribed = await resumed.expect("subscribed")
        replayed, live = await resumed.replay()
        fifth = (await place_hold(http_a, world, ann, world.at(13))).body["hold_id"]
        after = (await resumed.change()).change
        await resumed.quiet(0.3)

    assert subscribed["cursor"] == last_seen
    assert replayed == polled
    cursors = [cursor(change["cursor"]) for change in [*replayed, after]]
    assert cursors == sorted(set(cursors))  # in order, none twice
    assert cursor(live["cursor"]) >= cursors[-2]
    assert kinds([after]) == [(fifth, "appointment.held")]
    assert cursors[-1] > cursor(live["cursor"])


# 4. Who may follow what, and what a socket refuses


async def signed_in_as(session: AsyncSession, world: World, who: str) -> SignedIn | None:
    if who == "nobody":
        return None
    if who == "patient":
        return await sign_in_patient(session)
    if who == "staff-elsewhere":
        elsewhere = await make_clinic(session, "jurong")
        await session.commit()
        return await sign_in_staff(session, (Role.RECEPTIONIST, elsewhere.id))
    assert who == "staff"
    return await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))


@pytest.mark.parametrize(
    ("who", "channel", "code", "close_code"),
    [
        ("nobody", "staff", "not_signed_in", 4401),
        ("patient", "staff", "staff_only", 4403),
        ("staff-elsewhere", "staff", "not_permitted", 4403),
        ("nobody", "mine", "not_signed_in", 4401),
        ("staff", "mine", "patients_only", 4403),
        ("nobody", "unknown-clinic", "clinic_not_found", 4404),
    ],
)
async def test_a_subscription_the_caller_may_not_have_is_refused_and_the_socket_closed(
    session: AsyncSession,
    tuned_server: LiveServer,
    who: str,
    channel: str,
    code: str,
    close_code: int,
) -> None:
    world = await make_world(session)
    caller = await signed_in_as(session, world, who)
    message = subscription(world, "availability" if channel == "unknown-clinic" else channel)
    if channel == "unknown-clinic":
        message["clinic_ids"] = [str(uuid.uuid4())]

    async with open_feed(tuned_server, caller) as feed:
        await feed.send(message)
        error, closed_with = await feed.refused()

    assert error["code"] == code
    assert error["detail"]
    assert closed_with == close_code


async def test_a_message_the_socket_cannot_use_is_answered_and_the_socket_stays_open(
    session: AsyncSession, tuned_server: LiveServer, http_a: httpx.AsyncClient
) -> None:
    world = await make_world(session)
    patient = await sign_in_patient(session)
    incomplete = subscription(world, "availability")
    del incomplete["clinic_ids"]

    async with open_feed(tuned_server) as feed:
        await feed.send("this is not json")
        not_json = await feed.expect("error")
        await feed.send(subscription(world, "everything"))
        no_such_channel = await feed.expect("error")
        await feed.send(subscription(world, "availability", since="yesterday"))
        bad_cursor = await feed.expect("error")
        await feed.send(incomplete)
        no_clinics = await feed.expect("error")
        await feed.subscribe(subscription(world, "availability"))
        await place_hold(http_a, world, patient, world.at(10))
        taken = (await feed.change()).change

    assert [not_json["code"], no_such_channel["code"]] == ["invalid_message", "invalid_message"]
    assert "channel" in no_such_channel["detail"]
    assert bad_cursor["code"] == "invalid_cursor"
    assert no_clinics["code"] == "subscription_incomplete"
    assert taken["type"] == "slot.taken"


async def test_a_handshake_from_a_foreign_origin_is_refused_and_from_our_own_accepted(
    session: AsyncSession, tuned_server: LiveServer
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    with pytest.raises(InvalidStatus) as refused:
        await connect_to(tuned_server, staff, additional_headers={"Origin": "https://evil.example"})
    async with open_feed(tuned_server, staff, additional_headers={"Origin": PUBLIC_BASE_URL}) as ok:
        cursor_text = await ok.subscribe(subscription(world, "staff"))

    assert refused.value.response.status_code == 403
    assert cursor_text


# 5. No personal data on any channel


async def test_no_channel_carries_personal_data_and_mine_shows_only_the_patients_own(
    session: AsyncSession, tuned_server: LiveServer, http_a: httpx.AsyncClient
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    contact = {
        "full_name": "Zebulon Quartermaine",
        "phone": "+65 8274 1936",
        "email": "zebulon.quartermaine@canary.example",
    }
    patient = await sign_in_patient(session, full_name="Zebulon Quartermaine", phone="+6582741936")
    other = await sign_in_patient(session, full_name="Other Person", phone="+6590001111")
    secrets = [
        "Zebulon",
        "Quartermaine",
        "82741936",
        "8274 1936",
        "canary.example",
        str(patient.id),
        str(patient.id).replace("-", ""),
    ]

    async with (
        open_feed(tuned_server, staff) as desk,
        open_feed(tuned_server) as slots,
        open_feed(tuned_server, patient) as mine,
    ):
        start = await desk.subscribe(subscription(world, "staff"))
        await slots.subscribe(subscription(world, "availability"))
        await mine.subscribe(subscription(world, "mine"))

        own = (await place_hold(http_a, world, patient, world.at(10))).body["hold_id"]
        await confirm(http_a, own, patient, contact)
        theirs = (await place_hold(http_a, world, other, world.at(10), doctor=1)).body["hold_id"]
        await confirm(http_a, theirs, other)
        await cancel(http_a, own, patient)
        desk_seen = [(await desk.change()).change for _ in range(5)]
        slots_seen = [(await slots.change()).change for _ in range(3)]
        mine_seen = [(await mine.change()).change for _ in range(3)]
        await asyncio.gather(desk.quiet(0.3), slots.quiet(0.3), mine.quiet(0.3))

    def assert_no_secrets(texts: list[str]) -> None:
        for secret in secrets:
            leaks = [text for text in texts if secret.lower() in text.lower()]
            assert not leaks, (secret, leaks)

    assert_no_secrets([received.text for feed in (desk, slots, mine) for received in feed.log])
    assert {change["appointment_id"] for change in desk_seen} == {own, theirs}
    assert kinds(mine_seen) == [
        (own, "appointment.held"),
        (own, "appointment.confirmed"),
        (own, "appointment.cancelled"),
    ]
    assert [change["type"] for change in slots_seen] == ["slot.taken", "slot.taken", "slot.freed"]
    for change in slots_seen:
        assert set(change) == SLOT_KEYS

    answers: list[str] = []
    assert await polled_changes(http_a, world, "staff", start, staff, answers) == desk_seen
    assert await polled_changes(http_a, world, "availability", start, None, answers) == slots_seen
    assert await polled_changes(http_a, world, "mine", start, patient, answers) == mine_seen
    assert_no_secrets(answers)


# 6. Back-pressure


def slow_socket(server: LiveServer) -> socket.socket:
    """A client socket with the smallest receive buffer the kernel allows, connected."""
    address = urlsplit(server.url)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    raw.settimeout(5)
    raw.connect((address.hostname, address.port))
    raw.setblocking(False)
    return raw


def burst_size() -> int:
    """Events enough to overflow what may be buffered for one socket: the kernel's largest send
    buffer (autotuning grows it that far: 4 MB by default) and the server's transport buffer,
    counting 450 bytes an event (a staff-channel change is some 490, uncompressed)."""
    settings = Path("/proc/sys/net/ipv4/tcp_wmem")
    largest_send_buffer = int(settings.read_text().split()[2]) if settings.exists() else 4 << 20
    return (largest_send_buffer + 1_000_000) // 450


async def read_until_closed(connection: ClientConnection, within: float = 10) -> list[str]:
    """Everything the connection still has, until it closes (within `within` seconds)."""
    received: list[str] = []

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in connection:
                assert isinstance(message, str)
                received.append(message)

    try:
        await asyncio.wait_for(drain(), within)
    except TimeoutError:
        raise AssertionError(f"still open after {within} s, {len(received)} messages") from None
    return received


async def test_a_client_that_stops_reading_is_dropped_with_4408_and_holds_nobody_up(
    session: AsyncSession, tuned_server: LiveServer
) -> None:
    world = await make_world(session)
    reader_staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    idle_staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    burst = burst_size()
    days = (world.tomorrow, world.tomorrow + timedelta(days=2))
    message = subscription(world, "staff", days=days, practitioner_ids=[str(world.doctors[0].id)])
    # The idle client reads its first two answers, then nothing: with the smallest receive
    # buffer, one message queued in the library and no compression, the server's buffers fill.
    idle = await connect(
        ws_url(tuned_server),
        sock=slow_socket(tuned_server),
        additional_headers=idle_staff.cookie_only,
        compression=None,
        max_queue=1,
        proxy=None,
        open_timeout=5,
    )
    try:
        await idle.send(json.dumps(message))
        for expected in ("subscribed", "live"):
            assert json.loads(await asyncio.wait_for(idle.recv(), 3))["type"] == expected

        async with open_feed(tuned_server, reader_staff) as reader:
            await reader.subscribe(message)
            first = datetime.combine(world.tomorrow, datetime.min.time(), tzinfo=SINGAPORE)
            inserted = await insert_blocks(session, world, burst, first, timedelta(seconds=10))
            committed = previous = time.monotonic()
            got, stalls = [], []
            for _ in range(burst):
                received = await reader.change(timeout=5)
                got.append(received.change)
                stalls.append(received.at - previous)
                previous = received.at
            finished = time.monotonic()
            # Give its stuck send the whole timeout: it is closed then, and finds the close
            # after what the buffers held for it.
            await asyncio.sleep(SEND_TIMEOUT_SECONDS + 1)
            idle_got = await read_until_closed(idle)
            await reader.quiet(0.3)
    finally:
        await idle.close()

    idle_changes = [json.loads(text) for text in idle_got]
    idle_ids = [m["change"]["appointment_id"] for m in idle_changes if m["type"] == "change"]
    print(
        f"\nburst of {burst} (queue {QUEUE_CAPACITY}): the reader had every event "
        f"{ms(finished - committed)} after the commit, longest gap {ms(max(stalls))}; the idle "
        f"client had {len(idle_ids)} buffered for it (about {sum(map(len, idle_got)) // 1024} "
        f"KiB), then close {idle.close_code}"
    )
    # The reader, far more than its queue behind at times, caught up from the feed: all, in
    # order, once, and never waiting on the idle client.
    assert [change["appointment_id"] for change in got] == inserted
    assert {change["type"] for change in got} == {"block.blocked"}
    cursors = [cursor(change["cursor"]) for change in got]
    assert cursors == sorted(set(cursors))
    assert max(stalls) < SEND_TIMEOUT_SECONDS / 2
    # Dropped: 4408 (reconnect with your cursor) reaches a client that reads again within the
    # close's own 2 s; one that never does has its connection cut (1006), as here.
    assert idle.close_code in (4408, 1006)
    assert 0 < len(idle_ids) < burst
    assert idle_ids == inserted[: len(idle_ids)]


# 7. Connection limit


async def test_a_session_may_hold_only_so_many_sockets_and_a_freed_place_is_taken_again(
    session: AsyncSession, tuned_server: LiveServer
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))

    async with open_feed(tuned_server, staff) as first, open_feed(tuned_server, staff) as second:
        await first.subscribe(subscription(world, "staff"))
        await second.subscribe(subscription(world, "availability"))
        async with open_feed(tuned_server, staff) as third:
            error, closed_with = await third.refused()
        await second.aclose()
        admitted = None
        for _ in range(20):  # the server lets go of the place once it sees the close
            async with open_feed(tuned_server, staff) as fourth:
                await fourth.send(subscription(world, "staff"))
                first_answer = (await fourth.next()).message
                if first_answer["type"] == "subscribed":
                    admitted = await fourth.expect("live")
                    break
            await asyncio.sleep(0.05)

    assert error["code"] == "too_many_connections"
    assert closed_with == 4429
    assert admitted is not None


# 8. Session end


async def test_signing_out_closes_the_sessions_staff_socket_but_not_its_availability_one(
    session: AsyncSession,
    tuned_server: LiveServer,
    http_a: httpx.AsyncClient,
    http_b: httpx.AsyncClient,
) -> None:
    world = await make_world(session)
    staff = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    patient = await sign_in_patient(session)

    async with open_feed(tuned_server, staff) as desk, open_feed(tuned_server, staff) as slots:
        await desk.subscribe(subscription(world, "staff"))
        await slots.subscribe(subscription(world, "availability"))
        signed_out = await call(http_b, "POST", "/api/v1/auth/sign-out", staff)
        error, closed_with = await desk.refused(timeout=2)
        closed_after = time.monotonic() - signed_out.returned
        await slots.quiet(1.2)  # a few session checks later
        await place_hold(http_a, world, patient, world.at(10))
        taken = (await slots.change()).change

    print(f"\nstaff socket closed {ms(closed_after)} after sign-out")
    assert error["code"] == "session_ended"
    assert closed_with == 4401
    assert closed_after < 2.0
    assert taken["type"] == "slot.taken"


# 9. Heartbeats


async def test_a_quiet_subscription_hears_heartbeats_carrying_the_feeds_position(
    session: AsyncSession, tuned_server: LiveServer
) -> None:
    world = await make_world(session)

    async with open_feed(tuned_server) as feed:
        start = await feed.subscribe(subscription(world, "availability"))
        beats = [(await feed.next(timeout=1, heartbeats=True)).message for _ in range(3)]

    assert [beat["type"] for beat in beats] == ["heartbeat"] * 3
    for beat in beats:
        assert set(beat) == {"type", "cursor"}
        assert re.fullmatch(CURSOR_PATTERN, beat["cursor"])
        assert cursor(beat["cursor"]) >= cursor(start)
