"""Tells the petitioner, in their chat, what happened to their case (pushed by the notifier)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.services import UsesServices
from cases.channels import SenderError, parse_sender
from cases.models import Outbox

logger = logging.getLogger(__name__)

# Event types with their own message (utter_case_update_<event>); others get the generic one.
SPECIFIC = frozenset(
    {"accepted", "not_accepted", "transferred", "assigned", "extended", "replied", "closed",
     "reopened"}
)  # fmt: skip


def outbox_id_of(tracker: Tracker) -> int | None:
    """The outbox row the notifier's trigger names."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "outbox_id":
            try:
                return int(entity.get("value"))
            except (TypeError, ValueError):
                return None
    return None


class ActionNotifyCaseUpdate(UsesServices, Action):
    """Renders one outbox message for the petitioner it belongs to."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_notify_case_update"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Reads the row; says nothing unless it belongs to this conversation."""
        outbox_id = outbox_id_of(tracker)
        try:
            channel, user_id = parse_sender(tracker.sender_id)
        except SenderError:
            return []
        if outbox_id is None:
            return []
        try:
            with self.services.sessions() as session:
                row = session.get(Outbox, outbox_id)
                payload: dict[str, Any] = dict(row.payload) if row is not None else {}
                owner = (row.channel, row.user_id) if row is not None else None
        except SQLAlchemyError as error:
            logger.error("outbox %s could not be read: %s", outbox_id, type(error).__name__)
            return []
        if owner != (channel.value, user_id):
            # Someone else's message must never be shown here.
            logger.warning("outbox %s does not belong to this conversation", outbox_id)
            return []
        event = str(payload.get("event") or "")
        response = f"utter_case_update_{event}" if event in SPECIFIC else "utter_case_update"
        values = {
            key: payload.get(key) or "" for key in ("reference", "to", "notice", "reason", "unit")
        }
        # `text` would replace the whole message in utter_message: the reply goes as `reply`.
        values["reply"] = payload.get("text") or ""
        dispatcher.utter_message(response=response, **values)
        return []
