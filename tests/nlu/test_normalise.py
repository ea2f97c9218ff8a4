"""Tests of offset-preserving character folding."""

from __future__ import annotations

from nlu.normalise import fold, has_content


class TestFold:
    """fold keeps one character per character."""

    def test_full_width_digits_and_letters_fold(self) -> None:
        """Full-width digits and Latin letters become ASCII."""
        assert fold("１３８ＡＢ") == "138AB"

    def test_invisible_characters_become_spaces(self) -> None:
        """Zero-width and bidi controls become blanks at the same offsets."""
        text = "停\u200b水\u202e了"
        assert fold(text) == "停 水 了"
        assert len(fold(text)) == len(text)

    def test_multi_character_expansions_are_kept_as_is(self) -> None:
        """Characters whose NFKC form is longer (㎡) stay, so offsets never shift."""
        assert fold("100㎡") == "100㎡"


class TestHasContent:
    """Whether there is anything to understand."""

    def test_emoji_and_punctuation_only(self) -> None:
        """Emoji, punctuation and blanks are no content."""
        assert not has_content("😀👍！？ \u200b")

    def test_chinese_text(self) -> None:
        """Chinese characters are content."""
        assert has_content("停水")
