"""Dialogue intents from a linear model over character n-grams."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.linear import LinearTextModel
from nlu.components.stored import StoredModelComponent

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(StoredModelComponent[LinearTextModel], IntentClassifier):
    """Classifies dialogue intents; trains in seconds, so the model can be retrained often.

    Chinese intents are carried by characters and short character sequences; a linear
    model over character 1-3-grams matches a neural classifier on this task at a fraction
    of the training time.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Regularisation and ranking length."""
        return {"c": 10.0, "ngram_max": 3, "ranking_length": 10}

    @classmethod
    def read_model(cls, directory: Path) -> LinearTextModel:
        """The saved linear model."""
        return LinearTextModel.load(directory)

    def train(self, training_data: TrainingData) -> Resource:
        """Fits on the intent examples and saves the model."""
        examples = [
            message
            for message in training_data.intent_examples
            if message.get(TEXT) and message.get(INTENT)
        ]
        if len({message.get(INTENT) for message in examples}) < 2:
            logger.warning("fewer than two intents; the intent classifier is not trained")
            return self._resource
        model = LinearTextModel.fit(
            [message.get(TEXT) for message in examples],
            [message.get(INTENT) for message in examples],
            ngrams=(1, int(self._config["ngram_max"])),
            c=float(self._config["c"]),
        )
        return self.keep(model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets the intent and the ranking of each message."""
        for message in messages:
            if self._model is None:
                continue
            ranking = self._model.ranking(message.get(TEXT) or "")
            ranked = [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                for name, confidence in ranking[: int(self._config["ranking_length"])]
            ]
            message.set(INTENT, ranked[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranked, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data."""
        return training_data
