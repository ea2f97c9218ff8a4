"""Tests of the intake form's validation, summary and submission."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.intake import (
    ActionPetitionSummary,
    ActionSubmitPetition,
    ValidatePetitionForm,
    petition_kind,
)
from actions.services import Services
from cases import repository
from cases.channels import Channel
from cases.models import PetitionKind
from tests.actions.conftest import make_tracker

COMPLAINT = "我们村自来水停了一个多月了，村委会一直不管"


def responses(dispatcher: CollectingDispatcher) -> list[Any]:
    """The response names the action dispatched."""
    return [message.get("response") for message in dispatcher.messages]


class TestExtractFacts:
    """The facts come from the message that opened the petition."""

    def run(self, **tracker: Any) -> dict[str, Any]:
        result: dict[str, Any] = asyncio.run(
            ValidatePetitionForm().extract_facts(
                CollectingDispatcher(), make_tracker(**tracker), {}
            )
        )
        return result

    def test_complaint_text_is_the_facts(self) -> None:
        """A complaint with substance fills the facts at once."""
        assert self.run(text=COMPLAINT, intent="file_petition") == {"facts": COMPLAINT}

    def test_bare_opener_is_not_facts(self) -> None:
        """我要投诉 alone says nothing about what happened: the form will ask."""
        assert self.run(text="我要投诉", intent="file_petition") == {}

    def test_answer_to_the_question(self) -> None:
        """When the form asked for the facts, the answer is taken."""
        slots = {"requested_slot": "facts"}
        assert self.run(text="上周开始停水", intent="inform", slots=slots) == {
            "facts": "上周开始停水"
        }

    def test_already_known_facts_are_kept(self) -> None:
        """Facts said before are not replaced by a later message."""
        assert self.run(text="另一件事情说说看", intent="file_petition", slots={"facts": "x"}) == {}


class TestValidatePhone:
    """Reasons, counting, and a person after three failures."""

    def validate(self, value: str, attempts: int = 0) -> tuple[dict[str, Any], list[Any]]:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(slots={"phone_attempts": attempts})
        result = ValidatePetitionForm().validate_phone(value, dispatcher, tracker, {})
        return result, dispatcher.messages

    def test_valid_number_normalised(self) -> None:
        """A valid number is stored as 11 digits and the counter reset."""
        result, messages = self.validate("+86 138-0013-8000", attempts=1)
        assert result == {"phone": "13800138000", "phone_attempts": 0}
        assert messages == []

    def test_short_number_gets_the_digit_count(self) -> None:
        """Ten digits: the response says how many there were."""
        result, messages = self.validate("1380013800")
        assert result == {"phone": None, "phone_attempts": 1}
        assert messages[0]["response"] == "utter_invalid_phone_short"
        assert messages[0]["digits"] == 10

    def test_third_failure_offers_a_person_and_stops_asking(self) -> None:
        """After the third wrong number the form ends and a person is offered."""
        result, messages = self.validate("123", attempts=2)
        assert result["requested_slot"] is None
        assert result["phone_failed"] is True
        assert [message["response"] for message in messages] == ["utter_phone_offer_handoff"]


def test_name_loses_its_preamble() -> None:
    """我叫王建国 is stored as 王建国; digits are not a name."""
    form = ValidatePetitionForm()
    tracker = make_tracker()
    assert form.validate_name("我叫王建国。", CollectingDispatcher(), tracker, {}) == {
        "name": "王建国"
    }
    assert form.validate_name("13800138000", CollectingDispatcher(), tracker, {}) == {"name": None}


def test_kind_from_the_petitioners_words() -> None:
    """举报 is a report, 建议 a suggestion, 求助 a request for help, else a complaint."""
    assert petition_kind("我要举报村支书") is PetitionKind.REPORT
    assert petition_kind("建议增开公交线路") is PetitionKind.SUGGESTION
    assert petition_kind("求助，家里困难") is PetitionKind.HELP
    assert petition_kind(COMPLAINT) is PetitionKind.COMPLAINT


FILLED = {
    "facts": COMPLAINT,
    "place": "寒亭区",
    "demand": "恢复供水",
    "name": "王建国",
    "phone": "13800138000",
}


class TestSummary:
    """The confirmation step."""

    def test_summary_masks_the_phone(self, domain: dict[str, Any]) -> None:
        """The summary shows 138****8000 and asks to confirm."""
        dispatcher = CollectingDispatcher()
        events = asyncio.run(
            ActionPetitionSummary().run(dispatcher, make_tracker(slots=FILLED), domain)
        )
        (message,) = dispatcher.messages
        assert message["response"] == "utter_petition_summary"
        assert message["phone_masked"] == "138****8000"
        assert {
            "event": "slot",
            "name": "confirmation_pending",
            "value": True,
            "timestamp": None,
        } in events

    def test_no_confirmation_without_a_phone(self, domain: dict[str, Any]) -> None:
        """Without a valid phone nothing is summarised for confirmation."""
        dispatcher = CollectingDispatcher()
        slots = {**FILLED, "phone": None, "phone_failed": True}
        events = asyncio.run(
            ActionPetitionSummary().run(dispatcher, make_tracker(slots=slots), domain)
        )
        assert dispatcher.messages == []
        assert events[0]["value"] is False


class TestSubmit:
    """Submission files the case once and tells the reference."""

    def submit(self, services: Services, domain: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(slots={**FILLED, "submission_id": "s-1"})
        events = asyncio.run(ActionSubmitPetition(services).run(dispatcher, tracker, domain))
        return events, dispatcher.messages

    def test_files_and_announces_reference_and_deadline(
        self, services: Services, domain: dict[str, Any]
    ) -> None:
        """The reply names the committed case's reference and an acceptance date."""
        events, messages = self.submit(services, domain)
        (message,) = messages
        assert message["response"] == "utter_petition_filed"
        assert message["reference"].startswith("WF-")
        assert "年" in message["accept_by"] and "日" in message["accept_by"]
        with services.sessions() as session:
            case = repository.get_case(session, message["reference"])
            assert case is not None and case.fields["place"] == "寒亭区"
        assert {"event": "slot", "name": "facts", "value": None, "timestamp": None} in events

    def test_retried_submission_returns_the_same_reference(
        self, services: Services, domain: dict[str, Any]
    ) -> None:
        """The same submission twice: one case, the same reference both times."""
        _, first = self.submit(services, domain)
        _, second = self.submit(services, domain)
        assert first[0]["reference"] == second[0]["reference"]
        with services.sessions() as session:
            assert len(repository.cases_of(session, Channel.REST, "tester")) == 1
