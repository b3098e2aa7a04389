"""NRIC/FIN handling: recognise, mask. Pure. The NRIC is never a credential, only data."""

from __future__ import annotations

import re

_NRIC = re.compile(r"[STFGM]\d{7}[A-Z]")
PURPOSE = "nric"


def normalise_nric(value: str) -> str:
    """Upper-case and check the shape (S/T/F/G/M, seven digits, a letter)."""
    nric = value.strip().upper()
    if not _NRIC.fullmatch(nric):
        raise ValueError("not an NRIC or FIN")
    return nric


def mask_nric(nric: str) -> str:
    """What staff and the patient see, and all we keep in clear: S1234567A -> S****567A.

    The PDPC's NRIC advisory allows the last three digits and the check letter; the first letter
    tells citizens (S/T) from foreigners (F/G/M), which the front desk needs.
    """
    return f"{nric[0]}****{nric[-4:]}"
