"""Rasa's conversation locks in the shared state database, so Rasa can run several workers.

Rasa processes one message per conversation at a time through a ticket lock. Its in-memory
lock store only works inside one process, and its multi-process lock store needs Redis. This
one keeps the locks in the database the channels already share between processes
(`connectors.state`: a SQLite file next to the tracker by default, or the tracker's server
database), which lets `make run` start two Rasa workers on a laptop without another service.
Redis (`type: redis` in `bot/endpoints.yml`) stays the choice for several machines.

Every change to a lock is a compare-and-swap on a version number, so two workers that issue
tickets for the same conversation at the same moment never overwrite each other's ticket.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa  # type: ignore[import-untyped]
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

from connectors.state import UNCHANGED, ChannelState, lock_table


class SQLLockStore(LockStore):
    """Ticket locks as rows of `conversation_lock` (conversation id, lock JSON, version)."""

    def __init__(self, endpoint_config: Any = None, state: ChannelState | None = None) -> None:
        """Uses `state`'s database; by default the channels' (`CHANNEL_STATE_URL`, ...).
        A `url:` in the endpoint configuration names another database."""
        url = getattr(endpoint_config, "url", None) or None
        self.state = state or ChannelState(url)
        super().__init__()

    # The storage primitives Rasa's base class calls ------------------------------------

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The stored lock of `conversation_id`, if any."""
        with self.state.engine.connect() as connection:
            stored = connection.execute(
                sa.select(lock_table.c.lock).where(lock_table.c.conversation_id == conversation_id)
            ).scalar()
        return None if stored is None else TicketLock.from_dict(json.loads(stored))

    def save_lock(self, lock: TicketLock) -> None:
        """Stores `lock` as it is (only used for a lock this process just read)."""
        self._change(lock.conversation_id, lambda _stored: lock)

    def delete_lock(self, conversation_id: str) -> None:
        """Deletes the lock of `conversation_id` unconditionally."""
        with self.state.engine.begin() as connection:
            deleted = connection.execute(
                lock_table.delete().where(lock_table.c.conversation_id == conversation_id)
            ).rowcount
        self._log_deletion(conversation_id, bool(deleted))

    # Read-modify-write operations, made atomic -----------------------------------------

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issues the next ticket of the conversation's lock (created if missing)."""
        issued: list[int] = []

        def add(lock: TicketLock) -> TicketLock:
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        try:
            self._change(conversation_id, add)
        except Exception as error:
            raise LockError(f"Error while acquiring lock: {type(error).__name__}") from error
        return issued[0]

    def update_lock(self, conversation_id: str) -> None:
        """Removes the expired tickets of the conversation's lock."""

        def expire(lock: TicketLock) -> TicketLock:
            lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, expire, create=False)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Removes ticket `ticket_number` from the conversation's lock."""

        def remove(lock: TicketLock) -> TicketLock:
            lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, remove, create=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the ticket, and the lock itself when nobody else holds a ticket."""

        def remove(lock: TicketLock) -> TicketLock | None:
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change(conversation_id, remove, create=False)

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock], TicketLock | None],
        *,
        create: bool = True,
    ) -> None:
        """Applies `change` to the stored lock (a new one if missing and `create`) through
        the state's compare-and-swap; a None result deletes the lock."""

        def apply(row: Any) -> dict[str, Any] | None:
            if row is None and not create:
                return UNCHANGED
            lock = (
                self.create_lock(conversation_id)
                if row is None
                else TicketLock.from_dict(json.loads(row.lock))
            )
            changed = change(lock)
            return None if changed is None else {"lock": changed.dumps()}

        if not self.state.swap(lock_table, conversation_id, apply):
            raise LockError("the conversation lock kept changing; gave up")
