"""The learning-curve benchmark's own arithmetic: stratified shares and settings."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from bench.learning_curve import category_settings, main, stratified_share
from nlu.categories import Example


def examples(counts: dict[str, int]) -> list[Example]:
    """`counts[label]` distinct examples of every label."""
    return [Example(f"{label}{i}", label, None) for label, n in counts.items() for i in range(n)]


class TestStratifiedShare:
    """Every category keeps its share, and small ones are never dropped."""

    def test_share_of_every_category(self) -> None:
        """Half of 40 and half of 10; no example twice."""
        chosen = stratified_share(examples({"甲": 40, "乙": 10}), 0.5, seed=1)
        assert Counter(e.level1 for e in chosen) == {"甲": 20, "乙": 5}
        assert len({e.text for e in chosen}) == len(chosen)

    def test_small_categories_keep_two(self) -> None:
        """A category of three keeps two at an eighth; one of one keeps its one."""
        chosen = stratified_share(examples({"甲": 80, "乙": 3, "丙": 1}), 0.125, seed=1)
        assert Counter(e.level1 for e in chosen) == {"甲": 10, "乙": 2, "丙": 1}

    def test_draws_differ_by_seed_and_repeat_by_seed(self) -> None:
        """Two seeds draw differently; the same seed draws the same."""
        pool = examples({"甲": 50, "乙": 50})
        first = [e.text for e in stratified_share(pool, 0.5, seed=1)]
        assert first == [e.text for e in stratified_share(pool, 0.5, seed=1)]
        assert first != [e.text for e in stratified_share(pool, 0.5, seed=2)]

    @pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
    def test_share_out_of_range(self, share: float) -> None:
        """Nothing or more than everything is refused."""
        with pytest.raises(ValueError, match="share"):
            stratified_share(examples({"甲": 4}), share, seed=1)


def test_settings_come_from_the_config(tmp_path: Path) -> None:
    """Options in config.yml override the component's defaults; the rest stay."""
    config = tmp_path / "config.yml"
    config.write_text(
        "pipeline:\n"
        "  - name: WhitespaceTokenizer\n"
        "  - name: nlu.components.category_classifier.PetitionCategoryClassifier\n"
        "    alpha: 0.7\n",
        "utf-8",
    )
    settings = category_settings(config)
    assert settings["alpha"] == 0.7
    assert settings["ngram_max"] == 3
    assert settings["data_path"] == "nlu/data/categories"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n", "utf-8")
    with pytest.raises(ValueError, match="PetitionCategoryClassifier"):
        category_settings(config)


def test_curve_on_a_labelled_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The project's examples, scored on a small file of plain letters: a curve that ends
    at the full share, where the model names all four."""
    data = tmp_path / "letters.csv"
    letters = [
        ("小区物业乱收费", "物业公司每月多收停车费，业主多次反映没人管。", "城乡建设"),
        ("工厂偷排废水", "河边的化工厂晚上往河里排污水，河水发黑发臭。", "环境保护"),
        ("老板拖欠工资", "我们在厂里干了半年，老板拖欠工资三个月不发。", "劳动和社会保障"),
        ("孩子上学难", "小区划片的小学学位不够，孩子报名被拒，家长很着急。", "教育文体"),
    ]
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["留言主题", "留言详情", "一级分类"])
        writer.writerows(letters)
    assert main(["--data", str(data), "--shares", "0.5", "1", "--draws", "2"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["n"] == 4
    assert [point["share"] for point in figures["curve"]] == [0.5, 1.0]
    assert figures["curve"][0]["examples"] < figures["curve"][1]["examples"]
    assert figures["all"] == {"macro_f1": 1.0, "ci95": [1.0, 1.0]}  # four plain letters
