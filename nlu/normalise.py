"""Character-level normalisation that keeps every character at its offset."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

# Zero-width and bidirectional control characters: invisible, and used to dodge filters.
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u00ad"
)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    """OpenCC's traditional-to-simplified converter, loaded on first use."""
    import opencc  # type: ignore[import-untyped]  # loaded lazily, not at import time

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def simplified_char(char: str) -> str:
    """The simplified form of one CJK character (itself when OpenCC maps it to more)."""
    converted = str(_t2s().convert(char))
    return converted if len(converted) == 1 else char


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def fold_char(char: str) -> str:
    """One character, folded: full-width to half-width, traditional to simplified,
    invisible to a space.

    The result is always exactly one character, so offsets into the folded text
    are offsets into the original text.
    """
    if char in INVISIBLE:
        return " "
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1:
        return char
    if _is_cjk(folded):
        return simplified_char(folded)
    return folded


@lru_cache(maxsize=64)
def fold(text: str) -> str:
    """The text with every character folded; same length as `text`.

    Cached: every component of the pipeline folds the same message.
    """
    return "".join(fold_char(char) for char in text)


def has_content(text: str) -> bool:
    """Whether the text holds any letter or digit (not only emoji, symbols or blanks)."""
    return any(unicodedata.category(char)[0] in "LN" for char in fold(text))
