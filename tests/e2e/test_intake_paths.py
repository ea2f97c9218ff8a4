"""The intake's other paths through the real servers: anonymity, corrections, pause, cancel."""

from __future__ import annotations

from tests.e2e.conftest import RunningStack, uttered
from tests.e2e.test_conversation import (
    ANSWERS,
    COMPLAINT,
    REFERENCE,
    answer_until_summary,
    new_sender,
)

SUGGESTION = "我有个建议，希望在我们小区门口增设一个公交站，老人出行太不方便了"


def answer(stack: RunningStack, sender: str, overrides: dict[str, str]) -> list[str]:
    """Answers the form with ANSWERS, except where `overrides` says otherwise."""
    asked: list[str] = []
    for _ in range(14):
        requested = stack.tracker(sender)["slots"].get("requested_slot")
        if requested is None:
            return asked
        asked.append(requested)
        stack.say(sender, overrides.get(requested, ANSWERS[requested]))
    raise AssertionError(f"the form kept asking: {asked}")


class TestAnonymousSuggestion:
    """Suggestions may be anonymous."""

    def test_filed_without_name_or_phone(self, stack: RunningStack) -> None:
        """Choosing 匿名 skips name, phone and address; the case has no contact."""
        sender = new_sender()
        stack.say(sender, SUGGESTION)
        asked = answer(stack, sender, {"leave_contact": "匿名提交吧", "place": "潍城区幸福里小区"})
        assert "leave_contact" in asked
        assert not {"name", "phone", "address"} & set(asked)
        assert uttered(stack.tracker(sender))[-1] == "utter_petition_summary"
        replies = stack.say(sender, "确认")
        reference = REFERENCE.search(str(replies))
        assert reference
        case = stack.staff(f"/api/cases/{reference.group()}").body
        assert case["kind"] == "suggestion"
        assert case["fields"]["name"] is None and case["fields"]["phone"] is None

    def test_complaint_explains_why_contact_is_needed(self, stack: RunningStack) -> None:
        """A complainant who will not give a name is told why it is needed and asked again."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        for _ in range(10):
            if stack.tracker(sender)["slots"]["requested_slot"] == "name":
                break
            stack.say(sender, ANSWERS[stack.tracker(sender)["slots"]["requested_slot"]])
        stack.say(sender, "我不想留名字")
        said = uttered(stack.tracker(sender))
        assert said[-2:] == ["utter_contact_needed", "utter_ask_name"]


class TestCorrections:
    """Corrections in natural language, without starting over."""

    def test_phone_corrected_at_the_summary(self, stack: RunningStack) -> None:
        """电话写错了，应该是… changes the phone and shows the summary again; the case has it."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        answer_until_summary(stack, sender)
        replies = stack.say(sender, "电话写错了，应该是13912345678")
        assert "139****5678" in str(replies)
        assert uttered(stack.tracker(sender))[-1] == "utter_petition_summary"
        reference = REFERENCE.search(str(stack.say(sender, "确认")))
        assert reference
        assert stack.staff(f"/api/cases/{reference.group()}").body["fields"]["phone"] == (
            "139****5678"
        )

    def test_place_corrected_at_the_summary(self, stack: RunningStack) -> None:
        """地点改成寒亭街道 changes the place."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        answer_until_summary(stack, sender)
        stack.say(sender, "地点改成寒亭街道")
        assert stack.tracker(sender)["slots"]["place"] == "寒亭街道"


class TestPauseAndCancel:
    """Continue later, or give up."""

    def test_pause_then_continue_asks_only_what_is_missing(self, stack: RunningStack) -> None:
        """After 晚点再说 and 继续, the form goes on where it stopped."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        stack.say(sender, ANSWERS["place"])
        stack.say(sender, "我先不填了，晚点再说")
        tracker = stack.tracker(sender)
        assert uttered(tracker)[-1] == "utter_petition_paused"
        assert not (tracker.get("active_loop") or {}).get("name")
        stack.say(sender, "继续")
        tracker = stack.tracker(sender)
        assert tracker["slots"]["place"] == ANSWERS["place"]
        assert tracker["slots"]["requested_slot"] == "since"

    def test_cancel_mid_form_files_nothing(self, stack: RunningStack) -> None:
        """取消 during the form discards the petition."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        stack.say(sender, "算了，不办了，取消吧")
        tracker = stack.tracker(sender)
        assert uttered(tracker)[-1] == "utter_petition_discarded"
        assert tracker["slots"]["facts"] is None
        assert stack.staff(f"/api/cases?channel=rest&user_id={sender}").body == []
