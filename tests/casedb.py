"""Fixtures for tests that need a real case database (a migrated SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases.db import make_engine, make_sessionmaker
from cases.migrate import upgrade
from cases.pii import PiiCipher

# A fixed key for tests only (32 bytes, url-safe base64), so that failures reproduce.
TEST_PII_KEY = "dGVzdC1vbmx5LXBpaS1rZXktMzItYnl0ZXMtbG9uZyE="


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A freshly migrated SQLite database file."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    upgrade(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test database, sealing personal data with TEST_PII_KEY."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine, pii=PiiCipher(TEST_PII_KEY))
    engine.dispose()
