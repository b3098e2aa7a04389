"""Sign-in throttling (ADR 0008): failed attempts slow down the address they come from, for the
email they name, and nobody else; unknown emails are treated exactly like staff ones; a second
administrator, or the operator at the server, lifts a throttle.

Each browser here connects from an address of its own (the in-process transport sets the peer
address the server sees, which is what the throttle and the rate limits key on).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from argon2 import PasswordHasher
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from medbook.identity import passwords
from medbook.identity.staff_cli import staff_app
from medbook.identity.tasks import prune_once
from medbook.identity.throttle import Policy, delay_after
from medbook.kernel.permissions import Role
from medbook.settings import get_settings
from tests.auth import sign_in_staff
from tests.factories import make_clinic
from tests.identity.staff_helpers import (
    ADMIN,
    FAST_HASHER,
    SECOND_FACTOR,
    SIGN_IN,
    Member,
    actions,
    audit_rows,
    client_at,
    code,
    csrf,
    end_delays,
    enrol,
    everything_recorded,
    make_member,
    session_token,
    sign_in,
    sign_in_with_code,
    throttles_of,
    with_cookie,
    wrong_code,
)
from tests.live import LiveServer, start_live_server, stop_live_server

OWN_DESK = "192.0.2.10"
ATTACKER = "203.0.113.66"
WRONG = "a wrong guess at the password"
NOBODY = "nobody.at.all@medical.example"
SESSION = "/api/v1/session"


class CountingHasher(PasswordHasher):
    """The tests' fast hasher, counting the verifications it does: each is what makes a wrong
    password take its time."""

    def __init__(self) -> None:
        super().__init__(
            time_cost=FAST_HASHER.time_cost,
            memory_cost=FAST_HASHER.memory_cost,
            parallelism=FAST_HASHER.parallelism,
            type=FAST_HASHER.type,
        )
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture(autouse=True)
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "HASHER", counting)
    return counting


@pytest.fixture(autouse=True)
def only_the_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-address rate limit would step in after ten attempts; these tests are about the
    throttle behind it (the rate limit has tests of its own)."""
    monkeypatch.setattr(get_settings(), "sign_in_rate_limit", "1000/minute")


@pytest.fixture
async def administrator(session: AsyncSession) -> Member:
    return await make_member(session, (Role.ADMINISTRATOR, None), full_name="Chua Boon Huat")


