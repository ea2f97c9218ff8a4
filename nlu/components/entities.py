"""Dates, periods, amounts, places, names, organisations and case references by pattern."""

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
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nlu.entities import find_entities
from nlu.normalise import fold

# Entities of these types, found by an earlier extractor, always win over pattern ones.
EXACT_TYPES = frozenset({"phone", "id_number"})


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(
        a[ENTITY_ATTRIBUTE_START] < b[ENTITY_ATTRIBUTE_END]
        and b[ENTITY_ATTRIBUTE_START] < a[ENTITY_ATTRIBUTE_END]
    )


def merge_entities(
    existing: list[dict[str, Any]], found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Phones and IDs stay; pattern entities replace the trained extractor's overlapping
    guesses (which are kept where the patterns found nothing)."""
    exact = [e for e in existing if e.get(ENTITY_ATTRIBUTE_TYPE) in EXACT_TYPES]
    kept_found = [f for f in found if not any(_overlaps(f, e) for e in exact)]
    others = [
        e
        for e in existing
        if e.get(ENTITY_ATTRIBUTE_TYPE) not in EXACT_TYPES
        and not any(_overlaps(e, f) for f in kept_found)
    ]
    return sorted(exact + others + kept_found, key=lambda e: int(e[ENTITY_ATTRIBUTE_START]))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PetitionEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds `date`, `period`, `amount`, `case_reference`, `place`, `person` and `org`.

    Dates via jionlp, amounts via cn2an, divisions via jionlp's dictionary; the rest by
    suffix and cue-word patterns (see nlu/entities.py).
    """

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
    ) -> PetitionEntityExtractor:
        """The extractor holds no state."""
        return cls()

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PetitionEntityExtractor:
        """An extractor whose libraries are loaded now, not on the first petitioner's turn."""
        find_entities(fold("我叫王明，住在北京市朝阳区幸福小区，上周欠了三万二"))
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the entities found in each message."""
        for message in messages:
            text = fold(message.get(TEXT) or "")
            found = [
                {
                    ENTITY_ATTRIBUTE_TYPE: span.type,
                    ENTITY_ATTRIBUTE_START: span.start,
                    ENTITY_ATTRIBUTE_END: span.end,
                    ENTITY_ATTRIBUTE_VALUE: span.value,
                }
                for span in find_entities(text)
            ]
            if not found:
                continue
            found = self.add_extractor_name(found)
            existing = message.get(ENTITIES, [])
            merged = merge_entities(existing, found)
            if merged != existing:
                message.set(ENTITIES, merged, add_to_output=True)
        return messages
