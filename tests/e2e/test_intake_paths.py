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
        stack.say(sender, overrides[requested] if requested in overrides else ANSWERS[requested])
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
        """After 晚点再说 and 继续, the form goes on where it stopped, keeping the answers."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        first = stack.tracker(sender)["slots"]["requested_slot"]
        stack.say(sender, ANSWERS[first])
        pending = stack.tracker(sender)["slots"]["requested_slot"]
        assert pending != first
        stack.say(sender, "我先不填了，晚点再说")
        tracker = stack.tracker(sender)
        assert uttered(tracker)[-1] == "utter_petition_paused"
        assert not (tracker.get("active_loop") or {}).get("name")
        stack.say(sender, "继续")
        tracker = stack.tracker(sender)
        assert tracker["slots"]["facts"] == COMPLAINT
        assert tracker["slots"]["requested_slot"] == pending

    def test_cancel_mid_form_files_nothing(self, stack: RunningStack) -> None:
        """取消 during the form discards the petition."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        stack.say(sender, "算了，不办了，取消吧")
        tracker = stack.tracker(sender)
        assert uttered(tracker)[-1] == "utter_petition_discarded"
        assert tracker["slots"]["facts"] is None
        assert stack.staff(f"/api/cases?channel=rest&user_id={sender}").body == []


class TestCategoryDrivenQuestions:
    """What the classifier reads decides the extra questions."""

    def test_social_insurance_asks_employer_and_id_consent(self, stack: RunningStack) -> None:
        """A 社保 complaint asks its extra questions and, after consent, the ID number."""
        sender = new_sender()
        stack.say(sender, "单位两年没给我交社保了，养老保险断缴")
        slots = stack.tracker(sender)["slots"]
        assert (slots["category"], slots["category_second"]) == (
            "劳动和社会保障",
            "城镇职工社会保险",
        )
        answers = {**ANSWERS, "id_consent": "同意", "id_number": "11010519491231002X"}
        asked = answer(stack, sender, answers)
        assert "extra_answer" in asked and asked[-2:] == ["id_consent", "id_number"]
        reference = REFERENCE.search(str(stack.say(sender, "确认")))
        assert reference
        case = stack.staff(f"/api/cases/{reference.group()}").body
        assert case["category"] == "劳动和社会保障"
        assert "11010519491231002X" not in str(case)

    def test_declined_id_consent_files_without_it(self, stack: RunningStack) -> None:
        """Declining the ID consent is respected: no ID question, the case is still filed."""
        sender = new_sender()
        stack.say(sender, "公司一直没给我们交职工社保，去社保局查了才知道断缴两年")
        asked = answer(stack, sender, {"id_consent": "不同意"})
        assert asked[-1] == "id_consent" and "id_number" not in asked
        assert "utter_id_declined" in uttered(stack.tracker(sender))
        assert REFERENCE.search(str(stack.say(sender, "确认")))

    def test_unsure_category_is_chosen_by_the_petitioner(self, stack: RunningStack) -> None:
        """When the classifier is unsure, the petitioner picks one of its top three."""
        sender = new_sender()
        # Says what happened to the petitioner but not what it is about: no category fits.
        stack.say(sender, "我们这里的事情拖了半年多了，找了好几个部门都说不归他们管")
        slots = stack.tracker(sender)["slots"]
        assert slots["category"] is None, "the shipped model is unsure of this message"
        assert slots["requested_slot"] == "category"
        candidates = slots["category_candidates"]
        stack.say(sender, "2")
        assert stack.tracker(sender)["slots"]["category"] == candidates[1]


class TestEmergency:
    """Threats to life are answered at once."""

    def test_self_harm_gets_emergency_numbers_and_a_person(self, stack: RunningStack) -> None:
        """我不想活了 is never "not understood": emergency numbers, and a handoff is recorded."""
        sender = new_sender()
        replies = stack.say(sender, "我不想活了")
        assert "110" in str(replies) and "12356" in str(replies)
        assert uttered(stack.tracker(sender)) == ["utter_emergency"]
        handoff = next(
            item for item in stack.staff("/api/handoffs").body if item["user_id"] == sender
        )
        assert handoff["reason"] == "emergency"
