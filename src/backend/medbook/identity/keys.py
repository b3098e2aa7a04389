"""The Singpass relying party's own keys: one private JWKS file, rotated by adding keys.

The file (`<keys_dir>/rp-keys.json`, mode 0600) holds EC P-256 keys of two kinds: signing keys
(use "sig", ES256) for our client assertions, and encryption keys (use "enc", ECDH-ES+A256KW) for
the ID tokens Singpass encrypts to us. Each key carries a `kid` and a `created_at` member.

Rotation adds a new pair and keeps the old keys: Singpass caches our JWKS, so for a while it may
still encrypt to an old key or check a signature against it. The newest signing key signs; every
encryption key still in the file can decrypt. `keep` retires all but the newest generations.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from medbook.kernel.errors import DomainError

RP_KEYS_FILENAME = "rp-keys.json"

SIGNING_ALG = "ES256"
ENCRYPTION_ALG = "ECDH-ES+A256KW"
CURVE = "P-256"

KeyUse = Literal["sig", "enc"]
_ALG_FOR_USE: dict[KeyUse, str] = {"sig": SIGNING_ALG, "enc": ENCRYPTION_ALG}
# What a published key may say about itself; anything else (notably "d") stays private.
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "use", "alg")


class KeySetError(Exception):
    """The RP key set file is missing, unreadable or not what we wrote."""


class KeySetExistsError(KeySetError):
    """Creating a key set where one already exists (neither rotate nor if-missing was asked)."""


class KeysUnavailableError(DomainError):
    status = 503
    code = "rp_keys_unavailable"


def rp_keys_path(keys_dir: Path) -> Path:
    return keys_dir / RP_KEYS_FILENAME


@dataclass(frozen=True)
class KeySetChange:
    """What `generate_key_set` did, for the operator."""

    path: Path
    action: Literal["created", "rotated", "unchanged"]
    added: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()


class RelyingPartyKeys:
    """Our loaded key set: the newest signing key, every decryption key, and the public JWKS."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        imported = [_import_key(entry) for entry in keys]
        # Oldest first by creation time; the sort is stable, so ties keep file order (rotation
        # appends).
        by_age = [key for key, _ in sorted(imported, key=lambda pair: pair[1])]
        self._signing = [key for key in by_age if key.get("use") == "sig"]
        self._encryption = [key for key in by_age if key.get("use") == "enc"]
        if not self._signing or not self._encryption:
            raise KeySetError(
                "The Singpass key set needs at least one signing and one encryption key: "
                "run `medbook keys generate --rotate`."
            )

    @classmethod
    def load(cls, path: Path) -> RelyingPartyKeys:
        """Read the key set file written by `generate_key_set`."""
        return cls(_read_key_file(path))

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> RelyingPartyKeys:
        return cls(_key_entries(jwks, where="the given key set"))

    @property
    def signing_key(self) -> ECKey:
        """The newest signing key: it signs every client assertion."""
        return self._signing[-1]

    @property
    def decryption_keys(self) -> list[ECKey]:
        """Every encryption key, newest first (any of them may still receive an ID token)."""
        return list(reversed(self._encryption))

    def decryption_keys_for(self, kid: str | None) -> list[ECKey]:
        """The key a JWE names by kid, or all of them when it names none."""
        if kid is None:
            return self.decryption_keys
        return [key for key in self.decryption_keys if key.kid == kid]

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS we publish: public members only, newest keys first.

        Newest first because some providers (MockPass among them) encrypt to the first suitable
        key they find.
        """
        keys = [*reversed(self._signing), *reversed(self._encryption)]
        return {"keys": [_public_dict(key) for key in keys]}


def generate_key_set(
    path: Path,
    *,
    rotate: bool,
    if_missing: bool = False,
    keep: int | None = None,
    now: datetime | None = None,
) -> KeySetChange:
    """Create the key set, or rotate it by adding a new signing and encryption pair.

    No file: create one signing and one encryption key. A file and `rotate`: add a pair and, with
    `keep`, retire keys beyond the newest `keep` of each kind. A file and `if_missing`: leave it.
    A file and neither: refuse, so a stray command never replaces keys Singpass relies on.
    """
    if keep is not None and keep < 1:
        raise ValueError("keep must be at least 1: the newest keys are always kept")
    created_at = (now or datetime.now(UTC)).astimezone(UTC)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _exclusive(path):
        if not path.exists():
            entries = [_new_key("sig", created_at), _new_key("enc", created_at)]
            _write_key_file(path, entries)
            return KeySetChange(path, "created", added=tuple(e["kid"] for e in entries))
        if if_missing and not rotate:
            return KeySetChange(path, "unchanged")
        if not rotate:
            raise KeySetExistsError(
                f"A Singpass key set already exists at {path}: use --rotate to add new keys "
                "(old ones stay published), or --if-missing to leave it as it is."
            )
        entries = _read_key_file(path)
        added = [_new_key("sig", created_at), _new_key("enc", created_at)]
        entries.extend(added)
        retired: list[str] = []
        if keep is not None:
            entries, retired = _retire(entries, keep)
        _write_key_file(path, entries)
        return KeySetChange(
            path, "rotated", added=tuple(e["kid"] for e in added), retired=tuple(retired)
        )


def _new_key(use: KeyUse, created_at: datetime) -> dict[str, Any]:
    kid = f"{use}-{created_at:%Y%m%d}-{secrets.token_hex(4)}"
    key = ECKey.generate_key(CURVE, {"use": use, "alg": _ALG_FOR_USE[use], "kid": kid})
    entry: dict[str, Any] = dict(key.as_dict(private=True))
    entry["created_at"] = created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return entry


def _retire(entries: list[dict[str, Any]], keep: int) -> tuple[list[dict[str, Any]], list[str]]:
    retired: list[str] = []
    for use in ("sig", "enc"):
        # Oldest first, ties in file order as above.
        of_use = sorted(
            (entry for entry in entries if entry.get("use") == use),
            key=lambda entry: str(entry.get("created_at", "")),
        )
        retired.extend(entry["kid"] for entry in of_use[:-keep])
    return [entry for entry in entries if entry["kid"] not in retired], retired


def _import_key(entry: dict[str, Any]) -> tuple[ECKey, str]:
    use = entry.get("use")
    if use not in _ALG_FOR_USE or not entry.get("kid") or "d" not in entry:
        raise KeySetError(
            "A key in the Singpass key set lacks its use, kid or private part: "
            "regenerate it with `medbook keys generate`."
        )
    if entry.get("kty") != "EC" or entry.get("crv") != CURVE:
        raise KeySetError(f"Key {entry['kid']} is not an EC {CURVE} key.")
    try:
        key = ECKey.import_key(dict(entry))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise KeySetError(f"Key {entry['kid']} in the Singpass key set is damaged.") from exc
    return key, str(entry.get("created_at", ""))


def _public_dict(key: ECKey) -> dict[str, Any]:
    full = key.as_dict(private=False)
    return {name: full[name] for name in _PUBLIC_MEMBERS if name in full}


def _key_entries(document: Any, *, where: str) -> list[dict[str, Any]]:
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list) or not all(isinstance(entry, dict) for entry in keys):
        raise KeySetError(
            f"{where} is not a JWKS ({{'keys': [...]}}): run `medbook keys generate`."
        )
    return [dict(entry) for entry in keys]


def _read_key_file(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeySetError(f"No Singpass key set at {path}: run `medbook keys generate`.") from None
    except OSError as exc:
        raise KeySetError(f"Cannot read the Singpass key set at {path}: {exc.strerror}.") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise KeySetError(
            f"The Singpass key set at {path} is not valid JSON: restore it from the secret store "
            "or run `medbook keys generate` after moving it away."
        ) from None
    return _key_entries(document, where=f"The Singpass key set at {path}")


def _write_key_file(path: Path, entries: list[dict[str, Any]]) -> None:
    # Written whole to a private temporary file, then renamed over: a reader never sees half a
    # key set, and the secret is never readable by others, not even for a moment.
    descriptor, temporary = tempfile.mkstemp(prefix=".rp-keys-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump({"keys": entries}, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    # Two processes starting together (`keys generate --if-missing` in each container) must not
    # both create a key set, or one would sign with a key the other just overwrote.
    lock_path = path.with_name(path.name + ".lock")
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
