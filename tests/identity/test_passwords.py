"""The password policy and the argon2id hashing. Pure: no database."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from medbook.identity import passwords
from medbook.identity.passwords import (
    check_password,
    hash_password_sync,
    password_problems,
    verify_password_sync,
)

EMAIL = "mei.ling.tan@medical.example"
NAME = "Tan Mei Ling"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)


def problems(password: str) -> list[str]:
    return password_problems(password, email=EMAIL, full_name=NAME)


def test_a_long_uncommon_passphrase_passes() -> None:
    assert problems("violet kettle on the harbour") == []
    assert problems("correct-Horse-battery-staple-42") == []


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "must be at least 12 characters long"),
        ("x" * 100 + "y long enough but far too long" + "z" * 20, "must be at most 128"),
        ("password1234", "is one of the most commonly used passwords"),
        ("Password2025!", "is one of the most commonly used passwords"),
        ("!!QWERTY123456", "is one of the most commonly used passwords"),
        ("singapore2026", "is one of the most commonly used passwords"),
        ("abababababab", "must use at least 5 different characters"),
        ("my mei.ling.tan secret", "must not contain your email address"),
        ("meiling loves durian", "must not contain your name"),
        ("the tanmeiling account", "must not contain your name"),
        ("LING and a long passphrase", "must not contain your name"),
    ],
)
def test_a_password_against_the_policy_is_refused_with_its_reason(
    password: str, reason: str
) -> None:
    assert any(problem.startswith(reason) for problem in problems(password)), problems(password)


def test_short_fragments_of_a_name_are_fine_inside_ordinary_words() -> None:
    # "Tan" is in "important"; a three-letter surname alone would refuse half the dictionary.
    assert problems("an important rainy afternoon") == []


def test_every_reason_is_given_at_once() -> None:
    with pytest.raises(passwords.WeakPasswordError) as refused:
        check_password("meiling1", email=EMAIL, full_name=NAME)
    assert refused.value.code == "weak_password"
    assert refused.value.status == 422
    assert "at least 12 characters" in refused.value.detail
    assert "your name" in refused.value.detail


def test_hashes_are_argon2id_with_our_explicit_parameters() -> None:
    stored = hash_password_sync("violet kettle on the harbour")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password_sync(stored, "violet kettle on the harbour").ok
    assert not verify_password_sync(stored, "violet kettle on the harbor").ok


def test_a_hash_with_older_parameters_is_replaced_on_a_good_password_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a hash made with weaker parameters than today's,
    old = CHEAP.hash("violet kettle on the harbour")
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )
    # when the right password is given, then a new hash with today's parameters comes back;
    verified = verify_password_sync(old, "violet kettle on the harbour")
    assert verified.ok
    assert verified.new_hash is not None
    assert verified.new_hash.startswith("$argon2id$v=19$m=16,t=2,p=1$")
    # a wrong password changes nothing, and a current hash needs no replacing.
    assert verify_password_sync(old, "wrong").new_hash is None
    assert verify_password_sync(verified.new_hash, "violet kettle on the harbour").new_hash is None


def test_the_same_passphrase_in_another_unicode_form_is_the_same_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passwords, "HASHER", CHEAP)
    composed = "caf\u00e9 au lait sous la pluie"
    decomposed = "cafe\u0301 au lait sous la pluie"
    assert verify_password_sync(hash_password_sync(composed), decomposed).ok


def test_a_stored_value_that_is_not_a_hash_never_matches() -> None:
    assert not verify_password_sync("not-a-real-hash", "anything at all").ok


async def test_an_unknown_account_spends_a_verification_all_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(passwords, "HASHER", CHEAP)
    real = passwords.verify_password_sync

    def counting(stored: str, password: str) -> passwords.Verified:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password_sync", counting)
    await passwords.spend_a_verification("any guess")
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")
