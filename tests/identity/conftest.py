"""Fixtures for identity tests: our RP key set, the real Singpass peers, a fake provider.

Session-wide: `rp_keys_file`, `rp_keys`, `rp_jwks_server` (our public JWKS over HTTP), `mockpass`
and `fapi_provider` (started once, about half a second each), and the factories
`start_mockpass_peer` / `start_fapi_peer` for a peer configured differently (another redirect URI,
another JWKS URL, DPoP nonces); whatever they start is stopped at the end of the session.
Per test: `outbound_http` (the httpx client a SingpassClient uses) and `fake_singpass`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from medbook.identity.keys import RelyingPartyKeys, generate_key_set, rp_keys_path
from tests.identity.fake_singpass import FakeSingpass, FakeSingpassServer
from tests.identity.peers import (
    JwksServer,
    Peer,
    start_fapi_provider,
    start_mockpass,
)

# Where the peers send the browser back. Nothing listens there: the sign-in helpers stop at it.
TEST_REDIRECT_URI = "http://127.0.0.1:9/api/v1/auth/singpass/callback"


@pytest.fixture(scope="session")
def rp_keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated RP key set file (one signing and one encryption key)."""
    path = rp_keys_path(tmp_path_factory.mktemp("rp-keys"))
    generate_key_set(path, rotate=False)
    return path


@pytest.fixture(scope="session")
def rp_keys(rp_keys_file: Path) -> RelyingPartyKeys:
    return RelyingPartyKeys.load(rp_keys_file)


@pytest.fixture(scope="session")
def rp_jwks_server(rp_keys: RelyingPartyKeys) -> Iterator[JwksServer]:
    """`rp_keys.public_jwks()` served at `.url`, as the app's /.well-known/jwks.json would."""
    server = JwksServer(rp_keys.public_jwks)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def peer_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("peer-logs")


@pytest.fixture(scope="session")
def start_mockpass_peer(peer_log_dir: Path) -> Iterator[Callable[..., Peer]]:
    """start_mockpass_peer(rp_jwks_url=...) -> a running MockPass, stopped after the session."""
    started: list[Peer] = []

    def start(*, rp_jwks_url: str) -> Peer:
        log_path = peer_log_dir / f"mockpass-{len(started)}.log"
        peer = start_mockpass(rp_jwks_url=rp_jwks_url, log_path=log_path)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


@pytest.fixture(scope="session")
def start_fapi_peer(peer_log_dir: Path) -> Iterator[Callable[..., Peer]]:
    """start_fapi_peer(redirect_uris=[...], rp_jwks_uri=... or rp_jwks={...}, client_id=...,
    id_token_enc=..., require_dpop_nonce=...) -> a running FAPI peer, stopped after the session."""
    started: list[Peer] = []

    def start(**options: Any) -> Peer:
        log_path = peer_log_dir / f"fapi-provider-{len(started)}.log"
        peer = start_fapi_provider(log_path=log_path, **options)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


@pytest.fixture(scope="session")
def mockpass(start_mockpass_peer: Callable[..., Peer], rp_jwks_server: JwksServer) -> Peer:
    """MockPass (legacy v2) reading our JWKS from `rp_jwks_server`. Issuer: `mockpass.issuer`."""
    return start_mockpass_peer(rp_jwks_url=rp_jwks_server.url)


@pytest.fixture(scope="session")
def fapi_provider(start_fapi_peer: Callable[..., Peer], rp_jwks_server: JwksServer) -> Peer:
    """The FAPI 2.0 peer: client `fapi_provider.client_id`, redirect URI TEST_REDIRECT_URI, our
    JWKS fetched from `rp_jwks_server`."""
    return start_fapi_peer(redirect_uris=[TEST_REDIRECT_URI], rp_jwks_uri=rp_jwks_server.url)


@pytest.fixture
async def outbound_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


@pytest.fixture
def fake_singpass() -> Iterator[FakeSingpass]:
    """A local HTTP provider whose next ID token the test writes (see fake_singpass.py)."""
    server = FakeSingpassServer()
    yield server.provider
    server.stop()
