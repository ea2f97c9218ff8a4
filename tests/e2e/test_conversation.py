"""End-to-end conversations in Chinese through the real Rasa, action and case servers."""

from __future__ import annotations

import re
import secrets

from tests.e2e.conftest import RunningStack, user_intents, uttered

COMPLAINT = "我们村自来水停了一个多月了，村委会一直不管"
ANSWERS = {
    "facts": COMPLAINT,
    "place": "寒亭区固堤街道东村",
    "since": "一个多月了",
    "involved": "村委会",
    "demand": "希望尽快恢复供水",
    "raised_before": "没有",
    "joint_count": "有二十多户",
    "leave_contact": "留下",
    "name": "王建国",
    "phone": "138 0013 8000",
    "address": "寒亭区固堤街道东村5号",
    "category": "1",
    "extra_answer": "固堤街道供水站",
    "id_consent": "不同意",
}
REFERENCE = re.compile(r"WF-\d{4}-\d{6}")


def new_sender() -> str:
    """A sender id no other test uses."""
    return f"e2e-{secrets.token_hex(6)}"


def answer_until_summary(stack: RunningStack, sender: str) -> list[str]:
    """Answers whatever the form asks until it stops asking; returns the slots asked for."""
    asked: list[str] = []
    for _ in range(10):
        requested = stack.tracker(sender)["slots"].get("requested_slot")
        if requested is None:
            return asked
        asked.append(requested)
        stack.say(sender, ANSWERS[requested])
    raise AssertionError(f"the form kept asking: {asked}")


def file_petition(stack: RunningStack, sender: str) -> str:
    """Runs the whole intake and returns the case reference the bot announced."""
    stack.say(sender, COMPLAINT)
    answer_until_summary(stack, sender)
    replies = stack.say(sender, "确认")
    match = REFERENCE.search(" ".join(str(reply.get("text")) for reply in replies))
    assert match, replies
    return match.group()


class TestIntake:
    """From a greeting and a complaint to a filed case."""

    def test_complaint_is_filed_once_with_the_collected_fields(self, stack: RunningStack) -> None:
        """Asks only for what is missing, confirms, files one case and gives its reference."""
        sender = new_sender()
        greeting = stack.say(sender, "你好")
        assert uttered(stack.tracker(sender)) == ["utter_greet"], greeting

        stack.say(sender, COMPLAINT)
        asked = answer_until_summary(stack, sender)
        # The complaint itself was the facts: never asked for again, nothing asked twice.
        assert "facts" not in asked
        assert len(asked) == len(set(asked))
        assert set(asked) <= set(ANSWERS) - {"facts", "leave_contact", "since", "involved"}
        tracker = stack.tracker(sender)
        assert uttered(tracker)[-1] == "utter_petition_summary"
        stack.say(sender, "确认")
        assert uttered(stack.tracker(sender))[-1] == "utter_petition_filed"

        reference = REFERENCE.search(str(stack.tracker(sender)["events"]))
        assert reference
        case = stack.staff(f"/api/cases/{reference.group()}")
        assert case.status == 200
        assert case.body["status"] == "received"
        assert case.body["channel"] == "rest"
        fields = case.body["fields"]
        assert {key: fields[key] for key in ("facts", "place", "demand", "name", "phone")} == {
            "facts": COMPLAINT,
            "place": "寒亭区固堤街道东村",
            "demand": "希望尽快恢复供水",
            "name": "王建国",
            "phone": "138****8000",
        }
        assert fields["joint_count"] == 20
        assert fields["raised_before"] == "no"
        assert "accept" in case.body["deadlines"]
        listed = stack.staff(f"/api/cases?channel=rest&user_id={sender}")
        assert [item["reference"] for item in listed.body] == [reference.group()]

    def test_confirming_twice_files_one_case(self, stack: RunningStack) -> None:
        """A second 确认 after filing creates no second case."""
        sender = new_sender()
        file_petition(stack, sender)
        stack.say(sender, "确认")
        listed = stack.staff(f"/api/cases?channel=rest&user_id={sender}")
        assert len(listed.body) == 1

    def test_declining_at_confirmation_files_nothing(self, stack: RunningStack) -> None:
        """重填 at the summary discards the petition."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        answer_until_summary(stack, sender)
        stack.say(sender, "不对，重填")
        assert uttered(stack.tracker(sender))[-1] == "utter_petition_discarded"
        assert stack.staff(f"/api/cases?channel=rest&user_id={sender}").body == []


class TestProgress:
    """我的信访件办得怎么样了."""

    def test_lists_own_cases_with_status(self, stack: RunningStack) -> None:
        """The petitioner sees their case, its status and its acceptance deadline."""
        sender = new_sender()
        reference = file_petition(stack, sender)
        replies = stack.say(sender, "我的信访件办得怎么样了")
        text = " ".join(str(reply.get("text")) for reply in replies)
        assert reference in text
        assert "待受理" in text and "受理期限" in text

    def test_nobody_sees_someone_elses_case(self, stack: RunningStack) -> None:
        """Another sender is told they have no cases; the reference is not shown."""
        reference = file_petition(stack, new_sender())
        other = new_sender()
        replies = stack.say(other, "我的信访件办得怎么样了")
        assert reference not in str(replies)
        assert uttered(stack.tracker(other))[-1] == "utter_no_cases"


class TestScopeAndHandoff:
    """Out-of-scope messages and asking for a person."""

    def test_out_of_scope_gets_capabilities_and_no_case(self, stack: RunningStack) -> None:
        """今天天气怎么样 is answered with what the assistant does; no case is filed."""
        sender = new_sender()
        stack.say(sender, "今天天气怎么样")
        assert uttered(stack.tracker(sender)) == ["utter_out_of_scope"]
        assert stack.staff(f"/api/cases?channel=rest&user_id={sender}").body == []

    def test_asking_for_a_person_records_a_handoff(self, stack: RunningStack) -> None:
        """人工 is answered politely and a handoff request is stored."""
        sender = new_sender()
        stack.say(sender, "人工")
        assert uttered(stack.tracker(sender)) == ["utter_handoff"]
        handoffs = stack.staff("/api/handoffs").body
        assert {"channel": "rest", "user_id": sender, "reason": "asked"}.items() <= next(
            item for item in handoffs if item["user_id"] == sender
        ).items()

    def test_person_during_the_form_keeps_what_was_said(self, stack: RunningStack) -> None:
        """Asking for a person mid-form hands over and leaves the form; the facts stay."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        stack.say(sender, "转人工")
        tracker = stack.tracker(sender)
        assert uttered(tracker)[-1] == "utter_handoff"
        assert tracker["active_loop"] in ({}, None) or not tracker["active_loop"].get("name")
        assert tracker["slots"]["facts"] == COMPLAINT

    def test_repeated_misunderstanding_hands_over(self, stack: RunningStack) -> None:
        """The first unclear message asks to rephrase; the second in a row hands over."""
        sender = new_sender()
        stack.say(sender, "ffff")
        stack.say(sender, "jjjj kkkk")
        tracker = stack.tracker(sender)
        assert user_intents(tracker) == ["nlu_fallback", "nlu_fallback"]
        assert uttered(tracker) == ["utter_default", "utter_handoff"]
        handoff = next(
            item for item in stack.staff("/api/handoffs").body if item["user_id"] == sender
        )
        assert handoff["reason"] == "not_understood"
