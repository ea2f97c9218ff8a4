"""Moving around the intake: category choice, extra questions, corrections, pause and resume."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import parse_correction
from actions.intake import (
    FORM,
    ActionPetitionSummary,
    ValidatePetitionForm,
    pending_extras,
)

# Fields a petitioner can correct in words, and the slot each one is kept in.
CORRECTABLE = ("phone", "address", "place", "name", "demand", "since", "involved")
RESUME_FACTS_CHARS = 40


class ActionAskCategory(Action):
    """Asks the petitioner to pick among the NLU's top categories when it is unsure."""

    def name(self) -> str:
        """The form calls action_ask_<slot> before utter_ask_<slot>."""
        return "action_ask_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The question with one numbered button per candidate (payload: the plain name)."""
        candidates = list(tracker.get_slot("category_candidates") or [])
        # Channels number the buttons themselves (WeChat and the shell show "1. 城乡建设").
        buttons = [{"title": name, "payload": name} for name in candidates]
        dispatcher.utter_message(response="utter_ask_category", buttons=buttons)
        return []


class ActionAskExtraAnswer(Action):
    """Asks the category's next extra question (utter_ask_extra_<field>)."""

    def name(self) -> str:
        """The form calls action_ask_<slot> before utter_ask_<slot>."""
        return "action_ask_extra_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Utters the question of the first unanswered extra field."""
        pending = pending_extras(tracker)
        if pending:
            dispatcher.utter_message(response=f"utter_ask_extra_{pending[0]}")
        return []


class ActionCorrectField(Action):
    """Applies "电话写错了，应该是139…" to the petition without starting over."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_correct_field"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validates the new value like the form would; re-shows the summary when confirming."""
        text = str((tracker.latest_message or {}).get("text") or "")
        correction = parse_correction(text)
        field, value = correction.field, correction.value
        entities = {
            item.get("entity"): item.get("value")
            for item in tracker.latest_message.get("entities", [])
        }
        if field == "phone" and entities.get("phone"):
            value = str(entities["phone"])
        if field not in CORRECTABLE or not value:
            dispatcher.utter_message(response="utter_correction_unclear")
            return []
        validator = getattr(ValidatePetitionForm(), f"validate_{field}")
        result: dict[str, Any] = validator(value, dispatcher, tracker, domain)
        if asyncio.iscoroutine(result):
            result = await result
        if result.get(field) is None:
            return [SlotSet(key, item) for key, item in result.items()]
        events: list[EventType] = [SlotSet(key, item) for key, item in result.items()]
        if tracker.get_slot("confirmation_pending"):
            tracker.slots.update(result)
            events += await ActionPetitionSummary().run(dispatcher, tracker, domain)
        else:
            dispatcher.utter_message(response="utter_correction_done")
        return events


class ActionPausePetition(Action):
    """Leaves the form for now, keeping everything said so far."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_pause_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Deactivates the form; the slots stay for later."""
        dispatcher.utter_message(response="utter_petition_paused")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("resume_offered", True)]


class ActionResumePetition(Action):
    """Clears the resume offer; the rule then reactivates the form, which skips what is known."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_resume_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Nothing to say: the form asks its next question."""
        return [SlotSet("resume_offered", False)]


def unfinished_petition(tracker: Tracker) -> bool:
    """A petition was started and neither filed nor discarded."""
    return bool(tracker.get_slot("facts")) and not tracker.get_slot("confirmation_pending")


class ActionSessionStart(Action):
    """Starts a new session carrying the slots over, and offers to resume an unfinished petition."""

    def name(self) -> str:
        """Rasa runs this action at the start of every session."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """SessionStarted, the carried-over slots, the resume offer if any, then listen."""
        events: list[EventType] = [SessionStarted()]
        carried = {
            key: value
            for key, value in tracker.slots.items()
            if value is not None and key not in ("requested_slot", "session_started_metadata")
        }
        events += [SlotSet(key, value) for key, value in carried.items()]
        if unfinished_petition(tracker):
            facts = str(tracker.get_slot("facts"))
            if len(facts) > RESUME_FACTS_CHARS:
                facts = facts[:RESUME_FACTS_CHARS] + "…"
            dispatcher.utter_message(response="utter_offer_resume", facts=facts)
            events.append(SlotSet("resume_offered", True))
        events.append(ActionExecuted("action_listen"))
        return events


__all__ = [
    "FORM",
    "ActionAskCategory",
    "ActionAskExtraAnswer",
    "ActionCorrectField",
    "ActionPausePetition",
    "ActionResumePetition",
    "ActionSessionStart",
]
