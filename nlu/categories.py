"""Labelled petition examples: reading the CSV files the category classifier learns from.

The files have the columns 留言主题 (subject), 留言详情 (body), 一级分类 (top-level
category) and optionally 二级分类 (second-level category); other columns are ignored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUBJECT = "留言主题"
BODY = "留言详情"
LEVEL1 = "一级分类"
LEVEL2 = "二级分类"

# The 15 top-level categories of the official taxonomy, in its order.
TOP_LEVEL = (
    "城乡建设",
    "党务政务",
    "国土资源",
    "环境保护",
    "纪检监察",
    "交通运输",
    "经济管理",
    "科技与信息产业",
    "民政",
    "农村农业",
    "商贸旅游",
    "卫生计生",
    "政法",
    "教育文体",
    "劳动和社会保障",
)


@dataclass(frozen=True)
class Example:
    """One labelled petition: its text and its categories (second level may be empty)."""

    text: str
    level1: str
    level2: str | None = None


def petition_text(subject: str, body: str) -> str:
    """The text classified for a petition: subject and body, as a citizen would send them."""
    subject, body = subject.strip(), body.strip()
    if subject and body:
        return f"{subject}\n{body}"
    return subject or body


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a CSV file as dictionaries (UTF-8, with or without a byte-order mark)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            yield {key.strip(): (value or "") for key, value in row.items() if key}


def read_examples(paths: Iterable[Path]) -> list[Example]:
    """Examples from CSV files; rows without text or without a top-level label are skipped."""
    examples: list[Example] = []
    for path in paths:
        for row in read_rows(path):
            text = petition_text(row.get(SUBJECT, ""), row.get(BODY, ""))
            level1 = row.get(LEVEL1, "").strip()
            if not text or not level1:
                continue
            level2 = row.get(LEVEL2, "").strip() or None
            examples.append(Example(text, level1, level2))
    return examples
