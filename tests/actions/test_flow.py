"""Tests of corrections, resume offers, category choice and the per-category field file."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import count_people, find_reference, parse_correction
from actions.fields import FieldsFileError, IntakeFields, load_fields
from actions.flow import ActionAskCategory, ActionCorrectField, ActionSessionStart
from tests.actions.conftest import make_tracker


class TestParseCorrection:
    """Which field and which new value a correction names."""

    @pytest.mark.parametrize(
        ("text", "field", "value"),
        [
            ("电话写错了，应该是13912345678", "phone", "13912345678"),
            ("地点改成寒亭街道", "place", "寒亭街道"),
            ("名字写错了，应该是王建军", "name", "王建军"),
            ("通讯地址改为潍城区和平路5号", "address", "潍城区和平路5号"),
            ("刚才说错了", None, None),
        ],
    )
    def test_field_and_value(self, text: str, field: str | None, value: str | None) -> None:
        """Cue words pick the field; what follows 改成/应该是 is the value."""
        correction = parse_correction(text)
        assert (correction.field, correction.value) == (field, value)


def test_count_and_reference_readers() -> None:
    """Numbers in Chinese words are read; references are found in running text."""
    assert count_people("大概三十来户") == 30
    assert count_people("就我一个") == 0
    assert count_people("有一些") is None
    assert count_people("和我一起的还有五户") == 5
    assert find_reference("上次的编号是wf-2026-000012") == "WF-2026-000012"


class TestCorrectField:
    """ActionCorrectField."""

    def run(
        self, text: str, slots: dict[str, Any], domain: dict[str, Any]
    ) -> tuple[list[Any], list[Any]]:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(text=text, intent="correct_field", slots=slots)
        events = asyncio.run(ActionCorrectField().run(dispatcher, tracker, domain))
        return events, dispatcher.messages

    def test_phone_corrected_and_summary_shown_again(self, domain: dict[str, Any]) -> None:
        """At the confirmation step the new phone is set and the summary repeated, masked."""
        slots = {
            "confirmation_pending": True, "facts": "停水一个月了啊", "place": "寒亭区",
            "demand": "恢复供水", "name": "王建国", "phone": "13800138000",
        }  # fmt: skip
        events, messages = self.run("电话写错了，应该是13912345678", slots, domain)
        assert {
            "event": "slot",
            "name": "phone",
            "value": "13912345678",
            "timestamp": None,
        } in events
        assert "139****5678" in messages[-1]["summary"]

    def test_invalid_new_value_gets_the_reason(self, domain: dict[str, Any]) -> None:
        """A wrong new phone number is refused with the reason, the old one kept."""
        events, messages = self.run("电话改成1391234", {"phone": "13800138000"}, domain)
        assert messages[0]["response"] == "utter_invalid_phone_short"
        assert not any(event.get("name") == "phone" and event.get("value") for event in events)

    def test_unclear_correction_asks_what_to_change(self, domain: dict[str, Any]) -> None:
        """Without a field or a value the petitioner is asked to say which and what."""
        _, messages = self.run("写错了", {}, domain)
        assert messages[0]["response"] == "utter_correction_unclear"


class TestSessionStart:
    """A returning petitioner."""

    def test_unfinished_petition_offered_to_resume(self) -> None:
        """Slots are carried over and the unfinished petition is offered, then listen."""
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(slots={"facts": "停水一个月", "place": "寒亭区"})
        events = asyncio.run(ActionSessionStart().run(dispatcher, tracker, {}))
        assert events[0]["event"] == "session_started"
        assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
        assert dispatcher.messages[0]["response"] == "utter_offer_resume"
        assert {"event": "slot", "name": "place", "value": "寒亭区", "timestamp": None} in events

    def test_new_conversation_offers_nothing(self) -> None:
        """Without a petition in progress nothing is said."""
        dispatcher = CollectingDispatcher()
        asyncio.run(ActionSessionStart().run(dispatcher, make_tracker(), {}))
        assert dispatcher.messages == []


def test_category_choice_buttons_are_plain_text() -> None:
    """Each candidate is a button titled and answered with the plain category name."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"category_candidates": ["城乡建设", "国土资源", "农村农业"]})
    asyncio.run(ActionAskCategory().run(dispatcher, tracker, {}))
    buttons = dispatcher.messages[0]["buttons"]
    assert [button["payload"] for button in buttons] == ["城乡建设", "国土资源", "农村农业"]
    assert [button["title"] for button in buttons] == ["城乡建设", "国土资源", "农村农业"]


class TestFieldsFile:
    """bot/intake_fields.yml."""

    def test_project_file_loads(self) -> None:
        """The shipped file parses; wage arrears ask the employer, a second level wins."""
        fields = load_fields()
        assert fields.rules_for("劳动和社会保障").extra_fields[0] == "employer"
        assert fields.rules_for("劳动和社会保障", "城镇职工社会保险").id_number
        assert fields.rules_for(None).extra_fields == ()
        assert "amount" in fields.optional

    def test_malformed_category_refused(self) -> None:
        """An unknown key in a category is an error, not silently ignored."""
        with pytest.raises(FieldsFileError):
            IntakeFields.parse({"categories": {"民政": {"extra": ["x"]}}})
