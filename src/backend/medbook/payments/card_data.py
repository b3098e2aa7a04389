"""Spotting card data where it must never be: card numbers (PANs) and security codes. Pure.

Used at the door (security.py refuses any request carrying them, before a handler, a log line or
the database can see it) and by the tests that scan what we store, log and answer.

What the door takes for a card number:

1. Whatever its spelling. NFKC first (fullwidth digits and punctuation, mathematical, circled
   and superscript digits, no-break and ideographic spaces), then every other Unicode digit is
   read as its value (Arabic-Indic, Devanagari, Thai, dingbat digits...), dashes and minus
   signs as "-", middle dots and ideographic full stops as ".", fraction and division slashes
   as "/", and invisible characters are dropped (zero-width spaces and joiners, soft hyphens,
   variation selectors, combining marks such as a keycap's). Between two digits, any run of
   whitespace, ".", "-" and "/" is a gap, repeated or mixed ("4242 - 4242", "4242./4242").
2. Written the way card numbers are written:
   - 13 to 19 digits in a row;
   - one digit at a time ("4 2 4 2 ...", "4.2.4.2..."), any gaps: 13 to 19 digits from the
     start, and to the end, of a run of single digits (so that an expiry date or security code
     typed the same way after or before the number does not hide it);
   - groups of four with one kind of gap between them, the last group possibly shorter
     (4-4-4-1 to 4-4-4-4-3), from the start and to the end of a run of such groups;
   - Amex 4-6-5, Diners 4-6-4, 13-digit Visa 4-3-3-3 and UnionPay 6-13, one kind of gap.
   Kinds of gap: one space (of any kind: a tab, a no-break or an ideographic space), a wider
   space (two or more), a line break, and each arrangement of punctuation ("-", "/", ". ",
   ".-"), spaces around a hyphen or a slash not counted. So "4242 4242 4242 4242",
   "4242  4242  4242  4242" and "4242 - 4242 - 4242 - 4242" are cards, while two numbers side
   by side with a different gap between them ("6123-4567 9123-4567", "6123 4567 / 9123 4567",
   "6123 4567  9123 4567", one per line) are two numbers.
3. It begins with an issuer prefix of a network we could be paid with, at a length that network
   issues: Visa 4 (13, 16, 19); Mastercard 51-55 and 2221-2720 (16); American Express 34, 37
   (15); Discover 6011, 644-649, 65 (16-19); Diners Club 300-305, 3095, 36, 38-39 (14-19); JCB
   3528-3589 (16-19); UnionPay 62 (16-19, which holds Discover's 622126-622925).
4. Its Luhn check digit is right (which alone would let one number in ten through).
5. It stands apart: not glued to an ASCII letter or "_" (UUIDs, pi_/pm_/ch_ ids,
   "S1234567D"), not right after "+65" or "(65)" (a phone number), and not the decimals of a
   number ("1.4242424242424242", as floats are printed). Letters of other scripts are no glue:
   "卡号4242424242424242" is found.

So Singapore phone numbers (8 digits, 10 with 65: too short; in pairs, see below),
dates and date ranges (groups of 1, 2 and 4), times, amounts, readings and doses, NRIC/FIN,
postal codes, UUIDs (8-4-4-4-12, glued to hex letters) and change-feed cursors (two numbers far
shorter than 13 digits) are not card numbers. tests/payments/test_card_numbers.py measures
this on a corpus of visit reasons, on such numbers made at random and on 100,000 UUIDs.

Left as they are, on purpose:
- Two Singapore numbers written exactly as a card is printed ("6512 3456 9123 4567": four
  groups, one kind of gap) are a card when they start like a Discover, UnionPay or JCB card and
  pass Luhn, about 1 landline pair in 40 written that way: a patient refused for it is told why,
  while a card written that way would otherwise be stored.
- Unusual groupings (8-8, pairs, fives), numbers in words or glued to a word ("card4242..."),
  and networks we do not take (Maestro, RuPay, UnionPay's 81 series, Mir, whose prefixes
  overlap Singapore phone numbers) pass: the door stops honest mistakes, not someone set on
  smuggling a number past it.

`card_numbers_anywhere`, for scanning what we store, log and answer, is looser in one way: 13
to 19 digits in a row count even glued to a word or inside a longer token ("pm_4242...",
"card4242..."), since there a card number is a leak however it got there. Everything else is
the door's rule, so UUIDs, cursors and the gateway's ids stay quiet; 32 hex digits without
hyphens do not (about 1 in 4,000 random ones holds a run that passes).

The cost is linear in the text: a few passes of str and bytes methods, one pass of one compiled
pattern that never backtracks more than a few characters, and a few checks in Python for each
place written like a card (such places are at least 14 characters apart).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from itertools import chain
from typing import Any
from urllib.parse import parse_qsl

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

# Issuer prefixes (first digits, from-to inclusive) and the lengths each network issues.
_ISSUERS: tuple[tuple[bytes, bytes, frozenset[int]], ...] = (
    (b"4", b"4", frozenset({13, 16, 19})),  # Visa
    (b"51", b"55", frozenset({16})),  # Mastercard
    (b"2221", b"2720", frozenset({16})),  # Mastercard 2-series
    (b"34", b"34", frozenset({15})),  # American Express
    (b"37", b"37", frozenset({15})),
    (b"6011", b"6011", frozenset(range(16, 20))),  # Discover
    (b"644", b"649", frozenset(range(16, 20))),
    (b"65", b"65", frozenset(range(16, 20))),
    (b"300", b"305", frozenset(range(14, 20))),  # Diners Club
    (b"3095", b"3095", frozenset(range(14, 20))),
    (b"36", b"36", frozenset(range(14, 20))),
    (b"38", b"39", frozenset(range(14, 20))),
    (b"3528", b"3589", frozenset(range(16, 20))),  # JCB
    (b"62", b"62", frozenset(range(16, 20))),  # UnionPay (and Discover's 622126-622925)
)


def _lengths_by_prefix() -> dict[bytes, frozenset[int]]:
    """The lengths issued under each four-digit prefix (every range above is a range of those)."""
    lengths: dict[bytes, frozenset[int]] = {}
    for low, high, issued in _ISSUERS:
        scale = 10 ** (4 - len(low))
        for number in range(int(low) * scale, (int(high) + 1) * scale):
            prefix = b"%04d" % number
            lengths[prefix] = lengths.get(prefix, frozenset()) | issued
    return lengths


_LENGTHS_BY_PREFIX = _lengths_by_prefix()
_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")  # a doubled digit's digit sum

# How text is read before looking for numbers (1. above). Gaps end up as " " (any horizontal
# space), "\n" (any line break), ".", "-" or "/"; anything else outside ASCII is not a digit.
_ASCII_SPELLING = str.maketrans(
    dict.fromkeys("\t\x1f", " ") | dict.fromkeys("\r\x0b\x0c\x1c\x1d\x1e", "\n")
)
_LINE_BREAKS = "\x85\u2028\u2029"
_DASHES = "\u2212\u2796\u2043\u02d7\ufe63\uff0d"  # minus signs, hyphen bullet; all Pd too
_DOTS = "\u00b7\u2024\u2027\u2219\u22c5\u30fb\uff65\u3002\uff61\ufe52\uff0e"
_SLASHES = "\u2044\u2215\u29f8\uff0f"
# Digits, gaps and invisible characters outside ASCII all live in these planes.
_NON_ASCII_RANGES = (range(0x80, 0x20000), range(0xE0000, 0xE1000))

# How card numbers are written (2. above), in the text read as above, as bytes. Every pattern
# starts at a digit that follows no digit (the character before it is part of the match, which
# lets the search skip runs of digits quickly) and is followed by a digit or a gap (so most
# places fail at once), and quantifiers that end at a gap or a digit are possessive: one pass,
# with no backtracking that could grow with the input.
_GAP = rb"[ \n./-]++"
_WRITTEN_LIKE_A_CARD = re.compile(
    rb"[^0-9](?=[0-9][0-9 \n./-])(?:"
    rb"(?P<row>[0-9]{13,19}+)(?![0-9])"
    # Three fours and then more fours (and maybe a shorter group), or a shorter group.
    rb"|(?P<fours>[0-9]{4}(?P<gap>" + _GAP + rb")[0-9]{4}(?P=gap)[0-9]{4}(?![0-9])"
    rb"(?:(?:(?P=gap)[0-9]{4}(?![0-9]))++(?:(?P=gap)[0-9]{1,3}(?![0-9]))?"
    rb"|(?P=gap)[0-9]{1,3}(?![0-9])))"
    rb"|(?P<fixed>[0-9]{4}(?P<gap6>" + _GAP + rb")[0-9]{6}(?P=gap6)[0-9]{4,5}+(?![0-9])"
    rb"|[0-9]{4}(?P<gap3>" + _GAP + rb")[0-9]{3}(?P=gap3)[0-9]{3}(?P=gap3)[0-9]{3}(?![0-9])"
    rb"|[0-9]{6}" + _GAP + rb"[0-9]{13}(?![0-9]))"
    # Single digits, only where a run of them begins (not after a single digit and a gap).
    rb"|(?<![^0-9][0-9][ \n./-])(?P<singles>[0-9](?![0-9])(?:" + _GAP + rb"[0-9](?![0-9])){12,}+)"
    rb")"
)
_COUNTRY_CODE = re.compile(rb"(?:\+65|\(65\))[ \n./-]?$")
_DIGITS = b"0123456789"
_GAPS = b" \n./-"
_GLUE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
# Left out when comparing field names: "_", "-" and whitespace (all of it is below U+3001).
_FIELD_NAME_NOISE = dict.fromkeys(
    [ord("_"), ord("-"), *(code for code in range(0x3001) if chr(code).isspace())]
)


def luhn_valid(digits: str) -> bool:
    """Whether the Luhn check digit of these ASCII digits is right."""
    doubled = digits[-2::-2].encode().translate(_DOUBLED)
    return (sum(digits[-1::-2].encode()) + sum(doubled) - 48 * len(digits)) % 10 == 0


def is_card_number(digits: str) -> bool:
    """Whether these ASCII digits are a card number: an issuer prefix of a network we could be
    paid with, a length it issues, and the Luhn check."""
    return _is_card_number(digits.encode())


def card_numbers_in(text: str) -> list[str]:
    """Card numbers written in `text`, by the door's rule (module docstring), as plain digits."""
    return list(dict.fromkeys(_card_numbers(text, glued_runs=False)))


