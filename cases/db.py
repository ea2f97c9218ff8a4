"""Engines and sessions; created by whoever needs them, never at import time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from cases.pii import SESSION_INFO_KEY, PiiCipher


def make_engine(url: str) -> Engine:
    """Creates an engine; SQLite gets foreign keys, WAL and a busy timeout.

    Statement parameters are kept out of error messages and SQL logs: they hold names,
    letters and, before sealing, phone numbers.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Two processes (action server and case service) write the same file.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def make_sessionmaker(engine: Engine, *, pii: PiiCipher | None = None) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit.

    `pii` seals and opens personal data in its sessions; without it, a session reads PII_KEY
    from the environment the first time it handles personal data (`cases.pii.cipher_for`).
    """
    info: dict[str, object] = {SESSION_INFO_KEY: pii} if pii is not None else {}
    return sessionmaker(engine, expire_on_commit=False, info=info)
