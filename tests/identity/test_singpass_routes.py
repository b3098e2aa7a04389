"""Patients sign in with Singpass through our own routes, against real peers.

FAPI 2.0 (node oidc-provider set up like Singpass) drives the in-process app; MockPass (legacy
v2) drives a real server whose published /.well-known/jwks.json is what MockPass checks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.data_key import DataKey
from medbook.identity.keys import RelyingPartyKeys
from medbook.identity.singpass import SingpassClient, SingpassConfig
from medbook.patients.nric import PURPOSE
from tests.auth import AppClient
from tests.booking.helpers import assert_problem
from tests.identity.conftest import TEST_REDIRECT_URI
from tests.identity.peers import Peer, Persona, fapi_sign_in, mockpass_sign_in, start_mockpass
from tests.live import LiveServer, free_port, start_live_server, stop_live_server

LOGIN = "/api/v1/auth/singpass/login"
CALLBACK = "/api/v1/auth/singpass/callback"
NRIC = "S8979373D"


def persona(nric: str = NRIC) -> Persona:
    return Persona(nric=nric, uuid=str(uuid.uuid4()))


@pytest.fixture
async def fapi_app(
    client: AppClient, fapi_provider: Peer, rp_keys: RelyingPartyKeys
) -> AsyncIterator[AppClient]:
    """The in-process app, signing patients in at the FAPI peer."""
    assert fapi_provider.client_id is not None
    config = SingpassConfig(
        profile="fapi2",
        issuer=fapi_provider.issuer,
        client_id=fapi_provider.client_id,
        redirect_uri=TEST_REDIRECT_URI,
        scope="openid user.identity",
    )
    async with httpx.AsyncClient(timeout=10) as outbound:
        client.app.state.singpass = SingpassClient(config, rp_keys, outbound)
        yield client


async def start_login(client: AppClient, return_to: str | None = None) -> str:
    params = {"return_to": return_to} if return_to else {}
    response = await client.get(LOGIN, params=params)
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def sign_in(client: AppClient, who: Persona) -> httpx.Response:
    """The whole browser round trip: our login, the peer's pages, our callback."""
    authorize_url = await start_login(client)
    back = await fapi_sign_in(authorize_url, who, redirect_uri=TEST_REDIRECT_URI)
    return await client.get(f"{CALLBACK}?{urlsplit(back).query}")


async def sessions(session: AsyncSession) -> int:
    count = (await session.execute(text("SELECT count(*) FROM user_sessions"))).scalar_one()
    await session.commit()
    return int(count)


async def test_a_first_sign_in_creates_the_patient_and_asks_for_contact_details(
    fapi_app: AppClient, session: AsyncSession, keys_dir: Path
) -> None:
    who = persona()

    response = await sign_in(fapi_app, who)

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-medbook_session=")
    for attribute in ("HttpOnly", "Path=/", "SameSite=lax", "Secure"):
        assert attribute in cookie
    me = (await fapi_app.get("/api/v1/session")).json()
    assert me["kind"] == "patient"
    assert me["patient"]["nric_masked"] == "S****373D"
    assert me["patient"]["needs_contact_details"] is True
    stored = (
        await session.execute(
            text("SELECT singpass_uuid, nric_ciphertext, nric_masked FROM patients")
        )
    ).one()
    assert stored.singpass_uuid == who.uuid
    assert NRIC.encode() not in stored.nric_ciphertext
    key = DataKey.load(keys_dir)
    assert key.decrypt(stored.nric_ciphertext, purpose=PURPOSE) == NRIC


