"""Spotting card data where it must never be: card numbers (PANs) and security codes. Pure.

Used at the door (security.py refuses any request carrying them, before a handler, a log line or
the database can see it) and by the tests that scan what we store, log and answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

# A card number as people type it, standing alone: 13 to 19 digits in a row, or in groups of
# four split by single spaces or hyphens. Ids (UUIDs, pi_...), cursors ("123-456"), phone
# numbers and dates do not look like this.
_PAN_CANDIDATE = re.compile(
    r"(?<![\w-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2,3}(?:\1\d{1,3})?)(?![\w-])"
)
# Field names card data travels under (compared lower-case, without _ or -).
CARD_FIELD_NAMES = frozenset(
    {
        "card",
        "cardnumber",
        "cardno",
        "pan",
        "primaryaccountnumber",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cid",
        "csc",
        "securitycode",
        "cardsecuritycode",
        "expmonth",
        "expyear",
        "expiry",
        "expirydate",
        "expirationdate",
        "cardexpiry",
    }
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """Luhn-valid 13-19 digit card numbers written in `text` (separators removed)."""
    found = []
    for match in _PAN_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
    return found


_DIGIT_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def card_numbers_anywhere(text: str) -> list[str]:
    """Luhn-valid runs of 13-19 digits, even inside a longer token: for scanning what we store,
    log and answer, where a card number would be a leak however it got there."""
    return [run for run in _DIGIT_RUN.findall(text) if luhn_valid(run)] + card_numbers_in(text)


def is_card_field(name: str) -> bool:
    return re.sub(r"[_\-\s]", "", name.lower()) in CARD_FIELD_NAMES


def card_data_in_request(body: bytes, content_type: str, query: str) -> str | None:
    """Why this request carries card data (a field name or a card number), or None."""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if reason := _check(name, value):
            return reason
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if document is not None:
            for name, value in _walk(document):
                if reason := _check(name, value):
                    return reason
            return None
    if "x-www-form-urlencoded" in content_type:
        for name, value in parse_qsl(text, keep_blank_values=True):
            if reason := _check(name, value):
                return reason
        return None
    return "a card number" if card_numbers_in(text) else None


def _check(name: str, value: Any) -> str | None:
    if name and is_card_field(name):
        return f"a card field ({name})"
    if isinstance(value, str | int) and card_numbers_in(str(value)):
        return "a card number"
    return None


def _walk(document: Any, name: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield str(key), value
            yield from _walk(value, str(key))
    elif isinstance(document, list):
        for item in document:
            yield from _walk(item, name)
    else:
        yield "", document