def card_numbers_anywhere(text: str) -> list[str]:
    """Card numbers in `text` for scanning what we store, log and answer: the door's rule, and
    13-19 digits in a row even glued to a word or inside a longer token, where a card number
    would be a leak however it got there."""
    return list(dict.fromkeys(_card_numbers(text, glued_runs=True)))


def is_card_field(name: str) -> bool:
    return name.lower().translate(_FIELD_NAME_NOISE) in CARD_FIELD_NAMES


def card_data_in_request(body: bytes, content_type: str, query: str) -> str | None:
    """Why this request carries card data (a field name or a card number), or None.

    Reads the query string and the body as the app will: form fields, or JSON (whatever the
    content type says, in any encoding json accepts), or else the body as text."""
    names, texts = _form_fields(_as_sent(query))
    if body:
        if "x-www-form-urlencoded" in content_type:
            more_names, more_texts = _form_fields(body.decode("utf-8", errors="replace"))
        else:
            more_names, more_texts = _json_fields(body)
        names |= more_names
        texts += more_texts
    if name := _card_field_among(names):
        return f"a card field ({name})"
    # One pass over everything: NUL is neither a digit, a gap nor glue, so no number runs from
    # one field into the next.
    if next(_card_numbers("\x00".join(chain(texts, names)), glued_runs=False), None):
        return "a card number"
    return None


