"""Turns messages with nothing to understand (empty, only emoji or symbols) into one intent."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nlu.normalise import has_content


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmptyMessageGuard(GraphComponent):
    """Classifies a message without letters or digits as `intent` (default `empty_message`).

    The classifiers would otherwise guess an intent for "😀😀" from nothing.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The intent given to messages with no content."""
        return {"intent": "empty_message"}

    def __init__(self, intent: str) -> None:
        """Remembers the intent name."""
        self._intent = intent

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmptyMessageGuard:
        """A guard for the configured intent name."""
        return cls(config["intent"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Overrides the intent of messages with no letters or digits."""
        for message in messages:
            if has_content(message.get(TEXT) or ""):
                continue
            intent = {INTENT_NAME_KEY: self._intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmergencyGuard(GraphComponent):
    """Gives messages graded `emergency` the intent `emergency`, unless they file a petition.

    "我不想活了" is no petition and no known intent, but it must never be answered with
    "I did not understand": the dialogue answers the `emergency` intent with the emergency
    numbers and a handoff. A petition graded emergency keeps its intent; the intake reacts.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The intent given, and the intents left alone."""
        return {"intent": "emergency", "keep": ["file_petition"]}

    def __init__(self, intent: str, keep: list[str]) -> None:
        """Remembers the names."""
        self._intent = intent
        self._keep = frozenset(keep)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyGuard:
        """A guard for the configured names."""
        return cls(config["intent"], list(config["keep"]))

    def process(self, messages: list[Message]) -> list[Message]:
        """Overrides the intent of emergency messages that file no petition."""
        for message in messages:
            grade = message.get("petition_grade") or {}
            current = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if grade.get("grade") != "emergency" or current in self._keep:
                continue
            intent = {INTENT_NAME_KEY: self._intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
