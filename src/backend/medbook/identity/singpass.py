"""The Singpass relying party, protocol part: start a sign-in, finish it, trust nothing unchecked.

Two profiles, chosen by configuration:

- `fapi2`, what Singpass requires of new apps: discovery, a pushed authorization request (PAR)
  with a DPoP proof, PKCE S256, private_key_jwt; the token request carries a DPoP proof made with
  the same per-attempt key (the code is bound to it). `sub` is the Singpass UUID and the NRIC is in
  `sub_attributes.identity_number`.
- `legacy_v2`, the older authorization-code profile (MockPass 4.3): a plain authorize URL (with
  PKCE anyway), private_key_jwt at the token endpoint; `sub` reads "s=<NRIC>,u=<UUID>".

In both, the ID token is a JWE (ECDH-ES+A256KW; A256GCM or A256CBC-HS512) around a JWS (ES256)
signed with a key from the provider's JWKS, and its iss, aud, exp, iat and nonce are checked here.
The caller stores `PendingLogin` server-side and checks `state` (single use) before
`finish_login`. Nothing here logs or reports codes, tokens or NRICs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from joserfc import jwe, jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey

from medbook.identity.keys import ENCRYPTION_ALG, SIGNING_ALG, RelyingPartyKeys
from medbook.kernel.errors import DomainError

log = logging.getLogger(__name__)

Profile = Literal["fapi2", "legacy_v2"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CONTENT_ENCRYPTIONS = frozenset({"A256GCM", "A256CBC-HS512"})
CLIENT_ASSERTION_LIFETIME_SECONDS = 120
CLOCK_SKEW_SECONDS = 60
METADATA_TTL_SECONDS = 3600.0

# Providers repeat iss and aud in the JWE header (oidc-provider does), which a strict header check
# refuses; the algorithm allowlists are what keep these decoders safe.
_ID_TOKEN_JWE = jwe.JWERegistry(
    algorithms=[ENCRYPTION_ALG, *sorted(CONTENT_ENCRYPTIONS)], strict_check_header=False
)
_ID_TOKEN_JWS = jws.JWSRegistry(algorithms=[SIGNING_ALG], strict_check_header=False)
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class SingpassError(DomainError):
    """Singpass sign-in did not succeed. The detail is for people; it never holds a secret."""

    status = 401
    code = "singpass_failed"


class SingpassIdTokenError(SingpassError):
    code = "singpass_id_token_invalid"


class SingpassTokenRequestError(SingpassError):
    code = "singpass_token_request_failed"


class SingpassProviderError(SingpassError):
    """Singpass answered, but not as the protocol says (or refused how we asked): our side or
    theirs is misconfigured, not the person signing in."""

    status = 502
    code = "singpass_provider_error"


class SingpassUnavailableError(SingpassError):
    status = 503
    code = "singpass_unavailable"


@dataclass(frozen=True)
class SingpassConfig:
    profile: Profile
    issuer: str
    client_id: str
    redirect_uri: str
    scope: str


@dataclass(frozen=True)
class PendingLogin:
    """What the caller keeps server-side between `start_login` and `finish_login`."""

    state: str
    nonce: str
    code_verifier: str
    dpop_key: dict[str, Any] | None  # the attempt's private DPoP JWK (fapi2 only)


@dataclass(frozen=True)
class LoginStart:
    authorize_url: str
    pending: PendingLogin


@dataclass(frozen=True)
class SingpassIdentity:
    uuid: str
    nric: str | None


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    pushed_authorization_request_endpoint: str | None


class SingpassClient:
    """One per application: it caches the provider's discovery document and JWKS."""

    def __init__(
        self,
        config: SingpassConfig,
        keys: RelyingPartyKeys,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        budget_seconds: float = 10.0,
    ) -> None:
        self._config = config
        # Each step of a sign-in (its start, its finish) gets this long for all its calls to
        # Singpass together, retries and key refreshes included: the person is waiting on it.
        self._budget_seconds = budget_seconds
        self._keys = keys
        self._http = http
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._metadata_expires = 0.0
        self._metadata_lock = asyncio.Lock()
        self._provider_keys: list[ECKey] | None = None
        self._provider_keys_expires = 0.0
        self._provider_keys_lock = asyncio.Lock()

    @property
    def config(self) -> SingpassConfig:
        return self._config

    async def start_login(self) -> LoginStart:
        """Prepare a sign-in: the URL to send the browser to, and what to keep until it returns."""
        async with self._within_budget():
            return await self._start_login()

    async def finish_login(self, code: str, pending: PendingLogin) -> SingpassIdentity:
        """Redeem the code the browser brought back and return who signed in."""
        async with self._within_budget():
            return await self._finish_login(code, pending)

    @contextlib.asynccontextmanager
    async def _within_budget(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._budget_seconds):
                yield
        except TimeoutError:
            log.warning("singpass took longer than %.0f s to answer", self._budget_seconds)
            raise SingpassUnavailableError(
                "Singpass is taking too long to answer. Please try again in a few minutes."
            ) from None

    async def _start_login(self) -> LoginStart:
        metadata = await self.metadata()
        state, nonce, code_verifier = _random(32), _random(32), _random(48)
        request = {
            "client_id": self._config.client_id,
            "redirect_uri": self._config.redirect_uri,
            "response_type": "code",
            "scope": self._config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": _s256(code_verifier),
            "code_challenge_method": "S256",
        }
        if self._config.profile == "legacy_v2":
            url = _with_query(metadata.authorization_endpoint, request)
            return LoginStart(url, PendingLogin(state, nonce, code_verifier, None))

        par_endpoint = metadata.pushed_authorization_request_endpoint
        if par_endpoint is None:
            raise SingpassProviderError(
                "Singpass does not announce a pushed authorization request endpoint, which the "
                "FAPI 2.0 profile needs: check MEDBOOK_SINGPASS_ISSUER and the profile."
            )
        # A fresh key per attempt: the code Singpass issues is bound to it, so a stolen code is
        # worthless without the key we keep server-side.
        dpop_key = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
        response = await self._post_form(
            par_endpoint, lambda: {**request, **self._client_auth(metadata)}, dpop_key
        )
        if response.status_code not in (200, 201):
            error = _error_code(response)
            log.warning("singpass refused the pushed authorization request: %s", error)
            raise SingpassProviderError(f"Singpass refused to start the sign-in ({error}).")
        request_uri = _json_object(response, "pushed authorization response").get("request_uri")
        if not isinstance(request_uri, str) or not request_uri:
            raise SingpassProviderError("Singpass started the sign-in but gave no request_uri.")
        url = _with_query(
            metadata.authorization_endpoint,
            {"client_id": self._config.client_id, "request_uri": request_uri},
        )
        pending = PendingLogin(state, nonce, code_verifier, dict(dpop_key.as_dict(private=True)))
        return LoginStart(url, pending)

    async def _finish_login(self, code: str, pending: PendingLogin) -> SingpassIdentity:
        """Redeem the code the browser brought back and return who signed in.

        The caller has already matched `state` to a stored, unused attempt.
        """
        metadata = await self.metadata()
        dpop_key = self._dpop_key_of(pending)
        form: dict[str, str] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._config.redirect_uri,
            "code_verifier": pending.code_verifier,
            "client_id": self._config.client_id,
        }
        response = await self._post_form(
            metadata.token_endpoint, lambda: {**form, **self._client_auth(metadata)}, dpop_key
        )
        if response.status_code != 200:
            error = _error_code(response)
            log.warning("singpass refused the token request: %s", error)
            raise SingpassTokenRequestError(
                f"Singpass did not accept the sign-in code ({error}). It may have expired or "
                "been used already: please sign in again."
            )
        id_token = _json_object(response, "token response").get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise SingpassTokenRequestError(
                "Singpass answered the token request without an ID token."
            )
        claims = await self.open_id_token(id_token)
        return validate_id_token(
            claims,
            profile=self._config.profile,
            issuer=metadata.issuer,
            client_id=self._config.client_id,
            nonce=pending.nonce,
            now=self._clock(),
        )

    async def open_id_token(self, id_token: str) -> dict[str, Any]:
        """Decrypt the ID token with our keys and verify its signature with Singpass's; the
        claims it returns still need `validate_id_token`."""
        signed = self._decrypt_id_token(id_token)
        return await self._verify_id_token_signature(signed)

    async def metadata(self) -> ProviderMetadata:
        """The provider's discovery document, fetched once an hour at most."""
        if self._metadata is not None and time.monotonic() < self._metadata_expires:
            return self._metadata
        async with self._metadata_lock:
            if self._metadata is not None and time.monotonic() < self._metadata_expires:
                return self._metadata
            url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            response = await self._send("GET", url)
            if response.status_code != 200:
                raise SingpassProviderError(
                    f"Singpass discovery answered HTTP {response.status_code}: check "
                    "MEDBOOK_SINGPASS_ISSUER."
                )
            metadata = _metadata_from(_json_object(response, "discovery document"), self._config)
            self._metadata = metadata
            self._metadata_expires = time.monotonic() + METADATA_TTL_SECONDS
            return metadata

    def _dpop_key_of(self, pending: PendingLogin) -> ECKey | None:
        if self._config.profile == "legacy_v2":
            return None
        if pending.dpop_key is None:
            raise SingpassError(
                "This sign-in attempt was started without a DPoP key: please sign in again."
            )
        try:
            return ECKey.import_key(pending.dpop_key)
        except (JoseError, ValueError, TypeError, KeyError):
            raise SingpassError(
                "The stored sign-in attempt is damaged: please sign in again."
            ) from None

    def _client_auth(self, metadata: ProviderMetadata) -> dict[str, str]:
        assertion = build_client_assertion(
            self._keys.signing_key,
            client_id=self._config.client_id,
            audience=metadata.issuer,
            now=int(self._clock()),
        )
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}

    def _dpop_headers(self, key: ECKey, method: str, url: str, nonce: str | None) -> dict[str, str]:
        return {"DPoP": build_dpop_proof(key, method, url, now=int(self._clock()), nonce=nonce)}

    async def _post_form(
        self,
        url: str,
        form: Callable[[], dict[str, str]],
        dpop_key: ECKey | None,
    ) -> httpx.Response:
        # The form is rebuilt per attempt: a retry needs a client assertion with a new jti.
        nonce: str | None = None
        for _ in range(2):
            headers = {"Accept": "application/json"}
            if dpop_key is not None:
                headers.update(self._dpop_headers(dpop_key, "POST", url, nonce))
            response = await self._send("POST", url, data=form(), headers=headers)
            server_nonce = response.headers.get("DPoP-Nonce")
            retry = (
                dpop_key is not None
                and nonce is None
                and server_nonce is not None
                and _error_code(response) == "use_dpop_nonce"
            )
            if not retry:
                return response
            nonce = server_nonce
        return response

    async def _send(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(method, url, data=data, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("singpass unreachable: %s %s: %s", method, url, type(exc).__name__)
            raise SingpassUnavailableError(
                "Singpass cannot be reached right now. Please try again in a few minutes."
            ) from None
        if response.status_code >= 500:
            log.warning("singpass answered %s to %s %s", response.status_code, method, url)
            raise SingpassUnavailableError(
                f"Singpass is not answering properly (HTTP {response.status_code}). Please try "
                "again in a few minutes."
            )
        return response

    def _decrypt_id_token(self, id_token: str) -> bytes:
        if id_token.count(".") != 4:
            raise SingpassIdTokenError("The ID token is not encrypted; Singpass must encrypt it.")
        header = _segment_json(id_token, "ID token")
        alg, enc, kid = header.get("alg"), header.get("enc"), header.get("kid")
        if alg != ENCRYPTION_ALG:
            raise SingpassIdTokenError(
                f"The ID token is encrypted with {alg!r}; only {ENCRYPTION_ALG} is accepted."
            )
        if enc not in CONTENT_ENCRYPTIONS:
            raise SingpassIdTokenError(
                f"The ID token content is encrypted with {enc!r}; only "
                f"{' or '.join(sorted(CONTENT_ENCRYPTIONS))} is accepted."
            )
        if kid is not None and not isinstance(kid, str):
            raise SingpassIdTokenError("The ID token names its key with a kid that is not text.")
        candidates = self._keys.decryption_keys_for(kid)
        if not candidates:
            raise SingpassIdTokenError(
                f"The ID token is encrypted to key {kid!r}, which we do not hold: was it retired "
                "while Singpass still had it cached?"
            )
        for key in candidates:
            try:
                plaintext = jwe.decrypt_compact(id_token, key, registry=_ID_TOKEN_JWE).plaintext
            except (JoseError, ValueError):
                continue
            if plaintext:
                return plaintext
        raise SingpassIdTokenError(
            "The ID token could not be decrypted: it was altered or encrypted to another key."
        )

    async def _verify_id_token_signature(self, signed: bytes) -> dict[str, Any]:
        text = signed.decode("ascii", errors="replace")
        if text.count(".") != 2:
            raise SingpassIdTokenError("The decrypted ID token is not a signed token (JWS).")
        header = _segment_json(text, "signed ID token")
        if header.get("alg") != SIGNING_ALG:
            raise SingpassIdTokenError(
                f"The ID token is signed with {header.get('alg')!r}; only "
                f"{SIGNING_ALG} is accepted."
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise SingpassIdTokenError("The ID token names its signing key with a non-text kid.")
        key = await self._provider_signing_key(kid)
        try:
            payload = jws.deserialize_compact(signed, key, registry=_ID_TOKEN_JWS).payload
        except BadSignatureError:
            raise SingpassIdTokenError(
                "The ID token's signature does not verify: it was altered or not made by Singpass."
            ) from None
        except (JoseError, ValueError):
            raise SingpassIdTokenError("The signed ID token is malformed.") from None
        try:
            claims = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SingpassIdTokenError("The ID token's claims are not JSON.") from None
        if not isinstance(claims, dict):
            raise SingpassIdTokenError("The ID token's claims are not a JSON object.")
        return claims

    async def _provider_signing_key(self, kid: str | None) -> ECKey:
        key = _pick_key(await self._provider_signing_keys(refresh=False), kid)
        if key is None:
            # Providers rotate keys: an unknown kid most likely means our copy is stale. Refetch
            # once only; the token came from the token endpoint, not from the browser, so nobody
            # can make us fetch in a loop.
            key = _pick_key(await self._provider_signing_keys(refresh=True), kid)
        if key is None:
            raise SingpassIdTokenError(
                f"The ID token is signed with key {kid!r}, which Singpass does not publish."
                if kid
                else "The ID token does not say which of Singpass's keys signed it."
            )
        return key

    async def _provider_signing_keys(self, *, refresh: bool) -> list[ECKey]:
        cached = self._provider_keys
        if not refresh and cached is not None and time.monotonic() < self._provider_keys_expires:
            return cached
        async with self._provider_keys_lock:
            if self._provider_keys is not cached and self._provider_keys is not None:
                return self._provider_keys  # another task fetched while we waited
            metadata = await self.metadata()
            response = await self._send("GET", metadata.jwks_uri)
            if response.status_code != 200:
                raise SingpassProviderError(
                    f"Singpass's key set answered HTTP {response.status_code}."
                )
            keys = _signing_keys_from(_json_object(response, "key set"))
            self._provider_keys = keys
            self._provider_keys_expires = time.monotonic() + METADATA_TTL_SECONDS
            return keys


def validate_id_token(
    claims: Mapping[str, Any],
    *,
    profile: Profile,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float,
    leeway: int = CLOCK_SKEW_SECONDS,
) -> SingpassIdentity:
    """Check the claims of a decrypted, signature-verified ID token and say who signed in.

    `now` is in seconds since the epoch; `leeway` absorbs clock skew between us and Singpass.
    """
    if claims.get("iss") != issuer:
        raise SingpassIdTokenError("The ID token was not issued by our Singpass issuer (iss).")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise SingpassIdTokenError("The ID token was issued to another client (aud).")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SingpassIdTokenError("The ID token has several audiences and is not ours (azp).")
    expires, issued = _seconds(claims, "exp"), _seconds(claims, "iat")
    if expires is None or issued is None:
        raise SingpassIdTokenError("The ID token lacks its expiry (exp) or issue time (iat).")
    if now > expires + leeway:
        raise SingpassIdTokenError("The ID token has expired: please sign in again.")
    if issued > now + leeway:
        raise SingpassIdTokenError(
            "The ID token claims to be issued in the future: our clock or Singpass's is wrong."
        )
    not_before = _seconds(claims, "nbf")
    if not_before is not None and not_before > now + leeway:
        raise SingpassIdTokenError("The ID token is not valid yet (nbf).")
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode(), nonce.encode()
    ):
        raise SingpassIdTokenError(
            "The ID token does not belong to this sign-in attempt (nonce): please sign in again."
        )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise SingpassIdTokenError("The ID token does not say who signed in (sub).")
    if profile == "legacy_v2":
        return parse_legacy_subject(subject)
    return SingpassIdentity(uuid=subject, nric=_identity_number(claims))


def parse_legacy_subject(subject: str) -> SingpassIdentity:
    """Read a legacy `sub` such as "s=S1234567A,u=<uuid>" by key: order may vary and keys we do
    not know (fid, coi, ...) are ignored. A subject without a UUID is refused."""
    fields: dict[str, str] = {}
    for part in subject.split(","):
        key, separator, value = part.partition("=")
        key = key.strip()
        if not separator or not key:
            raise SingpassIdTokenError("The ID token's subject is not of the form s=...,u=....")
        if key in fields and key in ("s", "u"):
            raise SingpassIdTokenError("The ID token's subject names the same person field twice.")
        fields[key] = value.strip()
    uuid = fields.get("u")
    if not uuid:
        raise SingpassIdTokenError("The ID token's subject carries no Singpass UUID (u=).")
    return SingpassIdentity(uuid=uuid, nric=fields.get("s") or None)


def build_client_assertion(key: ECKey, *, client_id: str, audience: str, now: int) -> str:
    """private_key_jwt: a short-lived, single-use JWT that proves we hold our signing key."""
    header = {"alg": "ES256", "typ": "JWT", "kid": key.kid}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + CLIENT_ASSERTION_LIFETIME_SECONDS,
        "jti": _random(24),
    }
    return jwt.encode(header, claims, key, algorithms=["ES256"])


def build_dpop_proof(key: ECKey, method: str, url: str, *, now: int, nonce: str | None) -> str:
    """A DPoP proof (RFC 9449) for one request, signed with the attempt's key."""
    public = key.as_dict(private=False)
    header = {
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": {name: public[name] for name in ("kty", "crv", "x", "y")},
    }
    claims: dict[str, Any] = {
        "htm": method,
        "htu": url.split("#", 1)[0].split("?", 1)[0],
        "iat": now,
        "jti": _random(24),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(header, claims, key, algorithms=["ES256"])


def _metadata_from(document: dict[str, Any], config: SingpassConfig) -> ProviderMetadata:
    issuer = document.get("issuer")
    if issuer != config.issuer:
        # OpenID Connect Discovery: the document must name exactly the issuer we asked for, or
        # someone else's tokens could pass our iss check.
        raise SingpassProviderError(
            "Singpass discovery names a different issuer than MEDBOOK_SINGPASS_ISSUER."
        )
    endpoints: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise SingpassProviderError(f"Singpass discovery lacks {name}.")
        endpoints[name] = value
    par = document.get("pushed_authorization_request_endpoint")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        pushed_authorization_request_endpoint=par if isinstance(par, str) and par else None,
    )


def _signing_keys_from(document: dict[str, Any]) -> list[ECKey]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise SingpassProviderError("Singpass's key set is not a JWKS.")
    keys: list[ECKey] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", SIGNING_ALG) != "ES256":
            continue
        # Only the public part: a provider publishing a private member by mistake changes nothing.
        public = {name: value for name, value in entry.items() if name != "d"}
        try:
            keys.append(ECKey.import_key(public))
        except (JoseError, ValueError, TypeError, KeyError):
            log.warning("singpass published a key we cannot read (kid %r)", entry.get("kid"))
    return keys


def _pick_key(keys: list[ECKey], kid: str | None) -> ECKey | None:
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((key for key in keys if key.kid == kid), None)


def _identity_number(claims: Mapping[str, Any]) -> str | None:
    attributes = claims.get("sub_attributes")
    if attributes is None:
        return None
    if not isinstance(attributes, dict):
        raise SingpassIdTokenError("The ID token's sub_attributes is not an object.")
    number = attributes.get("identity_number")
    return number if isinstance(number, str) and number else None


def _seconds(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _segment_json(compact: str, what: str) -> dict[str, Any]:
    first = compact.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    except ValueError:
        raise SingpassIdTokenError(f"The {what} has an unreadable header.") from None
    if not isinstance(header, dict):
        raise SingpassIdTokenError(f"The {what} has an unreadable header.")
    return header


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise SingpassProviderError(f"Singpass's {what} is not JSON.") from None
    if not isinstance(body, dict):
        raise SingpassProviderError(f"Singpass's {what} is not a JSON object.")
    return body


def _error_code(response: httpx.Response) -> str:
    """The OAuth `error` of a refusal, when it is a plain code; never the free-text description,
    which could echo what we sent."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str) and _ERROR_CODE.match(error):
        return error
    return f"HTTP {response.status_code}"


def _with_query(endpoint: str, params: Mapping[str, str]) -> str:
    return str(httpx.URL(endpoint).copy_merge_params(dict(params)))


def _s256(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _random(size: int) -> str:
    return secrets.token_urlsafe(size)