def _card_field_among(names: set[str]) -> str | None:
    # All names at once (a body can hold a great many); NUL keeps them apart.
    if CARD_FIELD_NAMES.isdisjoint(
        "\x00".join(names).lower().translate(_FIELD_NAME_NOISE).split("\x00")
    ):
        return None
    return next((name for name in names if is_card_field(name)), None)


def _as_sent(query: str) -> str:
    """The query string as UTF-8: servers hand it over as bytes read as Latin-1, so digits sent
    unescaped outside ASCII (fullwidth ones, say) would otherwise read as other characters."""
    try:
        return query.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return query


def _form_fields(text: str) -> tuple[set[str], list[str]]:
    pairs = parse_qsl(text, keep_blank_values=True)
    return {name for name, _ in pairs}, [value for _, value in pairs]


def _json_fields(body: bytes) -> tuple[set[str], list[str]]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        # Not JSON (or too deep for the parser, which the app's parser refuses as well): the
        # body as text, decoded as json would have.
        return set(), [body.decode(json.detect_encoding(body), errors="replace")]
    return _walk(document)


def _walk(document: Any) -> tuple[set[str], list[str]]:
    """The keys, and the text of the strings and integers, of a JSON document; with a stack of
    our own, so no depth can exhaust Python's."""
    names: set[str] = set()
    texts: list[str] = []
    pending = [document]
    while pending:
        node = pending.pop()
        kind = type(node)  # json.loads makes exactly these types
        if kind is str:
            texts.append(node)
        elif kind is dict:
            names.update(node)
            pending.extend(node.values())
        elif kind is list:
            pending.extend(node)
        elif kind is int:
            texts.append(str(node))
    return names, texts


