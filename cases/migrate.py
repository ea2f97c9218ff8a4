"""Database migrations (Alembic), run by `make run` and by the tests' set-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# Where a migration finds the PII key (`Config.attributes`), e.g. to seal existing phones.
PII_KEY_ATTRIBUTE = "pii_key"


def alembic_config(database_url: str, *, pii_key: str | None = None) -> Config:
    """An Alembic configuration for `database_url`, with no ini file needed.

    `pii_key` is handed to data migrations that must seal existing personal data; they fall
    back to the PII_KEY environment variable.
    """
    config = Config()
    if pii_key is not None:
        config.attributes[PII_KEY_ATTRIBUTE] = pii_key
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates %; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, *, pii_key: str | None = None) -> None:
    """Brings the database at `database_url` to the newest schema."""
    command.upgrade(alembic_config(database_url, pii_key=pii_key), "head")
