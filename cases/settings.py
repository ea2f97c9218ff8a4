"""Settings of the case side, read from the environment once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path

from cases.deadlines import PROFILES_FILE, DeadlineProfile, ProfileError, configured_profiles
from cases.pii import PII_KEY_ENV, PiiKeyError, check_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'cases.db'}"


class Profile(str, Enum):
    """Deployment profile: `local` for laptops and tests, `production` for a bureau."""

    LOCAL = "local"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting is missing or malformed."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the action server and the case service read from the environment."""

    database_url: str = DEFAULT_DATABASE_URL
    # Secrets stay out of the repr, so that logging the settings never leaks them.
    api_token: str | None = field(default=None, repr=False)
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str | None = field(default=None, repr=False)
    reference_prefix: str = "XF"
    deadline_profile: str = "520"
    # The bureau's deadline profiles and holiday declarations (DEADLINE_PROFILES_FILE).
    deadline_profiles_file: str = str(PROFILES_FILE)
    helper_ids: frozenset[str] = frozenset()
    profile: Profile = Profile.LOCAL
    # The Fernet key that seals phone and ID numbers at rest (PII_KEY); never defaulted.
    pii_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Builds the settings from `environ` (default: the process environment)."""
        env = dict(os.environ if environ is None else environ)
        prefix = env.get("PETITION_REF_PREFIX", "XF").strip().upper()
        if not prefix.isascii() or not prefix.isalpha() or not 1 <= len(prefix) <= 6:
            raise SettingsError("PETITION_REF_PREFIX must be 1 to 6 latin letters")
        try:
            profile = Profile(env.get("BOT_PROFILE", "local").strip().lower())
        except ValueError as error:
            raise SettingsError("BOT_PROFILE must be 'local' or 'production'") from error
        rasa_port = env.get("RASA_PORT", "5005")
        pii_key = env.get(PII_KEY_ENV, "").strip() or None
        if pii_key is not None:
            try:
                check_key(pii_key)
            except PiiKeyError as error:
                raise SettingsError(str(error)) from error
        settings = cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            api_token=env.get("CASES_API_TOKEN") or None,
            rasa_url=env.get("RASA_URL") or f"http://127.0.0.1:{rasa_port}",
            rasa_token=env.get("RASA_TOKEN") or None,
            reference_prefix=prefix,
            deadline_profile=env.get("DEADLINE_PROFILE", "520"),
            deadline_profiles_file=env.get("DEADLINE_PROFILES_FILE") or str(PROFILES_FILE),
            helper_ids=frozenset(
                part.strip() for part in env.get("HELPER_IDS", "").split(",") if part.strip()
            ),
            profile=profile,
            pii_key=pii_key,
        )
        try:
            # Read here, once, so that a broken file stops the process at start.
            settings.deadline_profiles  # noqa: B018
        except ProfileError as error:
            raise SettingsError(str(error)) from error
        return settings

    @cached_property
    def deadline_profiles(self) -> dict[str, DeadlineProfile]:
        """The bureau's deadline profiles, read from `deadline_profiles_file` on first use."""
        return configured_profiles(self.deadline_profiles_file, self.deadline_profile)