def _card_numbers(text: str, *, glued_runs: bool) -> Iterator[str]:
    """Card numbers in `text`, as plain ASCII digits."""
    plain = _read_plainly(text).encode("ascii", errors="replace")
    if len(plain) - len(plain.translate(None, _DIGITS)) < 13:
        return
    plain = b"\x00" + _tidy_gaps(plain)  # so that a number at the start follows a non-digit
    end = len(plain)
    for match in _WRITTEN_LIKE_A_CARD.finditer(plain):
        kind = match.lastgroup or ""
        written = match[kind]
        glued_first = plain[match.start()] in _GLUE or _after_country_code(plain, match.start())
        glued_last = match.end() < end and plain[match.end()] in _GLUE
        if kind == "row":
            glued = glued_first or glued_last
            candidates = [] if (glued and not glued_runs) or _decimals(plain, match) else [written]
        elif kind == "fours":
            candidates = _fours(written.split(match["gap"]), glued_first, glued_last)
        elif kind == "fixed":
            candidates = [] if glued_first or glued_last else [written.translate(None, _GAPS)]
        else:
            candidates = _one_at_a_time(written.translate(None, _GAPS), glued_first, glued_last)
        for digits in candidates:
            if _is_card_number(digits):
                yield digits.decode()


def _decimals(plain: bytes, match: re.Match[bytes]) -> bool:
    """Whether the digits matched are the decimals of a number ("1.4523829012345678")."""
    return plain[match.start()] == ord(".") and plain[match.start() - 1] in _DIGITS


def _after_country_code(plain: bytes, boundary: int) -> bool:
    """Whether digits after this point follow "+65" or "(65)": a Singapore phone number."""
    return _COUNTRY_CODE.search(plain, max(boundary - 4, 0), boundary + 1) is not None


