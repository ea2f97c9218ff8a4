"""Extracts mobile and landline numbers and ID numbers, normalised, from free text."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_ROLE,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from common.identifiers import find_identifiers
from nlu.normalise import fold

INVALID_ROLE = "invalid"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class IdentifierExtractor(GraphComponent, EntityExtractorMixin):
    """Finds `phone` and `id_number` entities; ID numbers failing GB 11643 get role `invalid`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options."""
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IdentifierExtractor:
        """The extractor holds no state."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the identifiers found in each message to its entities."""
        for message in messages:
            text = fold(message.get(TEXT) or "")
            found: list[dict[str, Any]] = []
            for item in find_identifiers(text):
                entity: dict[str, Any] = {
                    ENTITY_ATTRIBUTE_TYPE: item.kind,
                    ENTITY_ATTRIBUTE_START: item.start,
                    ENTITY_ATTRIBUTE_END: item.end,
                    ENTITY_ATTRIBUTE_VALUE: item.value,
                }
                if not item.valid:
                    entity[ENTITY_ATTRIBUTE_ROLE] = INVALID_ROLE
                found.append(entity)
            if found:
                entities = message.get(ENTITIES, []) + self.add_extractor_name(found)
                message.set(ENTITIES, entities, add_to_output=True)
        return messages
