"""Phone numbers and ID numbers: finding, normalising, validating, masking.

Pure standard library, shared by the NLU components (bot side) and the actions and
case domain (cases side).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-—–()（）.·]")
# A run of digits possibly broken by separators, optionally after +86 / 0086.
_NUMBER_RUN = re.compile(r"(?:\+?86[\s\-]?)?\d(?:[\d\s\-—–()（）]{5,22}\d)")
_ID_RUN = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class PhoneProblem(str, Enum):
    """Why a text is not a usable mobile number."""

    NO_DIGITS = "no_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    BAD_PREFIX = "bad_prefix"


@dataclass(frozen=True)
class PhoneCheck:
    """The outcome of reading a mobile number: the number, or the problem and digit count."""

    number: str | None
    problem: PhoneProblem | None
    digits: int


def fold_digits(text: str) -> str:
    """Full-width digits and letters folded to ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def _strip_country_code(digits: str) -> str:
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits.lstrip("+")


def check_mobile(text: str) -> PhoneCheck:
    """Reads a mobile number (`1[3-9]` + 9 digits, after stripping +86) from a short answer."""
    candidate = _strip_country_code(_SEPARATORS.sub("", fold_digits(text)))
    digits = re.sub(r"\D", "", candidate)
    if not digits:
        return PhoneCheck(None, PhoneProblem.NO_DIGITS, 0)
    if _MOBILE.fullmatch(digits):
        return PhoneCheck(digits, None, 11)
    if len(digits) < 11:
        return PhoneCheck(None, PhoneProblem.TOO_SHORT, len(digits))
    if len(digits) > 11:
        return PhoneCheck(None, PhoneProblem.TOO_LONG, len(digits))
    return PhoneCheck(None, PhoneProblem.BAD_PREFIX, 11)


def normalise_mobile(text: str) -> str | None:
    """The 11-digit mobile number `text` is, or None."""
    return check_mobile(text).number


def id_check_digit(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11]


def is_valid_id_number(number: str) -> bool:
    """Whether an 18-character ID number has the right check character."""
    number = fold_digits(number).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    return id_check_digit(number[:17]) == number[17]


@dataclass(frozen=True)
class Found:
    """An identifier found in a text, with its offsets in that text."""

    kind: str
    value: str
    start: int
    end: int
    valid: bool = True


def find_identifiers(text: str) -> list[Found]:
    """Mobile numbers, landlines and ID numbers in free text, with normalised values.

    `text` must already have full-width characters folded one-to-one, so that offsets
    into it are offsets into the original message.
    """
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for match in _ID_RUN.finditer(text):
        value = match.group().upper()
        found.append(
            Found("id_number", value, match.start(), match.end(), is_valid_id_number(value))
        )
        taken.append(match.span())
    for match in _NUMBER_RUN.finditer(text):
        start, end = match.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        raw = match.group()
        digits = _strip_country_code(_SEPARATORS.sub("", raw))
        if _MOBILE.fullmatch(digits):
            found.append(Found("phone", digits, start, end))
        elif _LANDLINE.fullmatch(digits):
            found.append(Found("phone", digits, start, end))
    return sorted(found, key=lambda item: item.start)


def mask_phone(phone: str | None) -> str | None:
    """Masks the middle of a phone number for display: 138****5678."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_id_number(number: str | None) -> str | None:
    """Masks an ID number for display: 110105********002X."""
    if not number:
        return number
    if len(number) <= 10:
        return "*" * len(number)
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"
