"""Tests of phone and ID number reading, validation and masking."""

from __future__ import annotations

import pytest

from common.identifiers import (
    PhoneProblem,
    check_mobile,
    find_identifiers,
    id_check_digit,
    is_valid_id_number,
    mask_id_number,
    mask_phone,
)


class TestCheckMobile:
    """Reading a mobile number from a short answer."""

    @pytest.mark.parametrize(
        "text",
        [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "0086 13800138000",
            "１３８００１３８０００",
            "电话13800138000",
        ],
    )
    def test_accepts_common_spellings(self, text: str) -> None:
        """Spaces, hyphens, +86 and full-width digits all give the same 11 digits."""
        assert check_mobile(text).number == "13800138000"

    def test_too_short_reports_digit_count(self) -> None:
        """Ten digits are refused with the count, so the bot can say what is wrong."""
        check = check_mobile("1380013800")
        assert (check.number, check.problem, check.digits) == (None, PhoneProblem.TOO_SHORT, 10)

    def test_too_long_reports_digit_count(self) -> None:
        """Twelve digits are refused with the count."""
        check = check_mobile("138001380001")
        assert (check.problem, check.digits) == (PhoneProblem.TOO_LONG, 12)

    def test_wrong_prefix(self) -> None:
        """Eleven digits not starting 13-19 are no mobile number."""
        assert check_mobile("12800138000").problem is PhoneProblem.BAD_PREFIX

    def test_no_digits(self) -> None:
        """Words only."""
        assert check_mobile("不告诉你").problem is PhoneProblem.NO_DIGITS


class TestIdNumber:
    """GB 11643 check digit."""

    def test_known_valid_number(self) -> None:
        """The standard's example number validates, X included."""
        assert is_valid_id_number("11010519491231002X")
        assert id_check_digit("11010519491231002") == "X"

    def test_wrong_check_digit_refused(self) -> None:
        """One changed check character makes the number invalid."""
        assert not is_valid_id_number("110105194912310021")

    def test_masking(self) -> None:
        """Display keeps the region and the last four characters."""
        assert mask_id_number("11010519491231002X") == "110105********002X"


class TestFindIdentifiers:
    """Identifiers in free text."""

    def test_finds_phone_id_and_landline_with_offsets(self) -> None:
        """Each identifier has its normalised value and its span in the text."""
        text = "电话+86 138-0013-8000，身份证11010519491231002X，座机0536-8888888"
        found = find_identifiers(text)
        assert [(item.kind, item.value) for item in found] == [
            ("phone", "13800138000"),
            ("id_number", "11010519491231002X"),
            ("phone", "05368888888"),
        ]
        assert text[found[1].start : found[1].end] == "11010519491231002X"

    def test_invalid_id_is_flagged(self) -> None:
        """An ID number with a wrong check digit is found but marked invalid."""
        (item,) = find_identifiers("身份证号110105194912310021")
        assert item.kind == "id_number" and not item.valid

    def test_amounts_are_not_phones(self) -> None:
        """A sum of money or a short count is not mistaken for a phone number."""
        assert find_identifiers("欠了我32000元，拖了3个月") == []


def test_mask_phone() -> None:
    """Phones are shown as 138****8000."""
    assert mask_phone("13800138000") == "138****8000"
