"""The relying party's key set: generation, rotation, what is published, and the command."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwe, jwt
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from medbook.errors import install_error_handlers
from medbook.identity.cli import keys_app
from medbook.identity.keys import (
    KeySetError,
    KeySetExistsError,
    RelyingPartyKeys,
    generate_key_set,
    rp_keys_path,
)
from medbook.identity.wellknown import router as wellknown_router

JANUARY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def published_kids(keys: RelyingPartyKeys, use: str) -> list[str]:
    return [key["kid"] for key in keys.public_jwks()["keys"] if key["use"] == use]


def encrypt_to(public_jwk: dict[str, Any], plaintext: str) -> str:
    header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": public_jwk["kid"]}
    return jwe.encrypt_compact(header, plaintext, ECKey.import_key(public_jwk))


def test_generate_creates_one_signing_and_one_encryption_key_readable_by_us_only(
    tmp_path: Path,
) -> None:
    path = rp_keys_path(tmp_path / "keys")

    change = generate_key_set(path, rotate=False)

    assert change.action == "created"
    assert len(change.added) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = RelyingPartyKeys.load(path)
    assert keys.signing_key.alg == "ES256"
    assert keys.signing_key.get("use") == "sig"
    assert [key.alg for key in keys.decryption_keys] == ["ECDH-ES+A256KW"]
    stored = json.loads(path.read_text())["keys"]
    assert all(entry["created_at"] and entry["kid"] for entry in stored)


def test_public_jwks_has_no_private_parts(tmp_path: Path) -> None:
    path = rp_keys_path(tmp_path)
    generate_key_set(path, rotate=False)
    generate_key_set(path, rotate=True)

    published = RelyingPartyKeys.load(path).public_jwks()

    assert len(published["keys"]) == 4
    for key in published["keys"]:
        assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
        assert not ECKey.import_key(key).is_private


def test_rotation_keeps_old_keys_published_and_signs_with_the_new_one(tmp_path: Path) -> None:
    path = rp_keys_path(tmp_path)
    generate_key_set(path, rotate=False, now=JANUARY)
    before = RelyingPartyKeys.load(path)

    change = generate_key_set(path, rotate=True, now=JANUARY + timedelta(days=90))

    after = RelyingPartyKeys.load(path)
    assert change.action == "rotated"
    assert set(published_kids(before, "sig")) < set(published_kids(after, "sig"))
    assert set(published_kids(before, "enc")) < set(published_kids(after, "enc"))
    assert after.signing_key.kid in change.added
    assert after.signing_key.kid != before.signing_key.kid
    # Newest first: providers that take the first suitable key use the new one.
    assert published_kids(after, "enc")[0] in change.added
    assertion = jwt.encode(
        {"alg": "ES256", "kid": after.signing_key.kid}, {"a": 1}, after.signing_key
    )
    new_public = next(k for k in after.public_jwks()["keys"] if k["kid"] == after.signing_key.kid)
    assert jwt.decode(assertion, ECKey.import_key(new_public)).claims == {"a": 1}


def test_jwe_for_an_old_encryption_key_still_decrypts_after_rotation(tmp_path: Path) -> None:
    path = rp_keys_path(tmp_path)
    generate_key_set(path, rotate=False)
    old_public = next(
        k for k in RelyingPartyKeys.load(path).public_jwks()["keys"] if k["use"] == "enc"
    )
    token = encrypt_to(old_public, "for the old key")

    generate_key_set(path, rotate=True)

    keys = RelyingPartyKeys.load(path)
    (old_key,) = keys.decryption_keys_for(old_public["kid"])
    assert len(keys.decryption_keys) == 2
    assert jwe.decrypt_compact(token, old_key).plaintext == b"for the old key"


def test_keep_retires_all_but_the_newest_generations(tmp_path: Path) -> None:
    path = rp_keys_path(tmp_path)
    first = generate_key_set(path, rotate=False, now=JANUARY)
    second = generate_key_set(path, rotate=True, now=JANUARY + timedelta(days=1))

    third = generate_key_set(path, rotate=True, keep=2, now=JANUARY + timedelta(days=2))

    keys = RelyingPartyKeys.load(path)
    assert set(third.retired) == set(first.added)
    assert set(published_kids(keys, "sig")) | set(published_kids(keys, "enc")) == set(
        second.added + third.added
    )
    assert keys.signing_key.kid in third.added


def test_existing_key_set_is_never_replaced_by_accident(tmp_path: Path) -> None:
    path = rp_keys_path(tmp_path)
    generate_key_set(path, rotate=False)
    original = path.read_text()

    with pytest.raises(KeySetExistsError, match="--rotate"):
        generate_key_set(path, rotate=False)
    assert generate_key_set(path, rotate=False, if_missing=True).action == "unchanged"

    assert path.read_text() == original


def test_missing_key_set_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(KeySetError, match="medbook keys generate"):
        RelyingPartyKeys.load(tmp_path / "rp-keys.json")


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"keys": "nope"}',
        '{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA", "use": "sig", "kid": "k"}]}',
        '{"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "kid": "public-only"}]}',
    ],
    ids=["not-json", "not-a-jwks", "damaged-key", "no-private-part"],
)
def test_corrupt_key_set_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "rp-keys.json"
    path.write_text(content)

    with pytest.raises(KeySetError) as failure:
        RelyingPartyKeys.load(path)

    assert "key set" in str(failure.value).lower() or "key " in str(failure.value).lower()


def test_key_set_with_only_signing_keys_is_refused(tmp_path: Path) -> None:
    path = rp_keys_path(tmp_path)
    generate_key_set(path, rotate=False)
    document = json.loads(path.read_text())
    document["keys"] = [key for key in document["keys"] if key["use"] == "sig"]
    path.write_text(json.dumps(document))

    with pytest.raises(KeySetError, match="encryption"):
        RelyingPartyKeys.load(path)


def test_command_generates_then_leaves_then_rotates(tmp_path: Path) -> None:
    runner = CliRunner()
    keys_dir = tmp_path / "keys"

    created = runner.invoke(keys_app, ["generate", "--keys-dir", str(keys_dir)])
    refused = runner.invoke(keys_app, ["generate", "--keys-dir", str(keys_dir)])
    untouched = runner.invoke(keys_app, ["generate", "--if-missing", "--keys-dir", str(keys_dir)])
    rotated = runner.invoke(
        keys_app, ["generate", "--rotate", "--keep", "1", "--keys-dir", str(keys_dir)]
    )

    assert created.exit_code == 0, created.output
    assert "created" in created.output
    assert refused.exit_code == 1
    assert "--rotate" in refused.output
    assert untouched.exit_code == 0
    assert "unchanged" in untouched.output
    assert rotated.exit_code == 0
    assert "retired" in rotated.output
    assert len(RelyingPartyKeys.load(keys_dir / "rp-keys.json").public_jwks()["keys"]) == 2


async def test_jwks_route_publishes_public_keys_with_a_cache_lifetime(
    rp_keys: RelyingPartyKeys,
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(wellknown_router)
    app.state.rp_keys = rp_keys

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        response = await http.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.json() == rp_keys.public_jwks()
    assert response.headers["cache-control"] == "public, max-age=300"
    assert '"d"' not in response.text


async def test_jwks_route_without_loaded_keys_is_a_503_problem() -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(wellknown_router)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        response = await http.get("/.well-known/jwks.json")

    assert response.status_code == 503
    assert response.json()["code"] == "rp_keys_unavailable"
