"""The petition category classifier: training, saving, confidence, odd input."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.categories import petition_text, read_examples
from nlu.components.category_classifier import (
    CATEGORY,
    KIND,
    PetitionCategoryClassifier,
    PetitionKind,
    category_payload,
    petition_kind,
)
from nlu.components.category_model import CategoryModel, Prediction
from nlu.components.linear import prepare_text

# Small, made-up training set: three categories, two second-level labels in one of them.
ROWS = [
    ("物业乱收停车费", "小区物业每月多收停车费", "城乡建设", "住房保障与房地产"),
    ("开发商延期交房", "交房推迟一年开发商不赔", "城乡建设", "住房保障与房地产"),
    ("物业不修电梯", "电梯坏了物业半个月不修", "城乡建设", "住房保障与房地产"),
    ("小区路灯不亮", "小区门口路灯坏了没人修", "城乡建设", "城市建设和市政管理"),
    ("下水道堵塞", "路口下水道堵了污水外溢", "城乡建设", "城市建设和市政管理"),
    ("道路挖了又挖", "主干道一年挖三次管道", "城乡建设", "城市建设和市政管理"),
    ("老板拖欠工资", "工厂老板欠我们三个月工资", "劳动和社会保障", "工资福利"),
    ("公司不交社保", "公司一直不给员工交社保", "劳动和社会保障", "城镇职工社会保险"),
    ("工地欠薪", "包工头拖欠农民工工资跑了", "劳动和社会保障", "工资福利"),
    ("退休金算错", "退休工资核定比同事少", "劳动和社会保障", "退休政策及待遇"),
    ("学校强制补课", "中学暑假强制补课收费", "教育文体", "教育收费"),
    ("幼儿园乱收费", "幼儿园多收兴趣班费", "教育文体", "教育收费"),
    ("老师体罚学生", "班主任体罚学生家长不满", "教育文体", "教育行政管理"),
    ("小学划片不合理", "小区孩子被划到远处学校", "教育文体", "考试招生"),
]


def write_rows(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Writes rows in the shape of the evaluation CSV."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["留言主题", "留言详情", "一级分类", "二级分类"])
        writer.writerows(rows)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A folder with one CSV of examples."""
    folder = tmp_path / "categories"
    folder.mkdir()
    write_rows(folder / "examples.csv", ROWS)
    return folder


def make_classifier(
    data_dir: Path,
    model_storage: ModelStorage,
    resource: Resource,
    execution_context: ExecutionContext,
    **overrides: Any,
) -> PetitionCategoryClassifier:
    """A classifier trained on the small data set."""
    config = {
        **PetitionCategoryClassifier.get_default_config(),
        "data_path": str(data_dir),
        **overrides,
    }
    classifier = PetitionCategoryClassifier.create(
        config, model_storage, resource, execution_context
    )
    classifier.train(TrainingData())
    return classifier


def parse(classifier: PetitionCategoryClassifier, text: str) -> Message:
    """A message after the classifier has processed it."""
    message = Message({TEXT: text})
    classifier.process([message])
    return message