async def test_a_returning_patient_is_recognised_and_gets_a_new_session(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    who = persona()
    await sign_in(fapi_app, who)
    first = (await fapi_app.get("/api/v1/session")).json()
    await fapi_app.put(
        "/api/v1/me/contact",
        json={"full_name": "Tan Mei Ling", "phone": "+65 9123 4567"},
        headers={"X-CSRF-Token": first["csrf_token"]},
    )

    await sign_in(fapi_app, who)

    second = (await fapi_app.get("/api/v1/session")).json()
    assert second["patient"]["id"] == first["patient"]["id"]
    assert second["patient"]["full_name"] == "Tan Mei Ling"
    assert second["patient"]["needs_contact_details"] is False
    assert second["csrf_token"] != first["csrf_token"]  # rotated, not reused
    live = await session.execute(
        text("SELECT count(*) FROM user_sessions WHERE revoked_at IS NULL")
    )
    assert live.scalar_one() == 1  # signing in again ended the old session
    assert (await session.execute(text("SELECT count(*) FROM patients"))).scalar_one() == 1


async def test_a_callback_with_a_state_we_never_issued_is_refused(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    authorize_url = await start_login(fapi_app)
    back = await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)
    query = parse_qs(urlsplit(back).query)

    response = await fapi_app.get(CALLBACK, params={"code": query["code"][0], "state": "forged"})

    assert_problem(response, 400, "singpass_state_invalid")
    assert await sessions(session) == 0


async def test_a_replayed_callback_is_refused_and_makes_no_second_session(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    authorize_url = await start_login(fapi_app)
    back = await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)
    first = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")

    replay = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")

    assert first.status_code == 303
    assert_problem(replay, 400, "singpass_state_replayed")
    assert await sessions(session) == 1
    failures = await session.execute(
        text("SELECT detail->>'reason' FROM audit_events WHERE action = 'patient.sign_in.failed'")
    )
    assert failures.scalars().all() == ["singpass_state_replayed"]


async def test_a_callback_in_another_browser_is_refused_and_uses_the_attempt_up(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    authorize_url = await start_login(fapi_app)
    back = await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)
    binding = fapi_app.cookies.get("__Host-medbook_singpass")
    fapi_app.cookies.clear()  # the link opened in a browser that did not start the sign-in

    elsewhere = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")
    fapi_app.cookies.set("__Host-medbook_singpass", binding or "", domain="testserver")
    back_home = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")

    assert_problem(elsewhere, 400, "singpass_browser_mismatch")
    assert_problem(back_home, 400, "singpass_state_replayed")
    assert await sessions(session) == 0


async def test_a_code_from_another_attempt_is_refused(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    # Code injection: a code obtained in one attempt, brought back with another attempt's state.
    # The code is bound to the first attempt's PKCE verifier and DPoP key, so it cannot redeem.
    first_url = await start_login(fapi_app)
    stolen = parse_qs(
        urlsplit(await fapi_sign_in(first_url, persona(), redirect_uri=TEST_REDIRECT_URI)).query
    )
    second_url = await start_login(fapi_app)
    own = parse_qs(
        urlsplit(await fapi_sign_in(second_url, persona(), redirect_uri=TEST_REDIRECT_URI)).query
    )

    response = await fapi_app.get(
        CALLBACK, params={"code": stolen["code"][0], "state": own["state"][0]}
    )

    assert_problem(response, 401, "singpass_token_request_failed")
    assert await sessions(session) == 0


async def test_a_callback_naming_another_issuer_is_refused(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    authorize_url = await start_login(fapi_app)
    back = parse_qs(
        urlsplit(await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)).query
    )
    assert "iss" in back  # the FAPI peer names itself, as RFC 9207 providers do

    response = await fapi_app.get(
        CALLBACK,
        params={"code": back["code"][0], "state": back["state"][0], "iss": "https://evil.example"},
    )

    assert_problem(response, 400, "singpass_issuer_mismatch")
    assert await sessions(session) == 0


async def test_an_id_token_for_another_nonce_signs_nobody_in(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    authorize_url = await start_login(fapi_app)
    back = await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)
    # The ID token carries the nonce of the attempt; an attempt expecting another must refuse it.
    await session.execute(text("UPDATE singpass_logins SET nonce = 'another-attempts-nonce'"))
    await session.commit()

    response = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")

    assert_problem(response, 401, "singpass_id_token_invalid")
    assert await sessions(session) == 0
    assert (await session.execute(text("SELECT count(*) FROM patients"))).scalar_one() == 0


async def test_an_attempt_older_than_ten_minutes_is_refused(
    fapi_app: AppClient, session: AsyncSession
) -> None:
    authorize_url = await start_login(fapi_app)
    back = await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)
    await session.execute(
        text("UPDATE singpass_logins SET created_at = now() - interval '11 minutes'")
    )
    await session.commit()

    response = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")

    assert_problem(response, 400, "singpass_state_invalid")
    assert await sessions(session) == 0


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/appointments?tab=upcoming", "/appointments?tab=upcoming"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
    ],
    ids=["our-page", "other-site", "scheme-relative"],
)
async def test_sign_in_returns_only_to_our_own_pages(
    fapi_app: AppClient, asked: str, landed: str
) -> None:
    authorize_url = await start_login(fapi_app, return_to=asked)
    back = await fapi_sign_in(authorize_url, persona(), redirect_uri=TEST_REDIRECT_URI)

    response = await fapi_app.get(f"{CALLBACK}?{urlsplit(back).query}")

    assert response.headers["location"] == landed


