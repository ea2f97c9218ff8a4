"""The evaluation arithmetic and CSV reading of `make eval-nlu`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nlu.evaluate import (
    Scored,
    bootstrap_interval,
    f1_scores,
    macro_f1,
    main,
    predicted_category,
    read_labelled,
    summary,
)


def scored(gold: str, predicted: str | None) -> Scored:
    """A result with a fixed parse time."""
    return Scored(gold, predicted, [predicted or ""], False, 2.0)


class TestMetrics:
    """Accuracy, per-class F1 and macro-F1 over the labels in the file."""

    def test_summary(self) -> None:
        """Known answer: two classes, one mistake."""
        results = [scored("甲", "甲"), scored("甲", "乙"), scored("乙", "乙"), scored("乙", "乙")]
        figures = summary(results)
        assert figures["n"] == 4
        assert figures["accuracy"] == 0.75
        assert figures["per_class"] == {"甲": pytest.approx(0.6667), "乙": 0.8}
        assert figures["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-4)
        assert figures["ms_per_message"] == 2.0
        assert list(figures) == ["n", "accuracy", "macro_f1", "per_class", "ms_per_message"]

    def test_unsure_counts_as_wrong(self) -> None:
        """A missing prediction is a miss for the gold label."""
        assert f1_scores(["甲"], [None]) == {"甲": 0.0}

    def test_unsure_parse_uses_the_top_of_the_ranking(self) -> None:
        """When unsure, the evaluation scores the model's best guess."""
        parse = {
            "petition_category": {
                "name": None,
                "unsure": True,
                "ranking": [{"name": "乙", "confidence": 0.4}, {"name": "甲", "confidence": 0.3}],
            }
        }
        assert predicted_category(parse) == ("乙", ["乙", "甲"], True)


class TestBootstrapInterval:
    """How far macro-F1 could move with the luck of which letters a file holds."""

    def test_perfect_predictions_have_no_spread(self) -> None:
        """Every resample of a perfect file scores 1."""
        gold = ["甲", "乙", "丙"] * 10
        assert bootstrap_interval(gold, gold) == (1.0, 1.0)

    def test_interval_holds_the_figure_and_is_repeatable(self) -> None:
        """The interval brackets the file's own figure, and one seed gives one interval."""
        gold = ["甲"] * 30 + ["乙"] * 30
        predicted = ["甲"] * 24 + ["乙"] * 6 + ["乙"] * 27 + ["甲"] * 3
        low, high = bootstrap_interval(gold, predicted)
        assert 0.0 < low < macro_f1(gold, predicted) < high < 1.0
        assert bootstrap_interval(gold, predicted) == (low, high)

    def test_a_smaller_file_gives_a_wider_interval(self) -> None:
        """Ten times the letters with the same error rate: a narrower interval."""
        gold = ["甲"] * 10 + ["乙"] * 10
        predicted = ["甲"] * 8 + ["乙"] * 2 + ["乙"] * 8 + ["甲"] * 2
        low, high = bootstrap_interval(gold, predicted)
        big_low, big_high = bootstrap_interval(gold * 10, predicted * 10)
        assert big_high - big_low < (high - low) / 2

    def test_bad_lengths_and_empty_files(self) -> None:
        """Lengths must agree; an empty file has nothing to resample."""
        with pytest.raises(ValueError, match="length"):
            bootstrap_interval(["甲"], [])
        assert bootstrap_interval([], []) == (0.0, 0.0)


class TestReading:
    """Any CSV of the evaluation shape is read; extra columns are ignored."""

    def test_extra_columns_and_bom(self, tmp_path: Path) -> None:
        """A file with a BOM, extra columns and an unlabelled row."""
        path = tmp_path / "x.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["留言编号", "留言主题", "留言时间", "留言详情", "一级分类"])
            writer.writerow(["1", "主题", "2020", "详情", "城乡建设"])
            writer.writerow(["2", "主题", "2020", "详情", ""])
        assert read_labelled(path) == [("主题\n详情", "城乡建设")]


class TestCommandLine:
    """`python -m nlu.evaluate` refuses files of the wrong shape before loading a model."""

    def test_missing_columns(self, tmp_path: Path, capsys) -> None:
        """A CSV without 一级分类 is an error naming the missing column."""
        path = tmp_path / "bad.csv"
        path.write_text("留言主题,留言详情\n主题,详情\n", encoding="utf-8")
        assert main([str(path), "--model", str(tmp_path / "none.tar.gz")]) == 2
        assert "一级分类" in capsys.readouterr().err

    def test_no_labelled_rows_gives_an_empty_summary(self, tmp_path: Path, capsys) -> None:
        """A file with the columns but no labelled row still ends with the JSON line."""
        path = tmp_path / "empty.csv"
        path.write_text("留言主题,留言详情,一级分类\n,,\n", encoding="utf-8")
        assert main([str(path), "--model", str(tmp_path / "none.tar.gz")]) == 0
        last = capsys.readouterr().out.strip().splitlines()[-1]
        assert json.loads(last)["n"] == 0

    def test_empty_summary(self) -> None:
        """No results: zeros, not a division error."""
        assert summary([]) == {
            "n": 0,
            "accuracy": 0.0,
            "macro_f1": 0.0,
            "per_class": {},
            "ms_per_message": 0.0,
        }