@pytest.fixture
async def own_desk(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(client, OWN_DESK) as browser:
        yield browser


@pytest.fixture
async def attacker(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(client, ATTACKER) as browser:
        yield browser


def seen(response: httpx.Response) -> tuple[int, str, str]:
    code = response.json().get("code", "")
    return response.status_code, code, response.headers.get("retry-after", "")


def as_answered(response: httpx.Response) -> dict[str, Any]:
    """What a client learns from an answer, the seconds to wait left out (compared apart: two
    delays started a few milliseconds apart can round to different whole seconds)."""
    body = response.json()
    return {
        "status": response.status_code,
        "headers": sorted(
            name for name in response.headers if name not in ("date", "content-length")
        ),
        "body": {**body, "detail": re.sub(r"\d+", "N", body["detail"])},
    }


# --- the owner is never kept out by someone else ------------------------------------------------


async def test_the_administrator_signs_in_from_their_own_address_while_an_attacker_hammers(
    session: AsyncSession,
    administrator: Member,
    own_desk: httpx.AsyncClient,
    attacker: httpx.AsyncClient,
) -> None:
    # Given an administrator signed in at their own desk,
    enrolled = await enrol(own_desk, administrator)
    desk_session = session_token(own_desk)
    assert desk_session is not None
    # when an attacker guesses their password from another address, three guesses are looked
    # at, and the fourth wrong one starts a delay;
    guesses = [seen(await sign_in(attacker, administrator.email, WRONG)) for _ in range(4)]
    assert guesses == [(401, "invalid_credentials", "")] * 4
    # while it runs, every further attempt from there is turned away unchecked, even the right
    # password (the delay reveals nothing about it);
    hammering = [seen(await sign_in(attacker, administrator.email, WRONG)) for _ in range(20)]
    right = seen(await sign_in(attacker, administrator.email))
    assert {status for status, _, _ in [*hammering, right]} == {429}
    assert {code for _, code, _ in [*hammering, right]} == {"sign_in_throttled"}
    assert 1 <= int(right[2]) <= 5
    # and after the delay, one more wrong guess earns a longer one.
    await end_delays(session)
    assert seen(await sign_in(attacker, administrator.email, WRONG))[0] == 401
    longer = seen(await sign_in(attacker, administrator.email, WRONG))
    assert longer[:2] == (429, "sign_in_throttled")
    assert 6 <= int(longer[2]) <= 10

    # Then, all the while, the administrator's own session at their desk carries on,
    assert (await own_desk.get(SESSION)).status_code == 200
    # and they sign in afresh from their desk, password and code, as on any other day.
    own_desk.cookies.clear()
    again = await sign_in_with_code(own_desk, administrator, code(enrolled.secret, 1))
    assert again.status_code == 200
    assert (await own_desk.get(SESSION)).status_code == 200
    # Their success forgives nothing at the attacker's address.
    assert seen(await sign_in(attacker, administrator.email))[:2] == (429, "sign_in_throttled")
    # The trail has every failure and refusal, and the delays started, against the account.
    rows = await audit_rows(session)
    reasons = [r.detail["reason"] for r in rows if r.action == "staff.sign_in.failed"]
    assert reasons.count("bad_password") == 5
    assert reasons.count("throttled") == 23
    started = [r.detail for r in rows if r.action == "staff.sign_in.throttled"]
    assert started == [
        {"stage": "password", "scope": "address", "seconds": 5},
        {"stage": "password", "scope": "address", "seconds": 10},
    ]
    assert actions(rows)[-2:] == ["staff.signed_in", "staff.sign_in.failed"]


async def test_an_unknown_email_is_answered_and_delayed_exactly_like_a_staff_one(
    session: AsyncSession,
    administrator: Member,
    attacker: httpx.AsyncClient,
    hasher: CountingHasher,
) -> None:
    # Given an attacker trying a staff email and an email that belongs to nobody, side by side,
    # through three rounds of guesses, each round's delay waited out,
    known: list[httpx.Response] = []
    unknown: list[httpx.Response] = []
    known_hashing: list[int] = []
    unknown_hashing: list[int] = []
    for _ in range(3):
        for _ in range(5):
            before = hasher.verifications
            known.append(await sign_in(attacker, administrator.email, WRONG))
            known_hashing.append(hasher.verifications - before)
            before = hasher.verifications
            unknown.append(await sign_in(attacker, NOBODY, WRONG))
            unknown_hashing.append(hasher.verifications - before)
        await end_delays(session)
    # then every answer is the same for both, word for word and header for header,
    assert [as_answered(r) for r in known] == [as_answered(r) for r in unknown]
    # with the same delays, growing round by round;
    statuses = [r.status_code for r in known]
    assert statuses == [401, 401, 401, 401, 429] + [401, 429, 429, 429, 429] * 2
    waits = [
        (int(k.headers["retry-after"]), int(u.headers["retry-after"]))
        for k, u in zip(known, unknown, strict=True)
        if k.status_code == 429
    ]
    firsts = [waits[0], waits[1], waits[5]]  # the first refusal of each round
    for (for_known, for_unknown), delay in zip(firsts, (5, 10, 20), strict=True):
        assert delay - 1 <= for_known <= delay
        assert delay - 1 <= for_unknown <= delay
    # each costs the same work: one password hash per attempt looked at, none while delayed,
    assert known_hashing == unknown_hashing
    assert known_hashing == [1 if s == 401 else 0 for s in statuses]
    # and the unknown email's failures are recorded without naming anyone.
    rows = await audit_rows(session, "staff.sign_in.")
    nobodys = [r for r in rows if r.subject_id is None]
    assert {r.detail.get("reason") for r in nobodys} == {"unknown_account", "throttled", None}
    assert len([r for r in nobodys if r.action == "staff.sign_in.throttled"]) == 3
    assert "nobody" not in everything_recorded(rows)


def test_delays_double_after_the_free_failures_up_to_the_longest() -> None:
    policy = Policy(
        free_failures=3, first_delay_seconds=5, longest_delay_seconds=900, forget_after_hours=24
    )
    delays = [delay_after(failures, policy) for failures in range(1, 14)]
    assert delays == [0, 0, 0, 5, 10, 20, 40, 80, 160, 320, 640, 900, 900]
    assert delay_after(10**9, policy) == 900


async def test_a_failure_after_a_quiet_day_starts_the_count_again(
    session: AsyncSession, administrator: Member, attacker: httpx.AsyncClient
) -> None:
    # Given three failures from one address, the last of them more than a day ago,
    for _ in range(3):
        await sign_in(attacker, administrator.email, WRONG)
    await session.execute(
        text(
            "UPDATE staff_sign_in_throttles "
            "SET last_failure_at = now() - interval '25 hours' WHERE staff_id = :id"
        ),
        {"id": administrator.id},
    )
    await session.commit()
    # when another wrong password comes, then it is the first of a new run: no delay.
    assert seen(await sign_in(attacker, administrator.email, WRONG))[0] == 401
    assert seen(await sign_in(attacker, administrator.email, WRONG))[0] == 401
    assert [row.failures for row in await throttles_of(session, administrator.id)] == [2]


# --- the code step ------------------------------------------------------------------------------


async def test_wrong_codes_are_delayed_per_address_and_for_the_account(
    client: httpx.AsyncClient, session: AsyncSession, administrator: Member
) -> None:
    # Given someone who has the administrator's password, at one address,
    async with client_at(client, OWN_DESK) as desk:
        enrolled = await enrol(desk, administrator)
    async with client_at(client, ATTACKER) as thief:
        signed = await sign_in(thief, administrator.email)
        step = csrf(signed.json()["csrf_token"])
        # when they enter wrong codes, then the fourth one starts a delay there,
        wrong = [
            seen(
                await thief.post(
                    SECOND_FACTOR, json={"code": wrong_code(enrolled.secret)}, headers=step
                )
            )
            for _ in range(4)
        ]
        assert wrong == [(401, "invalid_code", "")] * 4
        # during which even the right code is not looked at.
        good = await thief.post(
            SECOND_FACTOR, json={"code": code(enrolled.secret, 1)}, headers=step
        )
        assert seen(good)[:2] == (429, "sign_in_throttled")
    # Spreading the guesses over more addresses does not help: the count of wrong codes from
    # every address delays the code step of the account, wherever it is tried from;
    async with client_at(client, "198.51.100.7") as elsewhere:
        signed = await sign_in(elsewhere, administrator.email)
        assert signed.status_code == 200  # (the password step is per address only)
        refused = await elsewhere.post(
            SECOND_FACTOR,
            json={"code": code(enrolled.secret, 1)},
            headers=csrf(signed.json()["csrf_token"]),
        )
        assert seen(refused)[:2] == (429, "sign_in_throttled")
    throttles = await throttles_of(session, administrator.id)
    assert [(row.every_address, row.failures) for row in throttles] == [
        (False, 4),  # the thief's address
        (False, 0),  # the other address, where the password was right
        (True, 4),  # wrong codes from every address
    ]
    # which only someone with the password can cause; once the delay is over, the code works.
    await end_delays(session)
    async with client_at(client, OWN_DESK) as desk:
        assert (
            await sign_in_with_code(desk, administrator, code(enrolled.secret, 1))
        ).status_code == 200
    started = [r.detail for r in await audit_rows(session, "staff.sign_in.throttled")]
    assert started == [
        {"stage": "second_factor", "scope": "address", "seconds": 5},
        {"stage": "second_factor", "scope": "every_address", "seconds": 5},
    ]


# --- lifting a throttle -------------------------------------------------------------------------


async def delayed(session: AsyncSession, attacker: httpx.AsyncClient, member: Member) -> None:
    """Four wrong passwords from the attacker's address: a delay runs there."""
    for _ in range(4):
        await sign_in(attacker, member.email, WRONG)
    assert seen(await sign_in(attacker, member.email))[:2] == (429, "sign_in_throttled")


async def test_a_second_administrator_lifts_the_throttle_and_it_is_recorded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    administrator: Member,
    attacker: httpx.AsyncClient,
) -> None:
    # Given an administrator whose sign-in is being delayed from an address,
    await delayed(session, attacker, administrator)
    colleague = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    shown = (await client.get(f"{ADMIN}/{administrator.id}", headers=colleague.headers)).json()
    assert shown["throttled_until"] is not None
    assert shown["locked_until"] == shown["throttled_until"]  # the older clients' name
    # who may not lift it themselves (signed in at their desk: a thief with their session
    # must not be able to clear the way for more guesses),
    async with client_at(client, OWN_DESK) as desk:
        enrolled = await enrol(desk, administrator)
        own = await desk.post(
            f"{ADMIN}/{administrator.id}/unlock", headers=csrf(enrolled.csrf_token)
        )
    assert (own.status_code, own.json()["code"]) == (403, "own_account")
    # when a second administrator lifts it,
    lifted = await client.post(f"{ADMIN}/{administrator.id}/unlock", headers=colleague.headers)
    # then the account shows no delay, the next attempt from there is looked at again,
    assert lifted.status_code == 200
    assert lifted.json()["throttled_until"] is None
    assert await throttles_of(session, administrator.id) == []
    assert seen(await sign_in(attacker, administrator.email))[0] == 200
    # and the trail says who lifted whose, and that it ended one running delay.
    rows = await audit_rows(session, "staff.sign_in.throttle_lifted")
    assert [(r.actor_id, r.subject_id, r.detail) for r in rows] == [
        (colleague.id, administrator.id, {"delays_ended": 1})
    ]


async def test_the_throttle_is_not_lifted_by_those_who_may_not(
    client: httpx.AsyncClient,
    session: AsyncSession,
    administrator: Member,
    attacker: httpx.AsyncClient,
) -> None:
    # Given a receptionist whose sign-in is being delayed from an address,
    tampines = (await make_clinic(session, "tampines")).id
    jurong = (await make_clinic(session, "jurong")).id
    member = await make_member(session, (Role.RECEPTIONIST, tampines))
    await delayed(session, attacker, member)
    # and, signed in, the member themselves (no staff to manage), a colleague at the desk, a
    # manager of another clinic, and someone with no session at all,
    async with client_at(client, OWN_DESK) as desk:
        enrolled = await enrol(desk, member)
        themselves = with_cookie(session_token(desk) or "", enrolled.csrf_token)
    receptionist = await sign_in_staff(session, (Role.RECEPTIONIST, tampines))
    other_manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, jurong))
    # when each of them tries to lift it,
    lift = f"{ADMIN}/{member.id}/unlock"
    answers = [
        await client.post(lift, headers=themselves),
        await client.post(lift, headers=receptionist.headers),
        await client.post(lift, headers=other_manager.headers),
        await client.post(lift),
    ]
    # then each is refused (another clinic's manager does not even see the account: ADR 0005),
    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (403, "not_permitted"),
        (403, "not_permitted"),
        (404, "staff_not_found"),
        (401, "not_signed_in"),
    ]
    # the delay still runs, and nothing was lifted on record;
    assert seen(await sign_in(attacker, member.email))[:2] == (429, "sign_in_throttled")
    assert await audit_rows(session, "staff.sign_in.throttle_lifted") == []
    # while the manager of their own clinic may.
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, tampines))
    assert (await client.post(lift, headers=manager.headers)).status_code == 200
    assert seen(await sign_in(attacker, member.email))[0] == 200


