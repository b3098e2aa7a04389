"""A small but real HTTP provider whose ID tokens the test writes, for what real peers never do.

MockPass and oidc-provider only issue well-formed tokens. To show that an expired, future-dated,
misaddressed or tampered ID token is refused, this server plays Singpass over real HTTP (discovery,
JWKS, PAR, token) and hands out whatever ID token the test put in `next_id_token`. The tokens are
made with joserfc, encrypted to the public half of our JWKS like a provider would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from joserfc import jwe, jwt
from joserfc.jwk import ECKey

from tests.identity.peers import BackgroundServer, JsonHandler

FAKE_CLIENT_ID = "medbook-fake"
FAKE_REDIRECT_URI = "http://127.0.0.1:9/singpass/callback"


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeSingpass:
    """Discovery at <issuer>/.well-known/openid-configuration, keys at /jwks, PAR at /par, token
    at /token. `published` is the provider JWKS; `jwks_fetches` counts its downloads."""

    issuer: str = ""
    signing_key: ECKey = field(default_factory=lambda: new_signing_key("fake-sig-1"))
    published: list[ECKey] = field(default_factory=list)
    next_id_token: str | None = None
    token_status: int = 200
    jwks_fetches: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.published = [self.signing_key]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "pushed_authorization_request_endpoint": f"{self.issuer}/par",
        }

    def claims(self, nonce: str, /, **overrides: Any) -> dict[str, Any]:
        """Good claims for `nonce`; an override set to None drops that claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": FAKE_CLIENT_ID,
            "sub": "b1c4c3e8-5d0d-4c43-9f1c-7c1c7f3e0a11",
            "sub_attributes": {"identity_number": "S9912370B"},
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def id_token(
        self,
        claims: Mapping[str, Any],
        encrypt_to: Mapping[str, Any],
        *,
        signing_key: ECKey | None = None,
        enc: str = "A256CBC-HS512",
        alg: str = "ECDH-ES+A256KW",
    ) -> str:
        """Sign `claims` (ES256, kid header) and encrypt to the public JWK `encrypt_to`."""
        key = signing_key or self.signing_key
        signed = jwt.encode({"alg": "ES256", "typ": "JWT", "kid": key.kid}, dict(claims), key)
        return encrypt(signed, encrypt_to, enc=enc, alg=alg)


def new_signing_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", {"kid": kid, "use": "sig", "alg": "ES256"}, private=True)


def encrypt(
    plaintext: str,
    encrypt_to: Mapping[str, Any],
    *,
    enc: str = "A256CBC-HS512",
    alg: str = "ECDH-ES+A256KW",
) -> str:
    public = ECKey.import_key(dict(encrypt_to))
    header = {"alg": alg, "enc": enc, "kid": public.kid, "cty": "JWT"}
    registry = jwe.JWERegistry(algorithms=[alg, enc])
    return jwe.encrypt_compact(header, plaintext, public, registry=registry)


class FakeSingpassServer(BackgroundServer):
    """Runs a FakeSingpass on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.provider = FakeSingpass()
        provider = self.provider

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self.send_json(200, provider.discovery())
                elif self.path == "/jwks":
                    provider.jwks_fetches += 1
                    keys = [key.as_dict(private=False) for key in provider.published]
                    self.send_json(200, {"keys": keys})
                else:
                    self.send_json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                provider.requests.append(RecordedRequest(self.path, dict(self.headers), form))
                if self.path == "/par":
                    request_uri = f"urn:fake:request:{uuid.uuid4()}"
                    self.send_json(201, {"request_uri": request_uri, "expires_in": 60})
                elif self.path == "/token":
                    if provider.token_status != 200 or provider.next_id_token is None:
                        self.send_json(provider.token_status, {"error": "invalid_grant"})
                        return
                    body = {
                        "access_token": "fake-access-token",
                        "token_type": "DPoP",
                        "id_token": provider.next_id_token,
                    }
                    self.send_json(200, body)
                else:
                    self.send_json(404, {"error": "not_found"})

        super().__init__(Handler)
        provider.issuer = self.base_url
