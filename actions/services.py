"""What actions need from the case side, created lazily once per process.

The SDK builds actions with no arguments; tests inject their own `Services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from cases.db import make_engine, make_sessionmaker
from cases.deadlines import DeadlineProfile
from cases.pii import PiiCipher
from cases.settings import Settings


@dataclass(frozen=True)
class Services:
    """Settings, a session factory and the deadline profiles."""

    settings: Settings
    sessions: sessionmaker[Session]
    profiles: dict[str, DeadlineProfile]

    @property
    def deadline_profile(self) -> DeadlineProfile:
        """The profile new cases are filed under."""
        return self.profiles[self.settings.deadline_profile]


@lru_cache(maxsize=1)
def default_services() -> Services:
    """The services of the running action server, from the environment."""
    settings = Settings.from_env()
    pii = PiiCipher(settings.pii_key) if settings.pii_key else None
    return Services(
        settings=settings,
        sessions=make_sessionmaker(make_engine(settings.database_url), pii=pii),
        profiles=settings.deadline_profiles,
    )


class UsesServices:
    """Mixin for actions that reach the case side; tests pass their own `Services`."""

    def __init__(self, services: Services | None = None) -> None:
        """`services` defaults to the running action server's."""
        self._services = services

    @property
    def services(self) -> Services:
        """The injected services, or the process's own."""
        return self._services or default_services()
