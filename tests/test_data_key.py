"""The data key seals personal data at rest; rotation keeps older values readable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from medbook.data_key import DATA_KEY_FILE, DataKey, DataKeyError, generate_data_key


def test_a_sealed_value_opens_only_for_its_own_purpose(tmp_path: Path) -> None:
    generate_data_key(tmp_path)
    key = DataKey.load(tmp_path)

    sealed = key.encrypt("S1234567D", purpose="nric")

    assert b"S1234567D" not in sealed
    assert key.decrypt(sealed, purpose="nric") == "S1234567D"
    with pytest.raises(DataKeyError):
        key.decrypt(sealed, purpose="totp")


def test_a_tampered_value_is_refused(tmp_path: Path) -> None:
    generate_data_key(tmp_path)
    key = DataKey.load(tmp_path)
    sealed = bytearray(key.encrypt("S1234567D", purpose="nric"))
    sealed[-1] ^= 1

    with pytest.raises(DataKeyError, match="integrity"):
        key.decrypt(bytes(sealed), purpose="nric")


def test_rotation_seals_with_the_new_key_and_still_opens_the_old(tmp_path: Path) -> None:
    generate_data_key(tmp_path)
    before = DataKey.load(tmp_path)
    old = before.encrypt("S1234567D", purpose="nric")

    assert generate_data_key(tmp_path, rotate=True)
    after = DataKey.load(tmp_path)

    assert after.current != before.current
    assert after.decrypt(old, purpose="nric") == "S1234567D"
    new = after.encrypt("S1234567D", purpose="nric")
    with pytest.raises(DataKeyError, match="not in the key file"):
        before.decrypt(new, purpose="nric")
    # The blind index must not move with rotation, or lookups by NRIC would stop matching.
    assert after.blind_index("S1234567D", purpose="nric") == before.blind_index(
        "S1234567D", purpose="nric"
    )


def test_the_blind_index_is_keyed_and_purpose_bound(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate_data_key(first)
    generate_data_key(second)
    a, b = DataKey.load(first), DataKey.load(second)

    assert a.blind_index("S1234567D", purpose="nric") != b.blind_index("S1234567D", purpose="nric")
    assert a.blind_index("S1234567D", purpose="nric") != a.blind_index("S1234567D", purpose="x")


def test_the_key_file_is_private_and_never_silently_replaced(tmp_path: Path) -> None:
    assert generate_data_key(tmp_path)
    written = (tmp_path / DATA_KEY_FILE).read_bytes()

    assert not generate_data_key(tmp_path)

    assert (tmp_path / DATA_KEY_FILE).read_bytes() == written
    assert stat.S_IMODE((tmp_path / DATA_KEY_FILE).stat().st_mode) == 0o600


def test_a_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(DataKeyError, match="medbook keys generate"):
        DataKey.load(tmp_path)