def _fours(groups: list[bytes], glued_first: bool, glued_last: bool) -> list[bytes]:
    """Four fours, and three or four fours with the shorter group after them, from the start and
    to the end of a run of fours with one kind of gap."""
    if len(groups) == 4:  # the usual case, made quick
        return [] if glued_first or glued_last else [b"".join(groups)]
    fours = len(groups) - (len(groups[-1]) < 4)
    windows = {(0, 4), (fours - 4, fours)} if fours >= 4 else set()
    if fours < len(groups):
        windows |= {(start, fours + 1) for start in (fours - 3, fours - 4) if start >= 0}
    return [
        b"".join(groups[start:stop])
        for start, stop in _unglued(windows, len(groups), glued_first, glued_last)
    ]


def _one_at_a_time(digits: bytes, glued_first: bool, glued_last: bool) -> list[bytes]:
    """13 to 19 single digits from the start, and to the end, of a run of them, at lengths
    their issuer prefix allows."""
    count = len(digits)
    found = []
    if not glued_first:
        found += [
            digits[:length]
            for length in _LENGTHS_BY_PREFIX.get(digits[:4], ())
            if length < count or (length == count and not glued_last)
        ]
    if not glued_last:
        found += [
            digits[count - length :]
            for length in range(13, min(count - 1, 19) + 1)
            if length in _LENGTHS_BY_PREFIX.get(digits[count - length : count - length + 4], ())
        ]
    return found


def _unglued(
    windows: set[tuple[int, int]], count: int, glued_first: bool, glued_last: bool
) -> list[tuple[int, int]]:
    """The windows (first, after last) of a run of `count` that touch no glued end of it."""
    return sorted(
        (start, stop)
        for start, stop in windows
        if not ((start == 0 and glued_first) or (stop == count and glued_last))
    )


def _is_card_number(digits: bytes) -> bool:
    """An issuer prefix and a length it issues, and the Luhn check."""
    if len(digits) not in _LENGTHS_BY_PREFIX.get(digits[:4], ()):
        return False
    doubled = digits[-2::-2].translate(_DOUBLED)
    return (sum(digits[-1::-2]) + sum(doubled) - 48 * len(digits)) % 10 == 0


def _tidy_gaps(plain: bytes) -> bytes:
    """Gaps made comparable: a run of two or more spaces becomes two (a wide space), spaces
    next to a "-", "/" or line break go, and a mark repeated is the mark once ("4242 -- 4242"
    has the gap "-"). Spaces by a dot stay, as "1.5" is a number and "1. 5" a list. Each pass
    shortens what it replaces, so there are few."""
    while b"   " in plain:
        plain = plain.replace(b"   ", b"  ")
    for mark in (b"\n", b"/", b"-"):
        while b" " + mark in plain:
            plain = plain.replace(b" " + mark, mark)
        while mark + b" " in plain:
            plain = plain.replace(mark + b" ", mark)
    for mark in (b"\n", b".", b"/", b"-"):
        while mark + mark in plain:
            plain = plain.replace(mark + mark, mark)
    return plain


def _read_plainly(text: str) -> str:
    if text.isascii():
        return text.translate(_ASCII_SPELLING)
    return unicodedata.normalize("NFKC", text).translate(_spelling_table())


@cache
def _spelling_table() -> dict[int, str | None]:
    """Every character outside ASCII that reads as a digit or a gap, or not at all."""
    table: dict[int, str | None] = {code: str(gap) for code, gap in _ASCII_SPELLING.items()}
    for code in chain.from_iterable(_NON_ASCII_RANGES):
        char = chr(code)
        category = unicodedata.category(char)
        if category in ("Cf", "Mn", "Me"):
            table[code] = None
        elif category == "Pd":
            table[code] = "-"
        elif char.isspace():
            table[code] = "\n" if char in _LINE_BREAKS else " "
        elif (digit := unicodedata.digit(char, None)) is not None:
            table[code] = str(digit)
    for marks, gap in ((_DASHES, "-"), (_DOTS, "."), (_SLASHES, "/")):
        table.update((ord(mark), gap) for mark in marks)
    return table
