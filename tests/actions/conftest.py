"""Fixtures of the action tests: real database, the real domain's responses, trackers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from sqlalchemy.orm import Session, sessionmaker

from actions.services import Services
from cases.deadlines import default_profiles
from cases.settings import Settings
from tests.casedb import database_url, sessions  # noqa: F401

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The bot's domain files merged, as Rasa sends the domain to actions."""
    merged: dict[str, Any] = {"responses": {}, "slots": {}, "intents": []}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8"))
        merged["responses"].update(part.get("responses") or {})
        merged["slots"].update(part.get("slots") or {})
    return merged


@pytest.fixture
def services(database_url: str, sessions: sessionmaker[Session]) -> Services:  # noqa: F811
    """Services on the test database, references prefixed WF."""
    settings = Settings(database_url=database_url, reference_prefix="WF")
    return Services(settings=settings, sessions=sessions, profiles=default_profiles())


def make_tracker(
    *,
    sender_id: str = "rest:tester",
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker in the state the tests name, built by keyword."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    return Tracker(
        sender_id,
        slots or {},
        latest,
        events or [],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )
