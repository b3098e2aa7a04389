"""The data key: encrypts personal data at rest (NRICs, TOTP secrets) and keys blind indexes.

AES-256-GCM from `cryptography`; each value carries the id of the key that sealed it, so a new
key can be added (`medbook keys generate --rotate`) while older values stay readable. The
blind-index key never rotates: the indexes would all have to be rebuilt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEY_FILE = "data-key.json"
_NONCE_BYTES = 12


class DataKeyError(Exception):
    """The key file is missing or unreadable, or a value does not open with it."""


@dataclass(frozen=True)
class DataKey:
    keys: dict[str, bytes]  # kid -> 32-byte AES key
    current: str
    index_key: bytes

    @classmethod
    def load(cls, keys_dir: Path) -> DataKey:
        path = keys_dir / DATA_KEY_FILE
        try:
            document = json.loads(path.read_text())
            keys = {entry["kid"]: _b64decode(entry["key"]) for entry in document["keys"]}
            current = document["keys"][-1]["kid"]
            return cls(keys=keys, current=current, index_key=_b64decode(document["index_key"]))
        except FileNotFoundError:
            raise DataKeyError(
                f"No data key at {path}: run `medbook keys generate` first."
            ) from None
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise DataKeyError(f"The data key file {path} is not readable: {error}") from None

    def encrypt(self, plaintext: str, *, purpose: str) -> bytes:
        """Seal a value; `purpose` is bound in as associated data, so an NRIC ciphertext cannot
        be passed off as a TOTP secret."""
        kid = self.current.encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), purpose.encode()
        )
        return bytes([len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes, *, purpose: str) -> str:
        kid_length = blob[0]
        kid = blob[1 : 1 + kid_length].decode()
        nonce = blob[1 + kid_length : 1 + kid_length + _NONCE_BYTES]
        sealed = blob[1 + kid_length + _NONCE_BYTES :]
        key = self.keys.get(kid)
        if key is None:
            raise DataKeyError(
                f"A value was sealed with key {kid!r}, which is not in the key file."
            )
        try:
            return AESGCM(key).decrypt(nonce, sealed, purpose.encode()).decode()
        except InvalidTag:
            raise DataKeyError("A stored value failed its integrity check.") from None

    def blind_index(self, value: str, *, purpose: str) -> bytes:
        """A keyed hash for exact-match lookup without storing the value in the clear."""
        return hmac.new(self.index_key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()


def generate_data_key(keys_dir: Path, *, rotate: bool = False) -> bool:
    """Create the data key file, or with rotate add a new current key. Answers whether it wrote."""
    path = keys_dir / DATA_KEY_FILE
    if path.exists() and not rotate:
        return False
    if path.exists():
        document = json.loads(path.read_text())
    else:
        document = {"keys": [], "index_key": _b64encode(secrets.token_bytes(32))}
    created = datetime.now(UTC).isoformat(timespec="seconds")
    document["keys"].append(
        {
            "kid": secrets.token_hex(4),
            "key": _b64encode(secrets.token_bytes(32)),
            "created": created,
        }
    )
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(json.dumps(document, indent=2))
    temporary.replace(path)
    return True


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())