def run_staff_command(*args: str) -> Result:
    command = typer.Typer()
    command.add_typer(staff_app, name="staff")
    return CliRunner().invoke(command, ["staff", *args])


async def test_the_operator_lifts_a_throttle_at_the_server(
    session: AsyncSession, administrator: Member, attacker: httpx.AsyncClient
) -> None:
    # Given the only administrator, delayed from an address (no second one to lift it),
    await delayed(session, attacker, administrator)
    # when the operator runs `medbook staff unthrottle` with their email (in any case),
    result = await asyncio.to_thread(run_staff_command, "unthrottle", administrator.email.upper())
    # then the delay is over, and the trail has it as the operator's doing;
    assert result.exit_code == 0, result.output
    assert "1 running" in result.output
    assert seen(await sign_in(attacker, administrator.email))[0] == 200
    rows = await audit_rows(session, "staff.sign_in.throttle_lifted")
    assert [(r.actor_kind, r.subject_id, r.detail) for r in rows] == [
        ("system", administrator.id, {"delays_ended": 1})
    ]
    # and an email with no account is refused, with nothing recorded.
    unknown = await asyncio.to_thread(run_staff_command, "unthrottle", NOBODY)
    assert unknown.exit_code == 1
    assert "no staff account" in unknown.output
    assert len(await audit_rows(session, "staff.sign_in.throttle_lifted")) == 1


