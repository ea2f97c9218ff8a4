"""Petition category (official taxonomy), petition kind, as message properties."""

from __future__ import annotations

import logging
import os
import re
from enum import Enum
from pathlib import Path
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.categories import read_examples
from nlu.components.category_model import CategoryModel, Prediction
from nlu.components.stored import StoredModelComponent
from nlu.normalise import fold, has_content

logger = logging.getLogger(__name__)

CATEGORY = "petition_category"
KIND = "petition_kind"
EXTRA_DATA_ENV = "EXTRA_DATA"


class PetitionKind(str, Enum):
    """What the petitioner asks for: the regulation treats these differently."""

    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    REPORT = "report"
    HELP = "help"


# Cue words, strongest first: a report (检举) may be anonymous and is never routed to the
# unit it concerns, so it wins over everything else.
_KIND_CUES: tuple[tuple[PetitionKind, re.Pattern[str]], ...] = (
    (PetitionKind.REPORT, re.compile(r"举报|检举|揭发|告发|实名反映.{0,6}(贪|腐|违纪)")),
    (
        PetitionKind.SUGGESTION,
        re.compile(
            r"建议|提议|倡议|希望.{0,8}(增设|增加|开通|延长|设置)|能不能.{0,10}(增设|开通|延长)"
        ),
    ),
    (
        PetitionKind.HELP,
        re.compile(r"求助|救助|求求|帮帮|救救|怎么办|该找哪|请问|咨询|如何申请|怎么申请"),
    ),
)


def petition_kind(text: str) -> PetitionKind:
    """The kind of petition a text is, from cue words; complaint when nothing else fits."""
    folded = fold(text)
    for kind, pattern in _KIND_CUES:
        if pattern.search(folded):
            return kind
    return PetitionKind.COMPLAINT


def category_payload(
    prediction: Prediction | None, *, threshold: float, margin: float, second_threshold: float
) -> dict[str, Any]:
    """The `petition_category` property: name null and unsure true when not confident."""
    if prediction is None:
        return {
            "name": None,
            "confidence": 0.0,
            "second_level": None,
            "ranking": [],
            "unsure": True,
        }
    ranking = prediction.ranking[:3]
    best, confidence = ranking[0]
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
    unsure = confidence < threshold or confidence - runner_up < margin
    second = None
    if not unsure and prediction.second is not None and prediction.second[1] >= second_threshold:
        second = prediction.second[0]
    return {
        "name": None if unsure else best,
        "confidence": round(confidence, 4),
        "second_level": second,
        "ranking": [{"name": name, "confidence": round(value, 4)} for name, value in ranking],
        "unsure": unsure,
    }


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class PetitionCategoryClassifier(StoredModelComponent[CategoryModel]):
    """Assigns the official top-level (and, when confident, second-level) category.

    Learns from the labelled CSV files in `data_path` plus, when the `EXTRA_DATA`
    environment variable names a CSV of the same shape, the bureau's own history.
    Adds `petition_category` and `petition_kind` to every message with content.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Where the examples are, model options and the confidence thresholds."""
        return {
            "data_path": "nlu/data/categories",
            "ngram_max": 3,
            "alpha": 0.3,
            "max_features": 200_000,
            # Below this confidence, or this close to the runner-up, the dialogue asks
            # the petitioner to choose among the top three instead of guessing.
            "threshold": 0.5,
            "margin": 0.1,
            "second_level_threshold": 0.5,
        }

    @classmethod
    def read_model(cls, directory: Path) -> CategoryModel:
        """The saved category model."""
        return CategoryModel.load(directory)

    def training_files(self) -> list[Path]:
        """The project's example files, then the deployment's extra CSV if configured."""
        folder = Path(self._config["data_path"])
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        extra = os.environ.get(EXTRA_DATA_ENV, "").strip()
        if extra:
            path = Path(extra)
            if not path.is_file():
                raise FileNotFoundError(f"{EXTRA_DATA_ENV} names no file: {extra}")
            files.append(path)
        return files

    def train(self, training_data: TrainingData) -> Resource:
        """Fits on the labelled petition files and saves the model."""
        files = self.training_files()
        examples = read_examples(files)
        logger.info(
            "training the category model on %d examples from %d files", len(examples), len(files)
        )
        if len({example.level1 for example in examples}) < 2:
            logger.warning("fewer than two categories; the category classifier is not trained")
            return self._resource
        model = CategoryModel.fit(
            [example.text for example in examples],
            [example.level1 for example in examples],
            [example.level2 for example in examples],
            ngrams=(1, int(self._config["ngram_max"])),
            alpha=float(self._config["alpha"]),
            max_features=int(self._config["max_features"]),
        )
        return self.keep(model)

    def classify(self, text: str) -> dict[str, Any]:
        """The `petition_category` value for one text."""
        prediction = None
        if self._model is not None and has_content(text):
            prediction = self._model.predict([text])[0]
        return category_payload(
            prediction,
            threshold=float(self._config["threshold"]),
            margin=float(self._config["margin"]),
            second_threshold=float(self._config["second_level_threshold"]),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets `petition_category` and `petition_kind` on each message."""
        for message in messages:
            text = message.get(TEXT) or ""
            message.set(CATEGORY, self.classify(text), add_to_output=True)
            message.set(KIND, petition_kind(text).value, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the dialogue training data."""
        return training_data
