"""Pushes queued messages (the outbox) to petitioners through Rasa's trigger_intent.

Rasa sends the rendered message through the channel the petitioner used
(`output_channel=wechat|telegram`); the action server reads the outbox row itself, so no
letter text or personal data travels in the trigger request or its logs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cases.channels import Channel, sender_id
from cases.models import Outbox

logger = logging.getLogger(__name__)

INTENT = "case_update"
# The REST channel cannot push: its messages land in the conversation (and `latest` collects).
_OUTPUT_CHANNEL = {Channel.WECHAT: "wechat", Channel.TELEGRAM: "telegram", Channel.REST: "latest"}


@dataclass(frozen=True, kw_only=True)
class NotifierConfig:
    """Where Rasa is and how hard to try."""

    rasa_url: str
    rasa_token: str
    interval: float = 2.0
    batch: int = 20
    max_attempts: int = 5
    timeout: float = 30.0


class Notifier:
    """Drains the outbox: one trigger_intent per message, marked sent only on success."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: NotifierConfig,
        client: httpx.Client | None = None,
    ) -> None:
        """`client` defaults to a plain httpx client with the configured timeout."""
        self._sessions = sessions
        self._config = config
        self._client = client or httpx.Client(timeout=config.timeout)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain_once(self) -> int:
        """Pushes what is pending; returns how many messages went out."""
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(Outbox)
                    .where(Outbox.sent_at.is_(None), Outbox.attempts < self._config.max_attempts)
                    .order_by(Outbox.id)
                    .limit(self._config.batch)
                    # Several notifiers on PostgreSQL never take the same rows.
                    .with_for_update(skip_locked=True)
                )
            )
            pending = [(row.id, Channel(row.channel), row.user_id) for row in rows]
        sent = 0
        for outbox_id, channel, user_id in pending:
            error = self._push(outbox_id, channel, user_id)
            self._mark(outbox_id, error)
            sent += error is None
        return sent

    def _push(self, outbox_id: int, channel: Channel, user_id: str) -> str | None:
        """One trigger_intent; the error text (without personal data) or None."""
        # The ':' of the namespaced id stays as it is: Rasa does not decode %3A.
        url = f"{self._config.rasa_url}/conversations/{sender_id(channel, user_id)}/trigger_intent"
        params = {"output_channel": _OUTPUT_CHANNEL[channel], "token": self._config.rasa_token}
        body = {"name": INTENT, "entities": {"outbox_id": outbox_id}}
        try:
            reply = self._client.post(url, params=params, json=body)
        except httpx.HTTPError as error:
            return type(error).__name__
        if reply.status_code != 200:
            return f"rasa answered {reply.status_code}"
        return None

    def _mark(self, outbox_id: int, error: str | None) -> None:
        """Records the outcome of one push."""
        try:
            with self._sessions.begin() as session:
                row = session.get(Outbox, outbox_id)
                if row is None:
                    return
                row.attempts += 1
                if error is None:
                    row.sent_at = datetime.now(timezone.utc)
                    logger.info("outbox %s pushed through %s", outbox_id, row.channel)
                else:
                    row.last_error = error[:500]
                    logger.warning("outbox %s not pushed (%s)", outbox_id, error)
        except SQLAlchemyError as failure:
            logger.error("outbox %s could not be marked: %s", outbox_id, type(failure).__name__)

    def start(self) -> None:
        """Runs `drain_once` every `interval` seconds in a background thread."""
        self._thread = threading.Thread(target=self._loop, name="notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the background thread after its current round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._config.timeout + 5)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except SQLAlchemyError as error:
                logger.error("outbox could not be read: %s", type(error).__name__)
            self._stop.wait(self._config.interval)
