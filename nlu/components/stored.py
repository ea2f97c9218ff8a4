"""What every trainable component with a saved model shares: keep it, save it, load it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from typing_extensions import Self

logger = logging.getLogger(__name__)


class SavedModel(Protocol):
    """A fitted model that writes itself to a directory (JSON and .npy, never a pickle)."""

    def save(self, directory: Path) -> None:
        """Writes the model's files into `directory`."""


ModelT = TypeVar("ModelT", bound=SavedModel)


class StoredModelComponent(GraphComponent, Generic[ModelT]):
    """A component whose fitted model travels inside the Rasa model archive.

    Subclasses say how to read their model (`read_model`) and call `keep` after fitting.
    """

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: ModelT | None = None,
    ) -> None:
        """Holds the fitted model (None before training)."""
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Self:
        """An untrained component."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> Self:
        """The component with the model saved in the archive (untrained if there is none)."""
        try:
            with model_storage.read_from(resource) as directory:
                return cls(config, model_storage, resource, cls.read_model(directory))
        except (ValueError, FileNotFoundError):
            logger.warning("%s: no trained model in the model archive", cls.__name__)
            return cls(config, model_storage, resource)

    @classmethod
    def read_model(cls, directory: Path) -> ModelT:
        """Reads the model that `keep` saved into `directory`."""
        raise NotImplementedError

    def keep(self, model: ModelT) -> Resource:
        """Uses `model` from now on and saves it into the archive."""
        self._model = model
        with self._model_storage.write_to(self._resource) as directory:
            model.save(directory)
        return self._resource
