"""Reading short answers: yes/no, skip, refusals, numbers, references, corrections.

These are understanding cues for the petitioner's replies inside the form, where the NLU
intent alone is too coarse (is "没有" a refusal or the answer "nobody else joins"?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cn2an

SKIPPED = "-"
REFERENCE = re.compile(r"(?<![A-Z])[A-Z]{1,6}-\d{4}-\d{6}(?!\d)")
_SKIP = re.compile(
    r"^\s*(跳过|略过|不知道|不清楚|不记得|没有|无|不用|算了|skip)\s*[。.!！]?\s*$", re.I
)
_REFUSAL = re.compile(r"不想|不愿|不方便|不留|不告诉|不给|不要留|保密|匿名")
_NO = re.compile(r"^\s*(没有|没|无|否|不是|没反映过|第一次|头一次|就我|只有我|就我一个|我自己)")
_YES = re.compile(r"^\s*(有|是|对|反映过|找过|去过|打过)")
_NUMBER = re.compile(r"\d+")
# 一 in 一起/一些/一直… is no number; cn2an would read it as 1.
_NOT_A_NUMBER = re.compile(r"一(?=[起些点下直样块同共共致旦般])")
_CORRECTION_VALUE = re.compile(r"(?:改成|改为|换成|应该是|应为|更正为|是)[:：\s]*(.+)$")
_FIELD_CUES = (
    ("phone", re.compile(r"电话|手机|号码")),
    ("address", re.compile(r"通讯地址|住址|邮寄地址|家庭地址")),
    ("place", re.compile(r"地点|地方|位置|发生地|地址")),
    ("name", re.compile(r"名字|姓名|称呼")),
    ("demand", re.compile(r"诉求|要求|希望")),
    ("since", re.compile(r"时间|什么时候|开始")),
    ("involved", re.compile(r"单位|对象|涉及")),
)


def is_skip(text: str) -> bool:
    """The petitioner declines to answer an optional question."""
    return bool(_SKIP.match(text))


def is_refusal(text: str) -> bool:
    """The petitioner refuses to give personal data."""
    return bool(_REFUSAL.search(text))


def yes_no(text: str) -> bool | None:
    """True for a yes, False for a no, None when the text says neither."""
    if _NO.match(text):
        return False
    if _YES.match(text):
        return True
    return None


def count_people(text: str) -> int | None:
    """How many people a reply names ("二十多户" → 20), 0 for "no one else", else None."""
    if _NO.match(text):
        return 0
    text = _NOT_A_NUMBER.sub("", text)
    try:
        arabic = cn2an.transform(text, "cn2an")
    except (ValueError, KeyError):
        arabic = text
    match = _NUMBER.search(str(arabic))
    return int(match.group()) if match else None


def find_reference(text: str) -> str | None:
    """A case reference like XF-2026-000123 in the text."""
    match = REFERENCE.search(text.upper())
    return match.group() if match else None


@dataclass(frozen=True)
class Correction:
    """Which field the petitioner wants changed, and to what (when they said it)."""

    field: str | None
    value: str | None


def parse_correction(text: str) -> Correction:
    """ "电话写错了，应该是139…" → Correction("phone", "139…")."""
    field = next((name for name, cue in _FIELD_CUES if cue.search(text)), None)
    match = _CORRECTION_VALUE.search(text)
    value = match.group(1).strip(" 。.，,！!") if match else None
    return Correction(field, value or None)
