"""Handing a conversation to a person: on request, and after repeated misunderstanding."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.services import Services, UsesServices
from cases import repository
from cases.channels import SenderError, parse_sender
from cases.models import HandoffReason

logger = logging.getLogger(__name__)

# This many misunderstood messages in a row hand the conversation over.
FALLBACKS_BEFORE_HANDOFF = 2


def record_handoff(services: Services, sender_id: str, reason: HandoffReason) -> bool:
    """Stores a handoff request; False when it could not be stored."""
    try:
        channel, user_id = parse_sender(sender_id)
    except SenderError:
        logger.error("handoff for a sender id without channel namespace")
        return False
    try:
        with services.sessions.begin() as session:
            request = repository.record_handoff(session, channel, user_id, reason)
            logger.info("handoff %s requested (%s) on %s", request.id, reason.value, channel.value)
    except SQLAlchemyError as error:
        logger.error("handoff could not be recorded: %s", type(error).__name__)
        return False
    return True


def leave_form(tracker: Tracker) -> list[EventType]:
    """Events that end an active form (its slots are kept for the person taking over)."""
    if tracker.active_loop.get("name"):
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


class ActionHandoff(UsesServices, Action):
    """Records the request for a person and tells the petitioner what happens next."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Records the handoff; asked for, or offered after invalid input."""
        reason = (
            HandoffReason.INVALID_INPUT if tracker.get_slot("field_failed") else HandoffReason.ASKED
        )
        services = self.services
        if record_handoff(services, tracker.sender_id, reason):
            dispatcher.utter_message(response="utter_handoff")
        else:
            dispatcher.utter_message(response="utter_handoff_failed")
        return leave_form(tracker)


def trailing_fallbacks(events: list[dict[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


class ActionFallback(UsesServices, Action):
    """Asks to rephrase; the second misunderstanding in a row hands over to a person."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Rephrase, or hand over once when misunderstandings repeat."""
        misses = trailing_fallbacks(tracker.events)
        if misses < FALLBACKS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_default")
            return []
        if misses == FALLBACKS_BEFORE_HANDOFF:
            services = self.services
            if not record_handoff(services, tracker.sender_id, HandoffReason.NOT_UNDERSTOOD):
                dispatcher.utter_message(response="utter_handoff_failed")
                return leave_form(tracker)
        dispatcher.utter_message(response="utter_handoff")
        return leave_form(tracker)


class ActionEmergency(UsesServices, Action):
    """Answers an emergency with the emergency numbers and puts a person on it at once."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Says what to do now, records an emergency handoff; a form in progress goes on."""
        dispatcher.utter_message(response="utter_emergency")
        record_handoff(self.services, tracker.sender_id, HandoffReason.EMERGENCY)
        return []