async def test_quiet_throttles_are_pruned_and_running_ones_kept(
    session: AsyncSession, administrator: Member, attacker: httpx.AsyncClient
) -> None:
    # Given an email that belongs to nobody, tried once two days ago, and a staff account
    # being delayed from an address right now (its row as old, its delay still running),
    await sign_in(attacker, NOBODY, WRONG)
    await delayed(session, attacker, administrator)
    await session.execute(
        text("UPDATE staff_sign_in_throttles SET updated_at = now() - interval '2 days'")
    )
    await session.commit()
    # when the pruning job runs,
    pruned = await prune_once(session, forget_after_hours=24)
    await session.commit()
    # then only the quiet row is gone.
    assert pruned == 1
    remaining = (
        await session.execute(text("SELECT staff_id FROM staff_sign_in_throttles"))
    ).scalars()
    assert list(remaining) == [administrator.id]
    await session.rollback()


async def test_a_burst_of_guesses_sent_at_once_gets_no_more_than_a_slow_run(
    session: AsyncSession, administrator: Member, attacker: httpx.AsyncClient
) -> None:
    # Given twenty wrong passwords for one account sent from one address all at once,
    answers = await asyncio.gather(
        *(sign_in(attacker, administrator.email, WRONG) for _ in range(20))
    )
    # then they take turns: the free three and the one that starts the delay are looked at,
    # the rest are turned away unchecked.
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 4 + [429] * 16
    assert [row.failures for row in await throttles_of(session, administrator.id)] == [4]


