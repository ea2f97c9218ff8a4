"""Character folding keeps offsets and makes odd input readable."""

from __future__ import annotations

from nlu.normalise import fold, has_content


class TestFold:
    """fold() maps every character to exactly one character."""

    def test_full_width_digits_become_ascii(self) -> None:
        """Full-width digits and letters read as ASCII."""
        assert fold("１３８ＡＢ") == "138AB"

    def test_traditional_characters_become_simplified(self) -> None:
        """Traditional characters are read as simplified ones (OpenCC)."""
        assert fold("我們社區的電梯壞了") == "我们社区的电梯坏了"

    def test_invisible_characters_become_spaces(self) -> None:
        """Zero-width and bidi controls turn into spaces, not into nothing."""
        assert fold("物\u200b业\u202e费\ufeff") == "物 业 费 "

    def test_length_is_kept(self) -> None:
        """The folded text has the original length, so offsets carry over."""
        text = "我們１２\u200b😀abc，。"
        assert len(fold(text)) == len(text)


class TestHasContent:
    """has_content() tells messages with letters or digits from the rest."""

    def test_emoji_and_blanks_have_no_content(self) -> None:
        """Only emoji, punctuation and invisible characters count as empty."""
        assert not has_content("😀😀 ！\u200b")

    def test_chinese_has_content(self) -> None:
        """A Chinese character is content."""
        assert has_content("😀好")
