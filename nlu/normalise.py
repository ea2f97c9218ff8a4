"""Character-level normalisation that keeps every character at its offset."""

from __future__ import annotations

import unicodedata

# Zero-width and bidirectional control characters: invisible, and used to dodge filters.
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u00ad"
)


def fold_char(char: str) -> str:
    """One character, folded: full-width to half-width, invisible to a space.

    The result is always exactly one character, so offsets into the folded text
    are offsets into the original text.
    """
    if char in INVISIBLE:
        return " "
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) == 1:
        return folded
    return char


def fold(text: str) -> str:
    """The text with every character folded; same length as `text`."""
    return "".join(fold_char(char) for char in text)


def has_content(text: str) -> bool:
    """Whether the text holds any letter or digit (not only emoji, symbols or blanks)."""
    return any(unicodedata.category(char)[0] in "LN" for char in fold(text))
