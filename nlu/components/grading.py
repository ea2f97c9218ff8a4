"""Urgency grade of a petition from rules the bureau keeps in a YAML file."""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalise import fold

logger = logging.getLogger(__name__)

GRADE = "petition_grade"
RULES_FILE = "urgency.yml"


class Grade(str, Enum):
    """How fast a petition must be seen; later members outrank earlier ones."""

    NORMAL = "normal"
    SENSITIVE = "sensitive"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """Position in the order normal < sensitive < emergency."""
        return list(Grade).index(self)


def _patterns(values: Any, rule_id: str, key: str) -> tuple[re.Pattern[str], ...]:
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"urgency rule {rule_id!r}: {key} must be a list of words")
    return tuple(re.compile(fold(value)) for value in values)


@dataclass(frozen=True)
class Rule:
    """One urgency rule: cue words, optional second condition, the grade it gives."""

    id: str
    grade: Grade
    any: tuple[re.Pattern[str], ...]
    and_any: tuple[re.Pattern[str], ...] = ()
    or_months: frozenset[int] = frozenset()
    unless: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        """A rule from its YAML form; raises ValueError with the rule id when malformed."""
        rule_id = str(data.get("id") or "")
        if not rule_id:
            raise ValueError("every urgency rule needs an id")
        try:
            grade = Grade(data.get("grade"))
        except ValueError as error:
            raise ValueError(f"urgency rule {rule_id!r}: unknown grade") from error
        months = data.get("or_months") or []
        if not all(isinstance(m, int) and 1 <= m <= 12 for m in months):
            raise ValueError(f"urgency rule {rule_id!r}: or_months must be numbers 1-12")
        cues = _patterns(data.get("any"), rule_id, "any")
        if not cues:
            raise ValueError(f"urgency rule {rule_id!r}: `any` is required")
        return cls(
            id=rule_id,
            grade=grade,
            any=cues,
            and_any=_patterns(data.get("and_any"), rule_id, "and_any"),
            or_months=frozenset(months),
            unless=_patterns(data.get("unless"), rule_id, "unless"),
        )

    def matches(self, text: str, today: dt.date) -> bool:
        """Whether the (folded) text on `today` satisfies the rule."""
        if not any(pattern.search(text) for pattern in self.any):
            return False
        if any(pattern.search(text) for pattern in self.unless):
            return False
        if not self.and_any and not self.or_months:
            return True
        if any(pattern.search(text) for pattern in self.and_any):
            return True
        return today.month in self.or_months


def load_rules(path: Path) -> list[Rule]:
    """The rules of a YAML file (see nlu/rules/urgency.yml for the format)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Rule.from_dict(item) for item in data.get("rules") or []]


@dataclass(frozen=True)
class Grading:
    """The grade of a message and the ids of the rules that gave it."""

    grade: Grade
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The `petition_grade` message property."""
        return {"grade": self.grade.value, "reasons": self.reasons}


def grade(text: str, rules: Sequence[Rule], today: dt.date) -> Grading:
    """The highest grade among the matching rules; normal when none matches."""
    folded = fold(text)
    matched = [rule for rule in rules if rule.matches(folded, today)]
    if not matched:
        return Grading(Grade.NORMAL, [])
    top = max(matched, key=lambda rule: rule.grade.rank).grade
    return Grading(top, [rule.id for rule in matched])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UrgencyGrader(GraphComponent):
    """Adds `petition_grade` ({"grade", "reasons"}) to every message.

    The rules are read from `rules_path` when training and travel inside the model.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Where the bureau's rules live."""
        return {"rules_path": "nlu/rules/urgency.yml"}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        rules: list[Rule],
        clock: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        """Holds the rules and the clock that says which month it is."""
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._rules = rules
        self._clock = clock

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UrgencyGrader:
        """A grader with the project's rules (checked now, so a bad file fails training)."""
        return cls(config, model_storage, resource, load_rules(Path(config["rules_path"])))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UrgencyGrader:
        """A grader with the rules saved in the model."""
        try:
            with model_storage.read_from(resource) as directory:
                return cls(config, model_storage, resource, load_rules(directory / RULES_FILE))
        except (ValueError, FileNotFoundError):
            logger.warning("no urgency rules in the model archive; every message is normal")
            return cls(config, model_storage, resource, [])

    def train(self, training_data: TrainingData) -> Resource:
        """Copies the rules file into the model."""
        with self._model_storage.write_to(self._resource) as directory:
            shutil.copy2(self._config["rules_path"], directory / RULES_FILE)
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets `petition_grade` on each message."""
        today = self._clock()
        for message in messages:
            result = grade(message.get(TEXT) or "", self._rules, today)
            message.set(GRADE, result.as_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data."""
        return training_data
