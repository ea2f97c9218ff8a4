"""Fixtures for the NLU component tests: Rasa model storage in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


@pytest.fixture
def model_storage(tmp_path: Path) -> ModelStorage:
    """A model storage that lives as long as the test."""
    folder = tmp_path / "model"
    folder.mkdir()
    return LocalModelStorage(folder)


@pytest.fixture
def execution_context() -> ExecutionContext:
    """An execution context for components created outside a graph."""
    return ExecutionContext(GraphSchema({}), "test")


@pytest.fixture
def resource() -> Resource:
    """The resource a component writes its trained state to."""
    return Resource("component")
