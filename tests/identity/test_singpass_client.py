"""The Singpass protocol client against real peers (MockPass, oidc-provider as Singpass FAPI 2.0)
and, for tokens no real peer would issue, against a fake provider over real HTTP."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey

from medbook.identity.keys import RelyingPartyKeys, generate_key_set, rp_keys_path
from medbook.identity.singpass import (
    PendingLogin,
    Profile,
    SingpassClient,
    SingpassConfig,
    SingpassError,
    SingpassIdentity,
    SingpassIdTokenError,
    SingpassProviderError,
    SingpassTokenRequestError,
    SingpassUnavailableError,
    parse_legacy_subject,
    validate_id_token,
)
from tests.identity.conftest import TEST_REDIRECT_URI
from tests.identity.fake_singpass import (
    FAKE_CLIENT_ID,
    FAKE_REDIRECT_URI,
    FakeSingpass,
    encrypt,
    new_signing_key,
)
from tests.identity.peers import JwksServer, Peer, Persona, fapi_sign_in, mockpass_sign_in
from tests.live import free_port

PERSONA_NRIC = "S9912374E"
PERSONA = Persona(nric=PERSONA_NRIC, uuid="5b0d6b8e-3c1f-4d7e-9a57-1f2e3d4c5b6a")
MOCKPASS_CLIENT_ID = "medbook-dev"


def fapi_client(peer: Peer, keys: RelyingPartyKeys, http: httpx.AsyncClient) -> SingpassClient:
    assert peer.client_id is not None
    config = SingpassConfig(
        profile="fapi2",
        issuer=peer.issuer,
        client_id=peer.client_id,
        redirect_uri=TEST_REDIRECT_URI,
        scope="openid user.identity",
    )
    return SingpassClient(config, keys, http)


def legacy_client(peer: Peer, keys: RelyingPartyKeys, http: httpx.AsyncClient) -> SingpassClient:
    config = SingpassConfig(
        profile="legacy_v2",
        issuer=peer.issuer,
        client_id=MOCKPASS_CLIENT_ID,
        redirect_uri=TEST_REDIRECT_URI,
        scope="openid",
    )
    return SingpassClient(config, keys, http)


def fake_client(
    fake: FakeSingpass, keys: RelyingPartyKeys, http: httpx.AsyncClient
) -> SingpassClient:
    config = SingpassConfig(
        profile="fapi2",
        issuer=fake.issuer,
        client_id=FAKE_CLIENT_ID,
        redirect_uri=FAKE_REDIRECT_URI,
        scope="openid user.identity",
    )
    return SingpassClient(config, keys, http)


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def our_encryption_jwk(keys: RelyingPartyKeys) -> dict[str, Any]:
    """What a provider sees: the first encryption key of our public JWKS."""
    return next(key for key in keys.public_jwks()["keys"] if key["use"] == "enc")


async def sign_in_at_fapi(
    client: SingpassClient, persona: Persona = PERSONA
) -> tuple[str, PendingLogin]:
    start = await client.start_login()
    callback = await fapi_sign_in(start.authorize_url, persona, redirect_uri=TEST_REDIRECT_URI)
    query = query_of(callback)
    assert query["state"] == start.pending.state
    return query["code"], start.pending


async def sign_in_at_mockpass(
    client: SingpassClient, persona: Persona = PERSONA
) -> tuple[str, PendingLogin]:
    start = await client.start_login()
    callback = await mockpass_sign_in(start.authorize_url, persona, redirect_uri=TEST_REDIRECT_URI)
    query = query_of(callback)
    assert query["state"] == start.pending.state
    return query["code"], start.pending


# --- happy paths against the real peers ------------------------------------------------------


async def test_fapi2_sign_in_gives_the_uuid_and_the_nric(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)

    start = await client.start_login()
    callback = await fapi_sign_in(start.authorize_url, PERSONA, redirect_uri=TEST_REDIRECT_URI)
    query = query_of(callback)
    identity = await client.finish_login(query["code"], start.pending)

    assert identity == SingpassIdentity(uuid=PERSONA.uuid, nric=PERSONA.nric)
    # The browser only ever carries a request_uri: the request itself went by PAR.
    assert set(query_of(start.authorize_url)) == {"client_id", "request_uri"}
    assert query["state"] == start.pending.state
    assert start.pending.dpop_key is not None
    assert "d" in start.pending.dpop_key


async def test_fapi2_person_without_an_nric_signs_in_with_uuid_only(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    persona = Persona(nric=None, uuid="9d7f1c2a-0000-4000-8000-00000000a001")

    code, pending = await sign_in_at_fapi(client, persona)

    assert await client.finish_login(code, pending) == SingpassIdentity(persona.uuid, None)


async def test_fapi2_sign_in_with_dpop_nonces_and_a256gcm(
    start_fapi_peer: Callable[..., Peer],
    rp_jwks_server: JwksServer,
    rp_keys: RelyingPartyKeys,
) -> None:
    # A provider that demands server nonces in DPoP proofs and encrypts with A256GCM.
    peer = start_fapi_peer(
        redirect_uris=[TEST_REDIRECT_URI],
        rp_jwks_uri=rp_jwks_server.url,
        require_dpop_nonce=True,
        id_token_enc="A256GCM",
    )
    refusals: list[str] = []

    async def note_refusals(response: httpx.Response) -> None:
        if response.status_code == 400:
            await response.aread()
            refusals.append(f"{response.request.url.path} {response.json()['error']}")

    async with httpx.AsyncClient(timeout=10, event_hooks={"response": [note_refusals]}) as http:
        client = fapi_client(peer, rp_keys, http)
        code, pending = await sign_in_at_fapi(client)
        identity = await client.finish_login(code, pending)

    assert identity == SingpassIdentity(PERSONA.uuid, PERSONA.nric)
    assert refusals == ["/request use_dpop_nonce", "/token use_dpop_nonce"]


async def test_legacy_v2_sign_in_at_mockpass_gives_the_uuid_and_the_nric(
    mockpass: Peer,
    rp_keys: RelyingPartyKeys,
    rp_jwks_server: JwksServer,
    outbound_http: httpx.AsyncClient,
) -> None:
    client = legacy_client(mockpass, rp_keys, outbound_http)
    fetched_before = rp_jwks_server.requests

    code, pending = await sign_in_at_mockpass(client)
    identity = await client.finish_login(code, pending)

    assert identity == SingpassIdentity(uuid=PERSONA.uuid, nric=PERSONA.nric)
    # MockPass read our published JWKS to check the assertion and to encrypt the ID token.
    assert rp_jwks_server.requests > fetched_before


async def test_legacy_v2_subject_with_extra_fields_is_read_by_key(
    mockpass: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    # MockPass gives foreigners (Y...) a subject "s=...,fid=...,coi=...,u=...".
    client = legacy_client(mockpass, rp_keys, outbound_http)
    persona = Persona(nric="Y4581892I", uuid="acf8edda-bfdf-45fc-b140-a6ec6955d857")

    code, pending = await sign_in_at_mockpass(client, persona)

    assert await client.finish_login(code, pending) == SingpassIdentity(persona.uuid, persona.nric)


# --- refusals the real peers show --------------------------------------------------------------


async def test_fapi2_id_token_for_another_attempt_is_refused(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    code, pending = await sign_in_at_fapi(client)

    with pytest.raises(SingpassIdTokenError, match="nonce") as refused:
        await client.finish_login(code, dataclasses.replace(pending, nonce="another-attempt"))

    assert refused.value.code == "singpass_id_token_invalid"
    assert refused.value.status == 401


async def test_legacy_v2_id_token_for_another_attempt_is_refused(
    mockpass: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = legacy_client(mockpass, rp_keys, outbound_http)
    code, pending = await sign_in_at_mockpass(client)

    with pytest.raises(SingpassIdTokenError, match="nonce") as refused:
        await client.finish_login(code, dataclasses.replace(pending, nonce="another-attempt"))

    assert PERSONA_NRIC not in refused.value.detail


async def test_fapi2_code_cannot_be_redeemed_twice(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    code, pending = await sign_in_at_fapi(client)
    await client.finish_login(code, pending)
    log_start = len(fapi_provider.log())

    with pytest.raises(SingpassTokenRequestError, match="invalid_grant") as refused:
        await client.finish_login(code, pending)

    assert "authorization code already consumed" in fapi_provider.log()[log_start:]
    assert refused.value.code == "singpass_token_request_failed"
    assert code not in refused.value.detail


async def test_fapi2_token_request_without_dpop_is_refused(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    class NoDpopAtToken(SingpassClient):
        def _dpop_headers(
            self, key: ECKey, method: str, url: str, nonce: str | None
        ) -> dict[str, str]:
            if url.endswith("/token"):
                return {}
            return super()._dpop_headers(key, method, url, nonce)

    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    code, pending = await sign_in_at_fapi(client)
    without_dpop = NoDpopAtToken(client.config, rp_keys, outbound_http)
    log_start = len(fapi_provider.log())

    with pytest.raises(SingpassTokenRequestError, match="invalid_grant"):
        await without_dpop.finish_login(code, pending)

    assert "DPoP proof JWT not provided" in fapi_provider.log()[log_start:]


async def test_fapi2_code_is_bound_to_the_attempts_dpop_key(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    code, pending = await sign_in_at_fapi(client)
    other_key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
    stolen = dataclasses.replace(pending, dpop_key=dict(other_key.as_dict(private=True)))
    log_start = len(fapi_provider.log())

    with pytest.raises(SingpassTokenRequestError):
        await client.finish_login(code, stolen)

    assert "does not match dpop_jkt" in fapi_provider.log()[log_start:]


async def test_fapi2_wrong_code_verifier_is_refused(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    code, pending = await sign_in_at_fapi(client)
    wrong_verifier = dataclasses.replace(pending, code_verifier="x" * 64)
    log_start = len(fapi_provider.log())

    with pytest.raises(SingpassTokenRequestError, match="invalid_grant"):
        await client.finish_login(code, wrong_verifier)

    assert "code_verifier does not match code_challenge" in fapi_provider.log()[log_start:]


async def test_fapi2_pushed_request_without_dpop_is_refused(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    class NoDpop(SingpassClient):
        def _dpop_headers(
            self, key: ECKey, method: str, url: str, nonce: str | None
        ) -> dict[str, str]:
            return {}

    client = NoDpop(
        fapi_client(fapi_provider, rp_keys, outbound_http).config, rp_keys, outbound_http
    )

    with pytest.raises(SingpassProviderError, match="invalid_dpop_proof") as refused:
        await client.start_login()

    assert refused.value.status == 502


async def test_fapi2_authorize_without_par_is_refused(
    fapi_provider: Peer, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fapi_client(fapi_provider, rp_keys, outbound_http)
    metadata = await client.metadata()
    plain = httpx.URL(metadata.authorization_endpoint).copy_merge_params(
        {
            "client_id": fapi_provider.client_id or "",
            "redirect_uri": TEST_REDIRECT_URI,
            "response_type": "code",
            "scope": "openid user.identity",
            "state": "s" * 32,
            "nonce": "n" * 32,
            "code_challenge": "c" * 43,
            "code_challenge_method": "S256",
        }
    )

    callback = await fapi_sign_in(str(plain), PERSONA, redirect_uri=TEST_REDIRECT_URI)

    query = query_of(callback)
    assert "code" not in query
    assert query["error"] == "invalid_request"
    assert "Pushed Authorization Request must be used" in query["error_description"]


# --- ID tokens no real peer would issue (fake provider over HTTP) -----------------------------


async def finish_with(
    fake: FakeSingpass,
    keys: RelyingPartyKeys,
    http: httpx.AsyncClient,
    make_token: Callable[[PendingLogin], str],
) -> SingpassIdentity:
    client = fake_client(fake, keys, http)
    start = await client.start_login()
    fake.next_id_token = make_token(start.pending)
    return await client.finish_login("fake-code", start.pending)


async def test_fake_provider_good_token_is_accepted(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    identity = await finish_with(
        fake_singpass,
        rp_keys,
        outbound_http,
        lambda pending: fake_singpass.id_token(
            fake_singpass.claims(pending.nonce), our_encryption_jwk(rp_keys)
        ),
    )

    assert identity == SingpassIdentity("b1c4c3e8-5d0d-4c43-9f1c-7c1c7f3e0a11", "S9912370B")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"exp": 1_000_000_000, "iat": 999_999_000}, "expired", id="expired"),
        pytest.param({"iat": 4_000_000_000}, "future", id="issued-in-the-future"),
        pytest.param({"iss": "https://id.example.com"}, "iss", id="wrong-issuer"),
        pytest.param({"aud": "someone-else"}, "another client", id="wrong-audience"),
        pytest.param({"nonce": None}, "nonce", id="no-nonce"),
        pytest.param({"sub": None}, "sub", id="no-subject"),
    ],
)
async def test_fake_provider_bad_claims_are_refused(
    fake_singpass: FakeSingpass,
    rp_keys: RelyingPartyKeys,
    outbound_http: httpx.AsyncClient,
    overrides: dict[str, Any],
    reason: str,
) -> None:
    with pytest.raises(SingpassIdTokenError, match=reason) as refused:
        await finish_with(
            fake_singpass,
            rp_keys,
            outbound_http,
            lambda pending: fake_singpass.id_token(
                fake_singpass.claims(pending.nonce, **overrides), our_encryption_jwk(rp_keys)
            ),
        )

    assert "S9912370B" not in refused.value.detail


async def test_fake_provider_tampered_jwe_is_refused(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    def tampered(pending: PendingLogin) -> str:
        token = fake_singpass.id_token(
            fake_singpass.claims(pending.nonce), our_encryption_jwk(rp_keys)
        )
        header, key, iv, ciphertext, tag = token.split(".")
        flipped = ("A" if ciphertext[10] != "A" else "B").join((ciphertext[:10], ciphertext[11:]))
        return ".".join((header, key, iv, flipped, tag))

    with pytest.raises(SingpassIdTokenError, match="could not be decrypted"):
        await finish_with(fake_singpass, rp_keys, outbound_http, tampered)


async def test_fake_provider_tampered_jws_is_refused(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    def tampered(pending: PendingLogin) -> str:
        claims = fake_singpass.claims(pending.nonce)
        signed = jwt.encode(
            {"alg": "ES256", "kid": fake_singpass.signing_key.kid},
            claims,
            fake_singpass.signing_key,
        )
        header, _, signature = signed.split(".")
        claims["sub_attributes"] = {"identity_number": "S0000001I"}  # someone else
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        # Encryption is sound (to our public key); only the signed content was changed.
        return encrypt(f"{header}.{payload}.{signature}", our_encryption_jwk(rp_keys))

    with pytest.raises(SingpassIdTokenError, match="signature does not verify"):
        await finish_with(fake_singpass, rp_keys, outbound_http, tampered)


async def test_fake_provider_signature_by_a_stranger_with_a_known_kid_is_refused(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    impostor = new_signing_key(fake_singpass.signing_key.kid or "")

    with pytest.raises(SingpassIdTokenError, match="signature does not verify"):
        await finish_with(
            fake_singpass,
            rp_keys,
            outbound_http,
            lambda pending: fake_singpass.id_token(
                fake_singpass.claims(pending.nonce),
                our_encryption_jwk(rp_keys),
                signing_key=impostor,
            ),
        )


async def test_fake_provider_unknown_kid_is_refused_after_one_refetch(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fake_client(fake_singpass, rp_keys, outbound_http)
    start = await client.start_login()
    fake_singpass.next_id_token = fake_singpass.id_token(
        fake_singpass.claims(start.pending.nonce), our_encryption_jwk(rp_keys)
    )
    await client.finish_login("code-1", start.pending)
    assert fake_singpass.jwks_fetches == 1

    start = await client.start_login()
    fake_singpass.next_id_token = fake_singpass.id_token(
        fake_singpass.claims(start.pending.nonce),
        our_encryption_jwk(rp_keys),
        signing_key=new_signing_key("never-published"),
    )
    with pytest.raises(SingpassIdTokenError, match="does not publish"):
        await client.finish_login("code-2", start.pending)

    assert fake_singpass.jwks_fetches == 2


async def test_fake_provider_key_rotation_is_followed_with_one_refetch(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    client = fake_client(fake_singpass, rp_keys, outbound_http)
    start = await client.start_login()
    fake_singpass.next_id_token = fake_singpass.id_token(
        fake_singpass.claims(start.pending.nonce), our_encryption_jwk(rp_keys)
    )
    await client.finish_login("code-1", start.pending)

    rotated = new_signing_key("fake-sig-2")
    fake_singpass.published = [rotated, fake_singpass.signing_key]
    start = await client.start_login()
    fake_singpass.next_id_token = fake_singpass.id_token(
        fake_singpass.claims(start.pending.nonce), our_encryption_jwk(rp_keys), signing_key=rotated
    )
    await client.finish_login("code-2", start.pending)

    assert fake_singpass.jwks_fetches == 2


@pytest.mark.parametrize(
    ("alg", "enc", "accepted"),
    [
        ("ECDH-ES+A256KW", "A256CBC-HS512", True),
        ("ECDH-ES+A256KW", "A256GCM", True),
        ("ECDH-ES+A256KW", "A128GCM", False),
        ("ECDH-ES+A256KW", "A128CBC-HS256", False),
        ("ECDH-ES", "A256GCM", False),
        ("ECDH-ES+A128KW", "A256GCM", False),
    ],
)
async def test_fake_provider_only_agreed_encryption_is_accepted(
    fake_singpass: FakeSingpass,
    rp_keys: RelyingPartyKeys,
    outbound_http: httpx.AsyncClient,
    alg: str,
    enc: str,
    accepted: bool,
) -> None:
    async def sign_in() -> SingpassIdentity:
        return await finish_with(
            fake_singpass,
            rp_keys,
            outbound_http,
            lambda pending: fake_singpass.id_token(
                fake_singpass.claims(pending.nonce), our_encryption_jwk(rp_keys), alg=alg, enc=enc
            ),
        )

    if accepted:
        assert (await sign_in()).nric == "S9912370B"
    else:
        with pytest.raises(SingpassIdTokenError, match="only"):
            await sign_in()


async def test_fake_provider_unencrypted_id_token_is_refused(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    def signed_only(pending: PendingLogin) -> str:
        key = fake_singpass.signing_key
        return jwt.encode(
            {"alg": "ES256", "kid": key.kid}, fake_singpass.claims(pending.nonce), key
        )

    with pytest.raises(SingpassIdTokenError, match="not encrypted"):
        await finish_with(fake_singpass, rp_keys, outbound_http, signed_only)


async def test_fake_provider_token_for_our_old_key_decrypts_after_rotation(
    fake_singpass: FakeSingpass, outbound_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = rp_keys_path(tmp_path)
    generate_key_set(path, rotate=False)
    old_public = our_encryption_jwk(RelyingPartyKeys.load(path))
    generate_key_set(path, rotate=True)
    rotated = RelyingPartyKeys.load(path)

    identity = await finish_with(
        fake_singpass,
        rotated,
        outbound_http,
        lambda pending: fake_singpass.id_token(fake_singpass.claims(pending.nonce), old_public),
    )

    assert identity.nric == "S9912370B"
    assert our_encryption_jwk(rotated)["kid"] != old_public["kid"]


async def test_fake_provider_sees_a_proper_par_and_token_request(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    await finish_with(
        fake_singpass,
        rp_keys,
        outbound_http,
        lambda pending: fake_singpass.id_token(
            fake_singpass.claims(pending.nonce), our_encryption_jwk(rp_keys)
        ),
    )

    par, token = fake_singpass.requests
    assert (par.path, token.path) == ("/par", "/token")
    # PKCE S256: the verifier sent with the code hashes to the challenge sent at PAR.
    digest = hashlib.sha256(token.form["code_verifier"].encode()).digest()
    assert par.form["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert par.form["code_challenge_method"] == "S256"
    # private_key_jwt: signed by our newest signing key, for this issuer, short-lived, unique.
    assertions = [
        jwt.decode(request.form["client_assertion"], rp_keys.signing_key)
        for request in (par, token)
    ]
    for assertion in assertions:
        assert assertion.header["kid"] == rp_keys.signing_key.kid
        claims = assertion.claims
        assert claims["iss"] == claims["sub"] == FAKE_CLIENT_ID
        assert claims["aud"] == fake_singpass.issuer
        assert 0 < claims["exp"] - claims["iat"] <= 120
    assert assertions[0].claims["jti"] != assertions[1].claims["jti"]
    # DPoP: one key for both requests, its public part only, each proof for its own request.
    proofs = [jws.extract_compact(request.headers["DPoP"].encode()) for request in (par, token)]
    assert proofs[0].headers()["jwk"] == proofs[1].headers()["jwk"]
    for proof, request in zip(proofs, (par, token), strict=True):
        header = proof.headers()
        assert header["typ"] == "dpop+jwt"
        assert "d" not in header["jwk"]
        verified = jws.deserialize_compact(
            request.headers["DPoP"], ECKey.import_key(header["jwk"]), algorithms=["ES256"]
        )
        claims = json.loads(verified.payload)
        assert claims["htm"] == "POST"
        assert claims["htu"] == f"{fake_singpass.issuer}{request.path}"
        assert claims["jti"]
        assert claims["iat"]


async def test_fake_provider_refusing_the_code_is_a_token_request_error(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    fake_singpass.token_status = 400

    with pytest.raises(SingpassTokenRequestError, match="invalid_grant"):
        await finish_with(fake_singpass, rp_keys, outbound_http, lambda pending: "unused")


async def test_discovery_naming_another_issuer_is_refused(
    fake_singpass: FakeSingpass, rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    config = dataclasses.replace(
        fake_client(fake_singpass, rp_keys, outbound_http).config,
        issuer=fake_singpass.issuer + "/",
    )

    with pytest.raises(SingpassProviderError, match="different issuer"):
        await SingpassClient(config, rp_keys, outbound_http).start_login()


async def test_unreachable_provider_is_unavailable(
    rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    config = SingpassConfig(
        "fapi2", f"http://127.0.0.1:{free_port()}", "x", FAKE_REDIRECT_URI, "openid"
    )

    with pytest.raises(SingpassUnavailableError) as refused:
        await SingpassClient(config, rp_keys, outbound_http).start_login()

    assert (refused.value.status, refused.value.code) == (503, "singpass_unavailable")


async def test_a_provider_that_hangs_is_unavailable_within_the_budget(
    rp_keys: RelyingPartyKeys, outbound_http: httpx.AsyncClient
) -> None:
    """A Singpass that accepts the connection and never answers: the person waiting on the
    sign-in gets 503 once the step's budget is spent, not after every call's own timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        config = SingpassConfig(
            "fapi2", f"http://127.0.0.1:{silent.getsockname()[1]}", "x", FAKE_REDIRECT_URI, "openid"
        )
        client = SingpassClient(config, rp_keys, outbound_http, budget_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(SingpassUnavailableError) as refused:
            await client.start_login()
        waited = time.monotonic() - started

    assert refused.value.code == "singpass_unavailable"
    # A bound on the fault, not a speed goal: the calls' own timeouts are 10 s each.
    assert waited < 5, waited


# --- validate_id_token and the legacy subject, without any network ----------------------------

NOW = 1_800_000_000


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "https://id.singpass.gov.sg/fapi",
        "aud": "medbook",
        "sub": "u-1",
        "iat": NOW,
        "exp": NOW + 600,
        "nonce": "n-1",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def validate(profile: Profile = "fapi2", /, **overrides: Any) -> SingpassIdentity:
    return validate_id_token(
        claims(**overrides),
        profile=profile,
        issuer="https://id.singpass.gov.sg/fapi",
        client_id="medbook",
        nonce="n-1",
        now=NOW,
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("s=S1234567D,u=uuid-1", SingpassIdentity("uuid-1", "S1234567D")),
        ("u=uuid-1,s=S1234567D", SingpassIdentity("uuid-1", "S1234567D")),
        ("s=Y4581892I,fid=G730Z-H5P96,coi=DE,u=uuid-2", SingpassIdentity("uuid-2", "Y4581892I")),
        ("u=uuid-3", SingpassIdentity("uuid-3", None)),
    ],
)
def test_legacy_subject_is_read_by_key(subject: str, expected: SingpassIdentity) -> None:
    assert parse_legacy_subject(subject) == expected
    assert validate("legacy_v2", sub=subject) == expected


