"""Tests of the intake form's validation, summary and submission."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.answers import SKIPPED
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
        tracker = make_tracker(slots={"field_attempts": {"phone": attempts}}, text=value)
        result = ValidatePetitionForm().validate_phone(value, dispatcher, tracker, {})
        return result, dispatcher.messages

    def test_valid_number_normalised(self) -> None:
        """A valid number is stored as 11 digits, with nothing said."""
        result, messages = self.validate("+86 138-0013-8000", attempts=1)
        assert result == {"phone": "13800138000"}
        assert messages == []

    def test_short_number_gets_the_digit_count(self) -> None:
        """Ten digits: the response says how many there were."""
        result, messages = self.validate("1380013800")
        assert result == {"phone": None, "field_attempts": {"phone": 1}}
        assert messages[0]["response"] == "utter_invalid_phone_short"
        assert messages[0]["digits"] == 10

    def test_third_failure_offers_a_person_and_stops_asking(self) -> None:
        """After the third wrong number the form ends and a person is offered."""
        result, messages = self.validate("123", attempts=2)
        assert result["field_failed"] == "phone"
        assert [message["response"] for message in messages] == ["utter_phone_offer_handoff"]

    def test_refusal_explains_why_a_contact_is_needed(self) -> None:
        """不想留 is not a malformed number: the reason is the written answer."""
        result, messages = self.validate("不想留电话")
        assert result["phone"] is None
        assert messages[0]["response"] == "utter_contact_needed"


class TestOtherFields:
    """Optional fields, counts, yes/no answers, ID numbers."""

    form = ValidatePetitionForm()

    def run(self, field: str, value: Any, **tracker: Any) -> tuple[dict[str, Any], list[Any]]:
        dispatcher = CollectingDispatcher()
        method = getattr(self.form, f"validate_{field}")
        result = method(value, dispatcher, make_tracker(**tracker), {})
        return result, [message.get("response") for message in dispatcher.messages]

    def test_name_loses_its_preamble(self) -> None:
        """我叫王建国 is stored as 王建国; digits or a bare 确认 are not a name."""
        assert self.run("name", "我叫王建国。")[0] == {"name": "王建国"}
        assert self.run("name", "13800138000")[0]["name"] is None
        answering = {"requested_slot": "name"}
        assert self.run("name", "确认", intent="affirm", slots=answering)[0]["name"] is None
        # Validated again on resume, a stored name is not judged by the latest message.
        assert self.run("name", "王建国", intent="affirm")[0] == {"name": "王建国"}

    def test_optional_field_skipped(self) -> None:
        """跳过 on an optional question stores the skip marker."""
        assert self.run("since", "跳过")[0] == {"since": SKIPPED}

    def test_required_field_skipped_after_three_tries_offers_a_person(self) -> None:
        """The demand cannot be skipped: the third empty answer offers a person."""
        result, said = self.run("demand", "跳过", slots={"field_attempts": {"demand": 2}})
        assert result["field_failed"] == "demand"
        assert said == ["utter_field_offer_handoff"]

    def test_joint_count_in_words(self) -> None:
        """二十多户 is 20 others; 没有 is 0."""
        assert self.run("joint_count", "有二十多户")[0] == {"joint_count": 20}
        assert self.run("joint_count", "没有", intent="deny")[0] == {"joint_count": 0}

    def test_raised_before_keeps_the_earlier_reference(self) -> None:
        """An earlier case reference in the answer is kept as such."""
        result, _ = self.run("raised_before", "反映过，编号xf-2025-000321")
        assert result == {"raised_before": "yes", "previous_reference": "XF-2025-000321"}

    def test_id_number_check_digit(self) -> None:
        """A wrong GB 11643 check character is refused with that reason."""
        assert self.run("id_number", "11010519491231002x")[0] == {"id_number": "11010519491231002X"}
        result, said = self.run("id_number", "110105194912310021")
        assert result["id_number"] is None and said == ["utter_invalid_id_checksum"]

    def test_declined_id_consent_is_respected(self) -> None:
        """不同意 stores the refusal and says the petition goes on without it."""
        result, said = self.run("id_consent", False, text="不同意")
        assert result["id_consent"] is False and said == ["utter_id_declined"]

    def test_anonymous_word_wins_over_a_yes(self) -> None:
        """匿名提交吧 reads as a yes to the NLU, but means no contact."""
        slots = {"requested_slot": "leave_contact"}
        result, _ = self.run("leave_contact", True, text="匿名提交吧", intent="affirm", slots=slots)
        assert result == {"leave_contact": False}


class TestRequiredSlots:
    """What the form asks depends on the petition."""

    def required(self, **slots: Any) -> list[str]:
        result: list[str] = asyncio.run(
            ValidatePetitionForm().required_slots(
                [], CollectingDispatcher(), make_tracker(slots=slots), {}
            )
        )
        return result

    def test_complaint_asks_contact_but_no_anonymity(self) -> None:
        """A complaint needs name, phone and address; anonymity is not offered."""
        slots = self.required(kind="complaint")
        assert {"name", "phone", "address"} <= set(slots) and "leave_contact" not in slots

    def test_anonymous_suggestion_asks_no_contact(self) -> None:
        """A suggestion whose author chose anonymity is not asked for contact details."""
        slots = self.required(kind="suggestion", leave_contact=False)
        assert "leave_contact" in slots and not {"name", "phone"} & set(slots)

    def test_category_extras_and_id_consent(self) -> None:
        """Social-insurance matters ask the employer and the ID number after consent."""
        slots = self.required(category="劳动和社会保障", category_second="城镇职工社会保险")
        assert "extra_answer" in slots and "id_consent" in slots and "id_number" not in slots
        with_consent = self.required(
            category="劳动和社会保障", category_second="城镇职工社会保险", id_consent=True
        )
        assert with_consent[-1] == "id_number"

    def test_unsure_category_is_asked(self) -> None:
        """When the NLU offered candidates, the petitioner chooses the category."""
        assert "category" in self.required(category_candidates=["城乡建设", "国土资源"])

    def test_a_failed_field_ends_the_form(self) -> None:
        """After a field failed three times, nothing more is asked."""
        assert self.required(field_failed="phone") == []


def test_kind_from_the_petitioners_words() -> None:
    """举报 is a report, 建议 a suggestion, 求助 a request for help, else a complaint."""
    assert petition_kind("我要举报村支书") is PetitionKind.REPORT
    assert petition_kind("建议增开公交线路") is PetitionKind.SUGGESTION
    assert petition_kind("求助，家里困难") is PetitionKind.HELP
    assert petition_kind(COMPLAINT) is PetitionKind.COMPLAINT


FILLED = {
    "facts": COMPLAINT,
    "place": "寒亭区",
    "since": SKIPPED,
    "demand": "恢复供水",
    "raised_before": "no",
    "joint_count": 0,
    "name": "王建国",
    "phone": "13800138000",
    "id_number": "11010519491231002X",
}


class TestSummary:
    """The confirmation step."""

    def test_summary_masks_personal_data(self, domain: dict[str, Any]) -> None:
        """The summary shows 138****8000 and 110105********002X, and asks to confirm."""
        dispatcher = CollectingDispatcher()
        events = asyncio.run(
            ActionPetitionSummary().run(dispatcher, make_tracker(slots=FILLED), domain)
        )
        (message,) = dispatcher.messages
        assert message["response"] == "utter_petition_summary"
        assert "手机：138****8000" in message["summary"]
        assert "身份证号：110105********002X" in message["summary"]
        assert "13800138000" not in message["summary"]
        assert "开始时间：未提供" in message["summary"]
        assert {
            "event": "slot",
            "name": "confirmation_pending",
            "value": True,
            "timestamp": None,
        } in events

    def test_no_confirmation_after_a_failed_field(self, domain: dict[str, Any]) -> None:
        """When a field failed, nothing is summarised for confirmation."""
        dispatcher = CollectingDispatcher()
        slots = {**FILLED, "phone": None, "field_failed": "phone"}
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


class TestAttachments:
    """Photos a channel downloaded go with the petition they were sent for."""

    def test_attachments_since_the_last_case_are_filed(
        self, services: Services, domain: dict[str, Any]
    ) -> None:
        """Only the photos sent after the previous case are attached to this one."""
        old = {"kind": "image", "path": "var/media/a.jpg", "sha256": "a" * 64, "bytes": 10}
        new = {"kind": "image", "path": "var/media/b.jpg", "sha256": "b" * 64, "bytes": 20}
        events = [
            {"event": "user", "metadata": {"attachments": [old]}},
            {"event": "slot", "name": "case_reference", "value": "WF-2026-000001"},
            {"event": "user", "metadata": {"attachments": [new]}},
            {"event": "user", "metadata": {}},
        ]
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(slots={**FILLED, "submission_id": "s-9"}, events=events)
        asyncio.run(ActionSubmitPetition(services).run(dispatcher, tracker, domain))
        with services.sessions() as session:
            case = repository.get_case(session, dispatcher.messages[0]["reference"])
            assert case is not None
            assert case.fields["attachments"] == [new]
