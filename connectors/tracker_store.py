"""Rasa's SQL tracker store, with pooled connections and write-ahead logging on SQLite.

Rasa's `SQLTrackerStore` opens a new SQLite connection for every read and every write and
keeps SQLite's default rollback journal, so each message paid for a connection, a journal
file and the fsyncs of a full commit, and two Rasa workers writing the same file blocked
each other's readers. This subclass changes only the engine for SQLite files: a small pool
of connections, `journal_mode=WAL` (readers never wait for the writer) and
`synchronous=NORMAL` (a commit survives a crash of the process; a power cut may lose the
last moments, as with PostgreSQL's default `synchronous_commit` trade-offs it is a choice:
set `TRACKER_SQLITE_SYNCHRONOUS=FULL` to pay the fsync on every commit). Server databases
(PostgreSQL) are left exactly as Rasa configures them.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa  # type: ignore[import-untyped]
from rasa.core.tracker_store import SQLTrackerStore

from connectors.state import sqlite_engine

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_synchronous(environ: dict[str, str] | None = None) -> str:
    """The `synchronous` setting for SQLite tracker files (NORMAL unless configured)."""
    value = (environ if environ is not None else os.environ).get("TRACKER_SQLITE_SYNCHRONOUS")
    value = (value or "NORMAL").strip().upper()
    if value not in _SYNCHRONOUS:
        raise ValueError(f"TRACKER_SQLITE_SYNCHRONOUS must be one of {', '.join(_SYNCHRONOUS)}")
    return value


class PetitionTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with a pooled, write-ahead-logged engine for SQLite files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As `SQLTrackerStore`; then, for a SQLite file, swaps in the tuned engine."""
        super().__init__(*args, **kwargs)
        engine: Any = getattr(self, "engine")  # noqa: B009 - untyped in Rasa
        url = engine.url
        if url.get_backend_name() != "sqlite" or not url.database:
            return
        synchronous = sqlite_synchronous()
        engine.dispose()
        self.engine = engine = sqlite_engine(url, synchronous)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)