# --- which address counts -----------------------------------------------------------------------


def live_sign_in(
    server: LiveServer, member: Member, forwarded_for: str, password: str = WRONG
) -> httpx.Response:
    return httpx.post(
        f"{server.url}{SIGN_IN}",
        json={"email": member.email, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )


async def test_a_made_up_forwarded_address_escapes_nothing_unless_a_balancer_is_trusted(
    database_url: str, tmp_path: Path, administrator: Member
) -> None:
    unlimited = {"MEDBOOK_SIGN_IN_RATE_LIMIT": "1000/minute"}  # only the throttle here
    # Given a real server as deployed by default (no load balancer's X-Forwarded-For believed),
    server = start_live_server(database_url, tmp_path / "direct.log", **unlimited)
    try:
        # when an attacker sends each guess with a new made-up forwarded address,
        for n in range(4):
            assert live_sign_in(server, administrator, f"198.51.100.{n}").status_code == 401
        # then they are still one client, and delayed.
        again = live_sign_in(server, administrator, "198.51.100.99", administrator.password)
        assert seen(again)[:2] == (429, "sign_in_throttled")
    finally:
        stop_live_server(server)
    # Given a server behind a load balancer it trusts (here the test, at 127.0.0.1),
    server = start_live_server(
        database_url,
        tmp_path / "balanced.log",
        MEDBOOK_FORWARDED_ALLOW_IPS="127.0.0.1",
        **unlimited,
    )
    try:
        # when the attacker's client hammers the account through it,
        for _ in range(4):
            assert live_sign_in(server, administrator, ATTACKER).status_code == 401
        refused = live_sign_in(server, administrator, ATTACKER, administrator.password)
        assert seen(refused)[:2] == (429, "sign_in_throttled")
        # then the owner's client, forwarded by the same balancer, is not held back.
        owner = live_sign_in(server, administrator, OWN_DESK, administrator.password)
        assert owner.status_code == 200
        assert owner.json()["next"] == "enrol"
    finally:
        stop_live_server(server)
