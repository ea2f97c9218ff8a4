"""A jieba tokenizer with its own jieba instance and the bureau's user dictionaries."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

import jieba
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.entities import find_places
from nlu.normalise import fold

logger = logging.getLogger(__name__)


# One administrative or residential unit inside a place name: "G3县", "双河镇", "丽景湾小区".
_UNIT = re.compile(
    r".+?(?:自治区|自治州|街道办事处|街道|社区|小区|花园|家园|新村|工业园|开发区|高新区|"
    r"省|市|县|区|镇|乡|村|庄|屯|路|街|巷|苑)|.+"
)


def place_units(name: str) -> list[tuple[str, int]]:
    """A place name cut after each unit suffix ("G3县双河镇柳塘村" → G3县/双河镇/柳塘村);
    a piece of one character stays with the one before it."""
    pieces: list[tuple[str, int]] = []
    for match in _UNIT.finditer(name):
        if pieces and len(match.group()) == 1:
            word, start = pieces[-1]
            pieces[-1] = (word + match.group(), start)
        else:
            pieces.append((match.group(), match.start()))
    return pieces


def build_jieba(dictionaries: list[Path], cache_dir: Path | None = None) -> jieba.Tokenizer:
    """A private jieba tokenizer loaded with `dictionaries` (jieba's user-dict format)."""
    tokenizer = jieba.Tokenizer()
    if cache_dir is not None:
        # jieba caches its prefix dictionary; keep it inside the project, not in /tmp.
        cache_dir.mkdir(parents=True, exist_ok=True)
        tokenizer.tmp_dir = str(cache_dir)
    for path in sorted(dictionaries):
        tokenizer.load_userdict(str(path))
    return tokenizer


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class PetitionTokenizer(Tokenizer):
    """Splits Chinese text into words with jieba; the dictionaries travel inside the model.

    Rasa's own JiebaTokenizer loads dictionaries into jieba's global instance, which every
    other user of jieba in the process then shares; this one keeps its own.
    """

    @staticmethod
    def supported_languages() -> list[str] | None:
        """Chinese only."""
        return ["zh"]

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages this component needs."""
        return ["jieba"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Dictionary folder, cache folder and the usual tokenizer options."""
        return {
            "dictionary_path": "nlu/dictionaries",
            "cache_dir": "var/cache/jieba",
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        dictionaries: list[Path],
    ) -> None:
        """Keeps where the dictionaries are; jieba itself is built on first use."""
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self._dictionaries = dictionaries
        self._jieba: jieba.Tokenizer | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PetitionTokenizer:
        """A tokenizer reading the dictionaries from the project folder (training)."""
        folder = Path(config["dictionary_path"]) if config["dictionary_path"] else None
        dictionaries = sorted(folder.glob("*.txt")) if folder and folder.is_dir() else []
        return cls(config, model_storage, resource, dictionaries)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PetitionTokenizer:
        """A tokenizer reading the dictionaries saved inside the trained model."""
        try:
            with model_storage.read_from(resource) as directory:
                # The model storage directory is temporary; load the words now.
                tokenizer = cls(config, model_storage, resource, sorted(directory.glob("*.txt")))
                tokenizer.jieba()
                return tokenizer
        except ValueError:
            logger.warning("model holds no jieba dictionaries; using jieba's own only")
            return cls(config, model_storage, resource, [])

    def train(self, training_data: TrainingData) -> Resource:
        """Copies the dictionaries into the model so that it is self-contained."""
        with self._model_storage.write_to(self._resource) as directory:
            for path in self._dictionaries:
                shutil.copy2(path, directory / path.name)
        return self._resource

    def jieba(self) -> jieba.Tokenizer:
        """The private jieba instance, built once."""
        if self._jieba is None:
            cache = Path(self._config["cache_dir"]) if self._config.get("cache_dir") else None
            self._jieba = build_jieba(self._dictionaries, cache)
            self._jieba.initialize()
        return self._jieba

    def words(self, folded: str) -> list[tuple[str, int]]:
        """Words and their offsets: place names cut at unit suffixes, the rest by jieba.

        jieba alone splits unknown towns and villages badly ("双河镇柳塘村" →
        双河/镇柳/塘村); the place patterns of nlu.entities know where units end.
        """
        words: list[tuple[str, int]] = []
        position = 0
        for place in find_places(folded):
            words += self._jieba_words(folded[position : place.start], position)
            words += [(word, place.start + start) for word, start in place_units(place.value)]
            position = place.end
        words += self._jieba_words(folded[position:], position)
        return words

    def _jieba_words(self, text: str, offset: int) -> list[tuple[str, int]]:
        return [(word, offset + start) for word, start, _end in self.jieba().tokenize(text)]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokens of the folded text, with offsets into the original text."""
        text = message.get(attribute) or ""
        folded = fold(text)
        tokens = [Token(word, start) for word, start in self.words(folded) if not word.isspace()]
        patterned: list[Token] = self._apply_token_pattern(tokens)
        return patterned
