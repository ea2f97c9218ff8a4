"""Explains how a petition is handled, with the deadlines of the configured profile."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import UsesServices
from cases.deadlines import DeadlineKind


class ActionExplainProcess(UsesServices, Action):
    """Tells the acceptance and handling periods the bureau has configured."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_explain_process"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Fills the periods into the domain's explanation."""
        profile = self.services.deadline_profile
        accept = profile.rule(DeadlineKind.ACCEPT)
        handle = profile.rule(DeadlineKind.HANDLE) or profile.rule(DeadlineKind.CLOSE)
        dispatcher.utter_message(
            response="utter_process_explained",
            accept_days=accept.days if accept else "",
            handle_days=handle.days if handle else "",
        )
        return []