@pytest.mark.parametrize("subject", ["s=S1234567D", "s=S1234567D,u=", "S1234567D", "u=a,u=b"])
def test_legacy_subject_without_one_clear_uuid_is_refused(subject: str) -> None:
    with pytest.raises(SingpassIdTokenError) as refused:
        validate("legacy_v2", sub=subject)

    assert "S1234567D" not in refused.value.detail


def test_fapi2_nric_comes_from_sub_attributes() -> None:
    assert validate(sub_attributes={"identity_number": "S1234567D"}) == SingpassIdentity(
        "u-1", "S1234567D"
    )
    assert validate() == SingpassIdentity("u-1", None)


def test_clock_skew_within_a_minute_is_tolerated() -> None:
    assert validate(iat=NOW + 30, exp=NOW - 30).uuid == "u-1"
    with pytest.raises(SingpassIdTokenError, match="future"):
        validate(iat=NOW + 90)
    with pytest.raises(SingpassIdTokenError, match="expired"):
        validate(exp=NOW - 90)


def test_several_audiences_need_us_as_authorized_party() -> None:
    assert validate(aud=["medbook", "other"], azp="medbook").uuid == "u-1"
    with pytest.raises(SingpassIdTokenError, match="azp"):
        validate(aud=["medbook", "other"])
    with pytest.raises(SingpassIdTokenError, match="another client"):
        validate(aud=["other"])


@pytest.mark.parametrize("missing", ["exp", "iat"])
def test_token_without_times_is_refused(missing: str) -> None:
    with pytest.raises(SingpassIdTokenError, match="lacks"):
        validate(**{missing: None})


def test_errors_are_singpass_errors_with_a_stable_code() -> None:
    with pytest.raises(SingpassError) as refused:
        validate(nonce="other")

    assert (refused.value.status, refused.value.code) == (401, "singpass_id_token_invalid")