async def test_singpass_being_unreachable_is_a_503_not_a_500(
    client: AppClient, rp_keys: RelyingPartyKeys
) -> None:
    config = SingpassConfig(
        "fapi2", f"http://127.0.0.1:{free_port()}", "medbook", TEST_REDIRECT_URI, "openid"
    )
    async with httpx.AsyncClient(timeout=2) as outbound:
        client.app.state.singpass = SingpassClient(config, rp_keys, outbound)

        response = await client.get(LOGIN)

    assert_problem(response, 503, "singpass_unavailable")


# --- legacy v2 through MockPass, checking the keys we really publish -------------------------


@pytest.fixture(scope="module")
def mockpass_and_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Peer, LiveServer]]:
    logs = tmp_path_factory.mktemp("mockpass-live")
    mockpass_port, server_port = free_port(), free_port()
    server_url = f"http://127.0.0.1:{server_port}"
    server = start_live_server(
        database_url,
        logs / "server.log",
        port=server_port,
        MEDBOOK_PUBLIC_BASE_URL=server_url,
        MEDBOOK_SINGPASS_PROFILE="legacy_v2",
        MEDBOOK_SINGPASS_ISSUER=f"http://127.0.0.1:{mockpass_port}/singpass/v2",
        MEDBOOK_SINGPASS_SCOPE="openid",
    )
    mockpass = start_mockpass(
        rp_jwks_url=f"{server_url}/.well-known/jwks.json",
        log_path=logs / "mockpass.log",
        port=mockpass_port,
    )
    yield mockpass, server
    mockpass.stop()
    stop_live_server(server)


async def test_legacy_sign_in_through_mockpass_uses_our_published_keys(
    mockpass_and_server: tuple[Peer, LiveServer], session: AsyncSession
) -> None:
    _, server = mockpass_and_server
    who = persona("T0123456A")
    callback_uri = f"{server.url}{CALLBACK}"

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as browser:
        login = await browser.get(LOGIN)
        binding = login.cookies["__Host-medbook_singpass"]
        back = await mockpass_sign_in(login.headers["location"], who, redirect_uri=callback_uri)
        # httpx keeps Secure cookies for https only; a browser on localhost sends them.
        done = await browser.get(
            f"{CALLBACK}?{urlsplit(back).query}",
            headers={"Cookie": f"__Host-medbook_singpass={binding}"},
        )
        assert done.status_code == 303, done.text
        token = done.cookies["__Host-medbook_session"]
        me = await browser.get(
            "/api/v1/session", headers={"Cookie": f"__Host-medbook_session={token}"}
        )

    assert me.status_code == 200, me.text
    assert me.json()["patient"]["nric_masked"] == "T****456A"
    stored = await session.execute(text("SELECT singpass_uuid FROM patients"))
    assert stored.scalar_one() == who.uuid