class TestPetitionCategoryClassifier:
    """Category, ranking, unsure flag and kind on the message."""

    def test_assigns_the_matching_category(
        self, data_dir, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """A wage complaint lands in 劳动和社会保障 with three ranked categories."""
        monkeypatch.delenv("EXTRA_DATA", raising=False)
        classifier = make_classifier(data_dir, model_storage, resource, execution_context)
        category = parse(classifier, "老板拖欠我们工资两个月了").get(CATEGORY)
        assert category["ranking"][0]["name"] == "劳动和社会保障"
        assert len(category["ranking"]) == 3
        assert set(category) == {"name", "confidence", "second_level", "ranking", "unsure"}
        assert 0.0 <= category["confidence"] <= 1.0

    def test_model_survives_saving_and_loading(
        self, data_dir, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """The loaded classifier ranks exactly like the trained one."""
        monkeypatch.delenv("EXTRA_DATA", raising=False)
        trained = make_classifier(data_dir, model_storage, resource, execution_context)
        loaded = PetitionCategoryClassifier.load(
            trained._config, model_storage, resource, execution_context
        )
        text = "幼儿园收了很多额外费用"
        assert parse(loaded, text).get(CATEGORY) == parse(trained, text).get(CATEGORY)

    def test_extra_data_is_learnt(
        self, data_dir, tmp_path, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """Rows of the EXTRA_DATA CSV teach a category the project data lacks."""
        extra = write_rows(
            tmp_path / "history.csv",
            [
                ("河道非法采砂", "采砂船日夜作业河岸垮塌", "国土资源", ""),
                ("矿山无证开采", "山上有人无证开采矿石", "国土资源", ""),
                ("采石场炸山", "采石场炸山石头乱飞", "国土资源", ""),
            ],
        )
        monkeypatch.setenv("EXTRA_DATA", str(extra))
        classifier = make_classifier(data_dir, model_storage, resource, execution_context)
        category = parse(classifier, "有人在河道非法采砂开采").get(CATEGORY)
        assert category["ranking"][0]["name"] == "国土资源"

    def test_missing_extra_data_fails_training(
        self, data_dir, tmp_path, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """A wrong EXTRA_DATA path stops training instead of being ignored."""
        monkeypatch.setenv("EXTRA_DATA", str(tmp_path / "missing.csv"))
        with pytest.raises(FileNotFoundError):
            make_classifier(data_dir, model_storage, resource, execution_context)

    @pytest.mark.parametrize("text", ["", "😀😀😀", "\u200b\u200b", "！？。"])
    def test_nothing_to_classify_is_unsure(
        self, text, data_dir, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """Empty or emoji-only messages get no category and unsure, without a crash."""
        monkeypatch.delenv("EXTRA_DATA", raising=False)
        classifier = make_classifier(data_dir, model_storage, resource, execution_context)
        category = parse(classifier, text).get(CATEGORY)
        assert category["name"] is None
        assert category["unsure"] is True

    @pytest.mark.parametrize(
        "text",
        [
            "我們小區物業亂收停車費",  # traditional characters
            "ｗｏｒｋｅｒｓ拖欠工资３个月",  # full-width letters and digits
            "老板\u200b拖欠\u202e工资",  # invisible characters
            "my boss didn't pay 工资 for 3 months",  # mixed Chinese and English
            "物业电梯没人修。" * 400,  # a 3,200-character letter
        ],
    )
    def test_awkward_input_is_classified(
        self, text, data_dir, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """Odd but meaningful input still gets a ranking (and no crash)."""
        monkeypatch.delenv("EXTRA_DATA", raising=False)
        classifier = make_classifier(data_dir, model_storage, resource, execution_context)
        category = parse(classifier, text).get(CATEGORY)
        assert category["ranking"][0]["name"] in {"城乡建设", "劳动和社会保障"}

    def test_traditional_text_is_read_like_simplified(
        self, data_dir, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """Traditional characters give the same result as their simplified form."""
        monkeypatch.delenv("EXTRA_DATA", raising=False)
        classifier = make_classifier(data_dir, model_storage, resource, execution_context)
        assert parse(classifier, "物業亂收停車費").get(CATEGORY) == parse(
            classifier, "物业乱收停车费"
        ).get(CATEGORY)

    def test_kind_is_set(
        self, data_dir, model_storage, resource, execution_context, monkeypatch
    ) -> None:
        """Every processed message carries a petition kind."""
        monkeypatch.delenv("EXTRA_DATA", raising=False)
        classifier = make_classifier(data_dir, model_storage, resource, execution_context)
        assert parse(classifier, "我要举报村支书贪污").get(KIND) == "report"

    def test_untrained_classifier_is_unsure(
        self, model_storage, resource, execution_context
    ) -> None:
        """Without a model in the archive, messages are marked unsure, not dropped."""
        classifier = PetitionCategoryClassifier.load(
            PetitionCategoryClassifier.get_default_config(),
            model_storage,
            resource,
            execution_context,
        )
        assert parse(classifier, "物业乱收费").get(CATEGORY)["unsure"] is True


class TestCategoryPayload:
    """The confidence rules that decide between a category and "unsure"."""

    def prediction(self, *confidences: float) -> Prediction:
        """A prediction over made-up labels with the given confidences."""
        names = ["甲", "乙", "丙", "丁"]
        return Prediction(list(zip(names, confidences, strict=False)), ("子类", 0.9))

    def test_confident_prediction_names_the_category(self) -> None:
        """High confidence and a clear margin: the name and second level are given."""
        payload = category_payload(
            self.prediction(0.8, 0.1, 0.05, 0.05),
            threshold=0.5,
            margin=0.1,
            second_threshold=0.5,
        )
        assert payload["name"] == "甲"
        assert payload["second_level"] == "子类"
        assert payload["unsure"] is False
        assert [item["name"] for item in payload["ranking"]] == ["甲", "乙", "丙"]

    def test_low_confidence_is_unsure(self) -> None:
        """Below the threshold the name is null but the top three are still offered."""
        payload = category_payload(
            self.prediction(0.4, 0.3, 0.2, 0.1), threshold=0.5, margin=0.1, second_threshold=0.5
        )
        assert payload["name"] is None
        assert payload["unsure"] is True
        assert len(payload["ranking"]) == 3

    def test_close_runner_up_is_unsure(self) -> None:
        """Two categories almost equally likely: ask rather than guess."""
        payload = category_payload(
            self.prediction(0.52, 0.47, 0.01, 0.0), threshold=0.5, margin=0.1, second_threshold=0.5
        )
        assert payload["unsure"] is True


class TestPetitionKind:
    """Cue words decide complaint, suggestion, report or request for help."""

    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("我实名举报村主任挪用扶贫款", PetitionKind.REPORT),
            ("建议在学校门口加装红绿灯", PetitionKind.SUGGESTION),
            ("求助，老人走失了怎么办", PetitionKind.HELP),
            ("请问低保怎么申请", PetitionKind.HELP),
            ("物业乱收费，服务太差", PetitionKind.COMPLAINT),
            ("檢舉有人偷排污水", PetitionKind.REPORT),
        ],
    )
    def test_kind(self, text: str, kind: PetitionKind) -> None:
        """The kind follows the petitioner's words (traditional characters too)."""
        assert petition_kind(text) is kind


class TestCategoryModel:
    """The model itself: fitting needs two categories; texts join subject and body."""

    def test_one_category_is_refused(self) -> None:
        """A single category cannot be learnt."""
        with pytest.raises(ValueError, match="two"):
            CategoryModel.fit(["a", "b"], ["城乡建设", "城乡建设"], [None, None])

    def test_rows_without_label_are_skipped(self, tmp_path: Path) -> None:
        """Rows missing text or top-level label are not training examples."""
        path = write_rows(
            tmp_path / "x.csv", [("主题", "详情", "", ""), ("", "", "城乡建设", ""), *ROWS[:1]]
        )
        examples = read_examples([path])
        assert len(examples) == 1
        assert examples[0].text == petition_text("物业乱收停车费", "小区物业每月多收停车费")


class TestPrepareText:
    """What the classifiers read."""

    def test_invisible_characters_are_dropped(self) -> None:
        """Zero-width and bidi characters do not split words for the classifiers."""
        assert prepare_text("物\u200b业\u202e乱收費") == "物业乱收费"
