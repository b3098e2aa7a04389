"""Staff passwords: argon2id hashes and the password policy. No I/O.

Hashing is deliberately slow (tens of milliseconds of CPU and 64 MiB of memory): the service runs
it in a worker thread so one sign-in does not stall every other request on the event loop.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from medbook.kernel.errors import UnprocessableError

MIN_LENGTH = 12
MAX_LENGTH = 128

# RFC 9106's second recommended option (argon2-cffi's RFC_9106_LOW_MEMORY), spelled out so an
# upgrade of the library never changes our parameters behind our back. When these change, each
# stored hash is upgraded at its owner's next successful sign-in (see verify_password).
HASHER = PasswordHasher(
    time_cost=3,
    memory_cost=64 * 1024,  # KiB
    parallelism=4,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


class WeakPasswordError(UnprocessableError):
    code = "weak_password"


@dataclass(frozen=True, slots=True)
class Verified:
    ok: bool
    new_hash: str | None = None  # set when the stored hash should be replaced by this one


def normalise(password: str) -> str:
    # The same passphrase typed on a phone and on a desktop keyboard can differ in Unicode form
    # (composed or decomposed accents); NFKC makes them one password (NIST SP 800-63B 5.1.1.2).
    return unicodedata.normalize("NFKC", password)


def hash_password_sync(password: str) -> str:
    return HASHER.hash(normalise(password))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


def verify_password_sync(stored_hash: str, password: str) -> Verified:
    hasher = HASHER
    try:
        hasher.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verified(ok=False)
    if hasher.check_needs_rehash(stored_hash):
        return Verified(ok=True, new_hash=hasher.hash(normalise(password)))
    return Verified(ok=True)


async def verify_password(stored_hash: str, password: str) -> Verified:
    """Does the password match? When the hash was made with older parameters, `new_hash` is
    the same password hashed with the current ones, for the caller to store."""
    return await asyncio.to_thread(verify_password_sync, stored_hash, password)


@lru_cache(maxsize=4)
def _decoy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("decoy password, never anyone's")


async def spend_a_verification(password: str) -> None:
    """Verify against a decoy hash: an unknown email costs as long as a wrong password, so the
    time of the answer does not tell which email addresses have accounts."""
    decoy = _decoy_hash(HASHER)
    await asyncio.to_thread(verify_password_sync, decoy, password)


# Passwords people pick first. Most are shorter than MIN_LENGTH already; these are the ones that
# pass the length rule, and the words that, padded with digits or symbols, are still guessed first.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "1qaz2wsx3edc4rfv",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "abcd1234abcd1234",
        "administrator",
        "asdfghjkl123",
        "iloveyou1234",
        "letmeinletmein",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "qwerty123456",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "q1w2e3r4t5y6",
        "zaq12wsxcde3",
        "changemechangeme",
        "welcomewelcome",
        "medicalinc123",
        "medicalinc1234",
        "singapore123",
        "singapore1234",
        "singapore2024",
        "singapore2025",
        "singapore2026",
    }
)
COMMON_WORDS = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwerty",
        "qwertyuiop",
        "letmein",
        "welcome",
        "iloveyou",
        "changeme",
        "admin",
        "administrator",
        "monkey",
        "dragon",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "trustno1",
        "secret",
        "master",
        "medical",
        "medicalinc",
        "medbook",
        "clinic",
        "doctor",
        "singapore",
        "abc",
        "abcdef",
    }
)
_PADDING = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_NAME_PARTS = re.compile(r"[^\w]+|_")
# Name fragments shorter than this are too common inside ordinary words ("Tan" in "important").
_MIN_NAME_PART = 4
_MIN_DISTINCT_CHARACTERS = 5


def password_problems(password: str, *, email: str, full_name: str) -> list[str]:
    """What is wrong with a new password, in words a person can act on; empty when it is fine."""
    password = normalise(password)
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    folded = password.casefold()
    if _is_common(folded):
        problems.append("is one of the most commonly used passwords")
    elif len(set(folded)) < _MIN_DISTINCT_CHARACTERS:
        problems.append(f"must use at least {_MIN_DISTINCT_CHARACTERS} different characters")
    local_part = email.strip().casefold().partition("@")[0]
    if len(local_part) >= 3 and local_part in folded:
        problems.append("must not contain your email address")
    if _contains_name(folded, full_name):
        problems.append("must not contain your name")
    return problems


def check_password(password: str, *, email: str, full_name: str) -> None:
    """Refuse a new password that breaks the policy, giving every reason at once."""
    problems = password_problems(password, email=email, full_name=full_name)
    if problems:
        raise WeakPasswordError("The password " + "; ".join(problems) + ".")


def _is_common(folded: str) -> bool:
    if folded in COMMON_PASSWORDS:
        return True
    # "Password2025!" is "password" with padding: guessed as early as the word itself.
    core = _PADDING.sub("", folded)
    return core in COMMON_WORDS


def _contains_name(folded: str, full_name: str) -> bool:
    name = full_name.casefold()
    squashed = "".join(_NAME_PARTS.split(name))
    if len(squashed) >= _MIN_NAME_PART and squashed in folded:
        return True
    return any(len(part) >= _MIN_NAME_PART and part in folded for part in _NAME_PARTS.split(name))
