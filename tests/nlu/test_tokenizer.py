"""The jieba tokenizer: private instance, bureau dictionaries, offsets on the original."""

from __future__ import annotations

from pathlib import Path

import jieba
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.tokenizer import PetitionTokenizer, place_units

DICTIONARIES = Path(__file__).resolve().parents[2] / "nlu" / "dictionaries"


def make_tokenizer(
    model_storage: ModelStorage,
    resource: Resource,
    execution_context: ExecutionContext,
    tmp_path: Path,
) -> PetitionTokenizer:
    """A tokenizer over the project's dictionaries with its cache in tmp_path."""
    config = {
        **PetitionTokenizer.get_default_config(),
        "dictionary_path": str(DICTIONARIES),
        "cache_dir": str(tmp_path / "jieba"),
    }
    return PetitionTokenizer.create(config, model_storage, resource, execution_context)


def words(tokenizer: PetitionTokenizer, text: str) -> list[str]:
    """The token texts of a message."""
    return [token.text for token in tokenizer.tokenize(Message({TEXT: text}), TEXT)]


class TestPetitionTokenizer:
    """Tokens follow the bureau's vocabulary and stay aligned with the original text."""

    def test_petition_terms_are_whole_words(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """Words from the user dictionaries come out whole."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        tokens = words(tokenizer, "老板拖欠工资，拆迁补偿也没到，去找劳动监察大队和综合行政执法局")
        for word in ("拖欠工资", "拆迁补偿", "劳动监察大队", "综合行政执法局"):
            assert word in tokens

    def test_units_and_departments(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """Administrative units and department names are single tokens."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        tokens = words(tokenizer, "街道办事处和居委会都说归住建局管，低保户也没人理")
        for word in ("街道办事处", "居委会", "住建局", "低保户"):
            assert word in tokens

    def test_offsets_point_into_the_original_text(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """With full-width, traditional and invisible characters, offsets still match."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        text = "我們\u200b社區物業費漲到２元"
        for token in tokenizer.tokenize(Message({TEXT: text}), TEXT):
            assert token.end - token.start == len(token.text)
            assert len(text[token.start : token.end]) == len(token.text)

    def test_global_jieba_is_untouched(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """Loading the bureau's dictionaries does not change jieba's global instance."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        tokenizer.jieba()
        assert tokenizer.jieba() is not jieba.dt
        assert "综合行政执法局" not in jieba.dt.FREQ

    def test_dictionaries_travel_inside_the_model(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """A tokenizer loaded from the trained model knows the same words."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        tokenizer.train(TrainingData())
        loaded = PetitionTokenizer.load(
            {**PetitionTokenizer.get_default_config(), "cache_dir": str(tmp_path / "j2")},
            model_storage,
            resource,
            execution_context,
        )
        assert "劳动监察大队" in words(loaded, "我去了劳动监察大队")


class TestPlaceUnits:
    """Place names are cut after each administrative or residential unit."""

    def test_unknown_town_and_village(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """Towns and villages jieba does not know still come out whole."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        tokens = words(tokenizer, "G3县双河镇柳塘村的低保名单")
        assert tokens[:4] == ["G3县", "双河镇", "柳塘村", "的"]

    def test_district_street_and_estate(
        self, model_storage, resource, execution_context, tmp_path
    ) -> None:
        """District, street and housing estate are three tokens."""
        tokenizer = make_tokenizer(model_storage, resource, execution_context, tmp_path)
        tokens = words(tokenizer, "我住岳麓区银盆岭街道阳光小区3栋")
        for word in ("岳麓区", "银盆岭街道", "阳光小区"):
            assert word in tokens

    def test_place_units_offsets(self) -> None:
        """Offsets of the pieces are offsets into the name."""
        assert place_units("G3县双河镇柳塘村") == [("G3县", 0), ("双河镇", 3), ("柳塘村", 6)]
