"""What the channels must share between Rasa processes, kept in a small SQL database.

- `channel_seen`: nonces, WeChat MsgIds, event keys and Telegram update_ids already handled,
  so that a replay or a platform retry is processed once even when it reaches another process.
- `channel_user`: per channel user, whether we may push (unsubscribed WeChat user, Telegram
  chat that blocked the bot), when they last wrote (WeChat's 48-hour window), the payloads
  of the numbered choices last offered to them, and the media they sent that are waiting to
  ride along with their next text message.
- `channel_pending`: messages that could not be pushed (outside the 48-hour window, no
  template configured), sent when the user writes again.
- `channel_token`: the WeChat access_token shared by every process, with a refresh lease so
  that only one process asks WeChat for a new one.
- `channel_pace`: the next moment a message may go to a chat (and to the platform as a whole),
  so that sending stays paced when several processes send.
- `conversation_lock`: Rasa's ticket locks (`connectors.lock_store`), so that several Rasa
  workers never handle two messages of one conversation at the same time.

Where: `CHANNEL_STATE_URL` if set; otherwise the tracker database (`TRACKER_DIALECT`,
`TRACKER_DB`, `TRACKER_HOST`, ...) for a server database, and for SQLite a `channels.db` file
next to the tracker file (a separate file keeps the tracker's writes from queueing behind
ours); `var/channels.db` when nothing is set. SQLAlchemy 1.4 Core, synchronous: the channels
call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# SQLAlchemy 1.4 in the bot environment ships no type information.
import sqlalchemy as sa  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, Engine  # type: ignore[import-untyped]
from sqlalchemy.exc import (  # type: ignore[import-untyped]
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.pool import QueuePool  # type: ignore[import-untyped]

_metadata = sa.MetaData()

seen_table = sa.Table(
    "channel_seen",
    _metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False, index=True),
)
user_table = sa.Table(
    "channel_user",
    _metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("last_inbound_at", sa.Float, nullable=True),
    sa.Column("choices", sa.Text, nullable=True),
    sa.Column("attachments", sa.Text, nullable=True),
    # Customer-service messages pushed since the user last wrote (WeChat allows 5).
    sa.Column("pushed", sa.Integer, nullable=False, default=0),
)
pending_table = sa.Table(
    "channel_pending",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
token_table = sa.Table(
    "channel_token",
    _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("expires_at", sa.Float, nullable=False, default=0.0),
    sa.Column("refreshing_until", sa.Float, nullable=False, default=0.0),
)
# Both tables below change only through `ChannelState.swap`: `version` is bumped by every
# change, and a write succeeds only on the version it read.
pace_table = sa.Table(
    "channel_pace",
    _metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    # Epoch seconds: the earliest start of the next message under this key.
    sa.Column("next_at", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
lock_table = sa.Table(
    "conversation_lock",
    _metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("lock", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# What a `swap` change returns to leave the row as it is.
UNCHANGED: dict[str, Any] = {}

# Seen keys older than this are forgotten (longer than any retry or timestamp window).
SEEN_TTL_SECONDS = 3600.0
_PRUNE_EVERY_SECONDS = 60.0


def sqlite_engine(url: Any, synchronous: str = "NORMAL", **options: Any) -> Engine:
    """An engine for a SQLite file shared by several processes: a small pool of connections
    (closing the last connection to a WAL database checkpoints it, so the default NullPool
    made every short transaction cost an fsync), write-ahead logging (readers never wait for
    the writer) and the given `synchronous` level."""
    engine = sa.create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=8,
        connect_args={"timeout": 15, "check_same_thread": False},
        **options,
    )

    @sa.event.listens_for(engine, "connect")
    def _tune(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    return engine


def state_url(environ: dict[str, str] | None = None) -> str:
    """The database URL of the channel state, from the environment (see the module doc)."""
    env = dict(os.environ if environ is None else environ)
    if env.get("CHANNEL_STATE_URL"):
        return env["CHANNEL_STATE_URL"]
    dialect = env.get("TRACKER_DIALECT", "").strip()
    database = env.get("TRACKER_DB", "").strip()
    if not dialect or dialect == "sqlite":
        directory = Path(database).parent if database else Path("var")
        return f"sqlite:///{directory / 'channels.db'}"
    port = env.get("TRACKER_PORT")
    return str(
        URL.create(
            dialect,
            username=env.get("TRACKER_LOGIN") or None,
            password=env.get("TRACKER_PASSWORD") or None,
            host=env.get("TRACKER_HOST") or None,
            port=int(port) if port else None,
            database=database or None,
        )
    )


@dataclass(frozen=True)
class UserState:
    """What is known about one channel user."""

    active: bool
    last_inbound_at: float | None
    choices: list[str]


@dataclass(frozen=True)
class PendingMessage:
    """A message waiting for the user to write again."""

    id: int
    message: dict[str, Any]


@dataclass(frozen=True)
class Arrival:
    """What waited for a user who just wrote: offered choices, attachments, queued messages."""

    choices: list[str]
    attachments: list[dict[str, Any]]
    pending: list[PendingMessage]


@dataclass(frozen=True)
class CachedToken:
    """An access token and when it stops being usable (epoch seconds)."""

    value: str
    expires_at: float


class ChannelState:
    """The shared channel state; create one per process, it connects lazily."""

    def __init__(self, url: str | None = None) -> None:
        """Remembers where the database is; nothing connects until first use."""
        self.url = url or state_url()
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._last_prune = 0.0

    @property
    def engine(self) -> Engine:
        """The engine, created with the tables on first use."""
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            return self._engine

    def _create_engine(self) -> Engine:
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # Pooled connections: closing the last connection to a WAL database checkpoints
            # it, which made every short transaction cost an fsync with the default NullPool.
            engine = sqlite_engine(self.url, future=True)

        else:
            engine = sa.create_engine(self.url, future=True, pool_pre_ping=True)
        for attempt in range(5):
            try:
                _metadata.create_all(engine)
                break
            except (OperationalError, ProgrammingError):
                # Another process is creating the tables at this moment: look again.
                if attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))
        return engine

    def dispose(self) -> None:
        """Closes the pooled connections."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # Deduplication ---------------------------------------------------------------------

    def first_time(self, keys: Iterable[str], now: float | None = None) -> bool:
        """Records `keys`; False (and records nothing) if any of them was seen before."""
        now = time.time() if now is None else now
        rows = [{"key": key[:200], "seen_at": now} for key in keys]
        if not rows:
            return True
        try:
            with self.engine.begin() as connection:
                connection.execute(seen_table.insert(), rows)
        except IntegrityError:
            return False
        self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        if now - self._last_prune < _PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        with self.engine.begin() as connection:
            connection.execute(
                seen_table.delete().where(seen_table.c.seen_at < now - SEEN_TTL_SECONDS)
            )

    # Users -----------------------------------------------------------------------------

    def _upsert_user(self, channel: str, user_id: str, **values: Any) -> None:
        # Portable upsert: update, else insert, else (a concurrent insert won) update.
        key = (user_table.c.channel == channel) & (user_table.c.user_id == user_id)
        with self.engine.begin() as connection:
            if connection.execute(user_table.update().where(key).values(**values)).rowcount:
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    user_table.insert().values(channel=channel, user_id=user_id, **values)
                )
        except IntegrityError:
            with self.engine.begin() as connection:
                connection.execute(user_table.update().where(key).values(**values))

    def arrive(
        self,
        channel: str,
        user_id: str,
        keys: Iterable[str],
        *,
        take_attachments: bool,
        now: float | None = None,
    ) -> Arrival | None:
        """A user's message arrives: None if any of `keys` was seen; else, in one transaction,
        records the keys and the contact (active, window reset), and takes what waits."""
        now = time.time() if now is None else now
        rows = [{"key": key[:200], "seen_at": now} for key in keys]
        key = (user_table.c.channel == channel) & (user_table.c.user_id == user_id)
        values = {"active": True, "last_inbound_at": now, "pushed": 0}
        for attempt in (1, 2):
            try:
                with self.engine.begin() as connection:
                    if rows:  # first: a duplicate stops here, before anything is changed
                        connection.execute(seen_table.insert(), rows)
                    if not connection.execute(
                        user_table.update().where(key).values(**values)
                    ).rowcount:
                        connection.execute(
                            user_table.insert().values(channel=channel, user_id=user_id, **values)
                        )
                    row = connection.execute(
                        sa.select(user_table.c.choices, user_table.c.attachments).where(key)
                    ).first()
                    attachments: list[dict[str, Any]] = []
                    if take_attachments and row is not None and row.attachments:
                        attachments = json.loads(row.attachments)
                        connection.execute(user_table.update().where(key).values(attachments=None))
                    where = (pending_table.c.channel == channel) & (
                        pending_table.c.user_id == user_id
                    )
                    pending = connection.execute(
                        sa.select(pending_table).where(where).order_by(pending_table.c.id)
                    ).all()
                    if pending:
                        connection.execute(
                            pending_table.delete().where(
                                pending_table.c.id.in_([p.id for p in pending])
                            )
                        )
            except IntegrityError:
                if attempt == 2 or self._seen_any(rows):
                    return None  # a duplicate delivery
                continue  # a concurrent first contact inserted the user row: once more
            else:
                self._prune(now)
                choices = json.loads(row.choices) if row is not None and row.choices else []
                return Arrival(
                    choices=[str(c) for c in choices],
                    attachments=attachments,
                    pending=[PendingMessage(int(p.id), json.loads(p.message)) for p in pending],
                )
        return None

    def _seen_any(self, rows: list[dict[str, Any]]) -> bool:
        with self.engine.connect() as connection:
            found = connection.execute(
                sa.select(seen_table.c.key).where(seen_table.c.key.in_([r["key"] for r in rows]))
            ).first()
        return found is not None

    def touch_inbound(self, channel: str, user_id: str, now: float | None = None) -> UserState:
        """Records that the user wrote now (they are active again); returns their state."""
        now = time.time() if now is None else now
        self._upsert_user(channel, user_id, active=True, last_inbound_at=now, pushed=0)
        return self.user(channel, user_id)

    def set_active(self, channel: str, user_id: str, active: bool) -> None:
        """Marks whether the bot may push to this user (unsubscribed, blocked)."""
        self._upsert_user(channel, user_id, active=active)

    def set_choices(self, channel: str, user_id: str, payloads: list[str]) -> None:
        """Remembers the payloads of the numbered choices just offered to the user."""
        self._upsert_user(channel, user_id, choices=json.dumps(payloads))

    def user(self, channel: str, user_id: str) -> UserState:
        """The user's state (active, never seen, no choices if unknown)."""
        key = (user_table.c.channel == channel) & (user_table.c.user_id == user_id)
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(user_table).where(key)).first()
        if row is None:
            return UserState(active=True, last_inbound_at=None, choices=[])
        choices = json.loads(row.choices) if row.choices else []
        return UserState(bool(row.active), row.last_inbound_at, [str(c) for c in choices])

    def reserve_push(self, channel: str, user_id: str, limit: int) -> bool:
        """Counts one more push since the user last wrote; False once `limit` are used."""
        key = (user_table.c.channel == channel) & (user_table.c.user_id == user_id)
        with self.engine.begin() as connection:
            reserved = connection.execute(
                user_table.update()
                .where(key & (user_table.c.pushed < limit))
                .values(pushed=user_table.c.pushed + 1)
            ).rowcount
        if reserved:
            return True
        with self.engine.connect() as connection:
            known = connection.execute(sa.select(user_table.c.user_id).where(key)).first()
        if known is not None or limit <= 0:
            return False
        # A user this database never saw (pushed to before writing): the first push.
        self._upsert_user(channel, user_id, pushed=1)
        return True

    def add_attachment(self, channel: str, user_id: str, entry: dict[str, Any]) -> None:
        """Keeps an attachment's metadata until the user's next text message."""
        with self.engine.begin() as connection:
            key = (user_table.c.channel == channel) & (user_table.c.user_id == user_id)
            row = connection.execute(sa.select(user_table.c.attachments).where(key)).first()
            entries = json.loads(row.attachments) if row is not None and row.attachments else []
            entries.append(entry)
        self._upsert_user(channel, user_id, attachments=json.dumps(entries[-20:]))

    def take_attachments(self, channel: str, user_id: str) -> list[dict[str, Any]]:
        """Removes and returns the attachments waiting for the user's next text message."""
        key = (user_table.c.channel == channel) & (user_table.c.user_id == user_id)
        with self.engine.begin() as connection:
            row = connection.execute(sa.select(user_table.c.attachments).where(key)).first()
            if row is None or not row.attachments:
                return []
            connection.execute(user_table.update().where(key).values(attachments=None))
        entries: list[dict[str, Any]] = json.loads(row.attachments)
        return entries

    # Pending messages ------------------------------------------------------------------

    def enqueue(self, channel: str, user_id: str, message: dict[str, Any]) -> None:
        """Keeps `message` until the user writes again."""
        with self.engine.begin() as connection:
            connection.execute(
                pending_table.insert().values(
                    channel=channel,
                    user_id=user_id,
                    message=json.dumps(message, ensure_ascii=False),
                    created_at=time.time(),
                )
            )

    def take_pending(self, channel: str, user_id: str) -> list[PendingMessage]:
        """Removes and returns the user's pending messages, oldest first, each to one taker."""
        where = (pending_table.c.channel == channel) & (pending_table.c.user_id == user_id)
        taken: list[PendingMessage] = []
        with self.engine.begin() as connection:
            rows = connection.execute(
                sa.select(pending_table).where(where).order_by(pending_table.c.id)
            ).all()
            for row in rows:
                deleted = connection.execute(
                    pending_table.delete().where(pending_table.c.id == row.id)
                ).rowcount
                if deleted:
                    taken.append(PendingMessage(int(row.id), json.loads(row.message)))
        return taken

    # Compare-and-swap -------------------------------------------------------------------

    def swap(
        self,
        table: sa.Table,
        key: str,
        change: Callable[[Any], dict[str, Any] | None],
        attempts: int = 50,
    ) -> bool:
        """Changes the row `key` of `table` (one primary-key column and a `version` column)
        atomically across processes. `change` gets the row as read (None if missing) and
        returns the new values, None to delete the row, or UNCHANGED; the write succeeds only
        if nobody wrote the row since it was read, else `change` runs again on the fresh row.
        False when every attempt lost to another writer."""
        (key_column,) = table.primary_key.columns
        for attempt in range(attempts):
            with self.engine.connect() as connection:
                row = connection.execute(sa.select(table).where(key_column == key)).first()
            values = change(row)
            if values is UNCHANGED:
                return True
            try:
                with self.engine.begin() as connection:
                    if row is None:
                        if values is None:
                            return True  # nothing to delete
                        connection.execute(
                            table.insert().values({key_column.name: key, "version": 0, **values})
                        )
                        return True
                    current = (key_column == key) & (table.c.version == row.version)
                    if values is None:
                        done = connection.execute(table.delete().where(current)).rowcount
                    else:
                        done = connection.execute(
                            table.update().where(current).values(version=row.version + 1, **values)
                        ).rowcount
                if done:
                    return True
            except IntegrityError:
                pass  # another process inserted the row first: read it and try again
            time.sleep(0.001 * (attempt + 1))
        return False

    # Pacing ----------------------------------------------------------------------------

    def reserve_slot(
        self, key: str, spacing: float, not_before: float = 0.0, now: float | None = None
    ) -> float:
        """Reserves the next sending moment under `key` (epoch seconds, at least `now` and
        `not_before`) and moves the key's next moment `spacing` seconds past it, atomically
        across processes."""
        now = time.time() if now is None else now
        start = max(now, not_before)

        def reserve(row: Any) -> dict[str, Any]:
            nonlocal start
            start = max(now, not_before, row.next_at if row is not None else 0.0)
            return {"next_at": start + spacing}

        if not self.swap(pace_table, key, reserve):
            return max(now, not_before)  # heavy contention: send rather than stall
        return start

    # Access token ----------------------------------------------------------------------

    def token(self, name: str) -> CachedToken | None:
        """The stored token `name`, if there is one."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(token_table).where(token_table.c.name == name)
            ).first()
        if row is None or not row.value:
            return None
        return CachedToken(str(row.value), float(row.expires_at))

    def claim_refresh(self, name: str, lease_seconds: float, now: float | None = None) -> bool:
        """Takes the refresh lease on token `name`; False if another process holds it."""
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    token_table.insert().values(
                        name=name, value=None, expires_at=0.0, refreshing_until=0.0
                    )
                )
        except IntegrityError:
            pass  # the row exists: the conditional update below decides
        with self.engine.begin() as connection:
            claimed = connection.execute(
                token_table.update()
                .where((token_table.c.name == name) & (token_table.c.refreshing_until < now))
                .values(refreshing_until=now + lease_seconds)
            ).rowcount
        return bool(claimed)

    def store_token(self, name: str, value: str, expires_at: float) -> None:
        """Stores a fresh token and releases the refresh lease."""
        with self.engine.begin() as connection:
            connection.execute(
                token_table.update()
                .where(token_table.c.name == name)
                .values(value=value, expires_at=expires_at, refreshing_until=0.0)
            )

    def release_refresh(self, name: str) -> None:
        """Gives the lease back after a failed refresh, so another attempt may start."""
        with self.engine.begin() as connection:
            connection.execute(
                token_table.update().where(token_table.c.name == name).values(refreshing_until=0.0)
            )

    def invalidate_token(self, name: str, value: str) -> None:
        """Forgets `value` if it is still the stored token (WeChat said it is invalid)."""
        with self.engine.begin() as connection:
            connection.execute(
                token_table.update()
                .where((token_table.c.name == name) & (token_table.c.value == value))
                .values(expires_at=0.0)
            )
