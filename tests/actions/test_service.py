"""Tests of progress queries, handoff and fallback."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionFallback, ActionHandoff, trailing_fallbacks
from actions.services import Services
from actions.status import ActionQueryCases
from cases import repository
from cases.channels import Channel
from tests.actions.conftest import make_tracker


def user(intent: str) -> dict[str, Any]:
    """A user event with that intent."""
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def file(services: Services, user_id: str, key: str) -> str:
    """Files a case for `rest:user_id` and returns its reference."""
    with services.sessions.begin() as session:
        case, _ = repository.file_case(
            session,
            repository.NewCase(channel=Channel.REST, user_id=user_id, submission_key=key),
            reference_prefix="WF",
            deadline_profile="520",
        )
        return str(case.reference)


class TestQueryCases:
    """ActionQueryCases."""

    def test_lists_own_cases_in_one_message(
        self, services: Services, domain: dict[str, Any]
    ) -> None:
        """Both own cases appear with status and deadline; another person's does not."""
        mine = [file(services, "me", "k1"), file(services, "me", "k2")]
        theirs = file(services, "them", "k3")
        dispatcher = CollectingDispatcher()
        asyncio.run(
            ActionQueryCases(services).run(dispatcher, make_tracker(sender_id="rest:me"), domain)
        )
        (message,) = dispatcher.messages
        assert all(reference in message["text"] for reference in mine)
        assert theirs not in message["text"]
        assert "已登记，待受理" in message["text"] and "受理期限" in message["text"]

    def test_no_cases(self, services: Services, domain: dict[str, Any]) -> None:
        """Someone with no cases is told so."""
        dispatcher = CollectingDispatcher()
        asyncio.run(
            ActionQueryCases(services).run(dispatcher, make_tracker(sender_id="rest:x"), domain)
        )
        assert dispatcher.messages[0]["response"] == "utter_no_cases"


class TestHandoff:
    """ActionHandoff and ActionFallback."""

    def test_handoff_recorded_and_form_left(self, services: Services) -> None:
        """A handoff is stored and an active form is ended."""
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(active_loop="petition_form")
        events = asyncio.run(ActionHandoff(services).run(dispatcher, tracker, {}))
        assert dispatcher.messages[0]["response"] == "utter_handoff"
        assert {"event": "active_loop", "name": None, "timestamp": None} in events
        with services.sessions() as session:
            (request,) = repository.open_handoffs(session)
            assert request.reason == "asked"

    def test_trailing_fallbacks_counted_until_understood(self) -> None:
        """Only the unbroken run of misunderstandings at the end counts."""
        events = [user("nlu_fallback"), user("greet"), user("nlu_fallback"), user("nlu_fallback")]
        assert trailing_fallbacks(events) == 2
        assert trailing_fallbacks([user("greet")]) == 0

    def test_second_fallback_hands_over_once(self, services: Services) -> None:
        """First: rephrase. Second: hand over (recorded). Third: no second record."""
        replies = []
        for count in (1, 2, 3):
            dispatcher = CollectingDispatcher()
            tracker = make_tracker(events=[user("nlu_fallback")] * count)
            asyncio.run(ActionFallback(services).run(dispatcher, tracker, {}))
            replies.append(dispatcher.messages[0]["response"])
        assert replies == ["utter_default", "utter_handoff", "utter_handoff"]
        with services.sessions() as session:
            assert len(repository.open_handoffs(session)) == 1


class TestQueryByReference:
    """A reference in the question."""

    def query(self, services: Services, domain: dict[str, Any], sender: str, text: str) -> Any:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(sender_id=sender, text=text, intent="ask_progress")
        asyncio.run(ActionQueryCases(services).run(dispatcher, tracker, domain))
        return dispatcher.messages[0]

    def test_own_reference_shows_that_case_only(
        self, services: Services, domain: dict[str, Any]
    ) -> None:
        """Asking about one's own case by reference lists just that case."""
        first, second = file(services, "me", "k1"), file(services, "me", "k2")
        message = self.query(services, domain, "rest:me", f"{first}到哪一步了")
        assert first in message["text"] and second not in message["text"]

    def test_someone_elses_reference_is_not_found(
        self, services: Services, domain: dict[str, Any]
    ) -> None:
        """Another person's reference is answered exactly like an unknown one."""
        theirs = file(services, "them", "k1")
        mine = self.query(services, domain, "rest:me", f"{theirs}办得怎么样")
        unknown = self.query(services, domain, "rest:me", "WF-2099-999999办得怎么样")
        assert mine["response"] == unknown["response"] == "utter_case_not_found"
