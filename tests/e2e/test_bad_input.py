"""Bad input through the real servers: every case answered, nothing lost, nothing set."""

from __future__ import annotations

import secrets

from connectors.base import MAX_MESSAGE_CHARS
from tests.e2e.conftest import RunningStack, user_intents, uttered
from tests.e2e.test_conversation import COMPLAINT, new_sender


class TestEmptyAndSymbols:
    """Messages with nothing to read."""

    def test_empty_message(self, stack: RunningStack) -> None:
        """An empty message is answered with a request to type the problem."""
        sender = new_sender()
        replies = stack.say(sender, "")
        assert replies, "an empty message must still get an answer"
        assert uttered(stack.tracker(sender)) == ["utter_empty_message"]

    def test_only_emoji(self, stack: RunningStack) -> None:
        """Only emoji is treated as no text, not guessed into an intent."""
        sender = new_sender()
        stack.say(sender, "😀😀👍")
        assert user_intents(stack.tracker(sender)) == ["empty_message"]
        assert uttered(stack.tracker(sender)) == ["utter_empty_message"]


class TestLongMessage:
    """A 10,000-character message."""

    def test_accepted_up_to_the_cap_and_told_politely(self, stack: RunningStack) -> None:
        """The first MAX_MESSAGE_CHARS characters are kept and the petitioner is told."""
        sender = new_sender()
        text = (COMPLAINT + "。") * (10_000 // (len(COMPLAINT) + 1) + 1)
        replies = stack.say(sender, text[:10_000])
        assert str(MAX_MESSAGE_CHARS) in str(replies[0]["text"])
        (user,) = [event for event in stack.tracker(sender)["events"] if event["event"] == "user"]
        assert len(user["text"]) == MAX_MESSAGE_CHARS
        assert user["metadata"]["truncated"] is True


class TestSlashText:
    """Text starting with / is plain text."""

    def test_restart_command_does_not_restart(self, stack: RunningStack) -> None:
        """/restart neither restarts the conversation nor is read as an intent."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        stack.say(sender, "/restart")
        tracker = stack.tracker(sender)
        assert not any(event["event"] == "restart" for event in tracker["events"])
        assert "restart" not in user_intents(tracker)
        assert tracker["slots"]["facts"] == COMPLAINT

    def test_inform_syntax_cannot_set_a_slot(self, stack: RunningStack) -> None:
        """/inform{"phone":"1","demand":"…"} is read as text: no intent forced, no slot set."""
        sender = new_sender()
        stack.say(sender, '/inform{"phone":"1","demand":"撤销处分"}')
        tracker = stack.tracker(sender)
        assert tracker["slots"]["phone"] is None
        assert tracker["slots"]["demand"] is None
        (user,) = [event for event in tracker["events"] if event["event"] == "user"]
        assert user["parse_data"]["entities"] == []
        assert user["text"].startswith("\uff0finform")


class TestWrongPhone:
    """A phone number with a wrong digit count."""

    def test_reason_twice_then_a_person_is_offered(self, stack: RunningStack) -> None:
        """Each wrong number gets the reason; the third failure offers a person, no more asking."""
        sender = new_sender()
        stack.say(sender, COMPLAINT)
        answers = {
            "place": "寒亭区固堤街道",
            "since": "上个月",
            "involved": "跳过",
            "demand": "恢复供水",
            "raised_before": "没有",
            "joint_count": "没有",
            "name": "李秀英",
            "category": "1",
        }
        for _ in range(10):
            requested = stack.tracker(sender)["slots"]["requested_slot"]
            if requested == "phone":
                break
            stack.say(sender, answers[requested])
        first = stack.say(sender, "1380013800")
        assert "10位" in str(first)
        second = stack.say(sender, "138001380001")
        assert "12位" in str(second)
        stack.say(sender, "123")
        tracker = stack.tracker(sender)
        said = uttered(tracker)
        assert said[-1] == "utter_phone_offer_handoff"
        assert said.count("utter_ask_phone") == 3
        assert tracker["slots"]["requested_slot"] is None
        assert "utter_petition_summary" not in said
        # Offered a person: accepting records the handoff.
        stack.say(sender, "/ask_human")
        assert uttered(stack.tracker(sender))[-1] == "utter_handoff"
        assert any(item["user_id"] == sender for item in stack.staff("/api/handoffs").body)


class TestStaffApi:
    """The staff API's bearer token."""

    def test_wrong_token_gets_401_and_nothing(self, stack: RunningStack) -> None:
        """A wrong token is refused and the body holds no case data."""
        reply = stack.staff("/api/cases?channel=rest&user_id=anyone", token=secrets.token_hex(8))
        assert reply.status == 401
        assert reply.body == {"detail": "missing or invalid bearer token"}
        assert stack.staff("/api/handoffs", token="").status == 401

    def test_health_is_open(self, stack: RunningStack) -> None:
        """/healthz answers without a token."""
        assert stack.request(f"{stack.cases_url}/healthz").body == {"status": "ok"}


class TestRestChannelBodies:
    """Malformed requests to the REST channel are refused cleanly."""

    def post_raw(self, stack: RunningStack, data: bytes) -> tuple[int, str]:
        """POSTs raw bytes; returns status and body text."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def test_malformed_json_is_400(self, stack: RunningStack) -> None:
        """Broken JSON gets 400 and no traceback."""
        status, body = self.post_raw(stack, b'{"sender": "x", "message": ')
        assert status == 400
        assert "Traceback" not in body

    def test_bad_sender_is_400(self, stack: RunningStack) -> None:
        """A sender id with a colon (trying another channel's namespace) is refused."""
        status, _ = self.post_raw(stack, b'{"sender": "wx:OPENID", "message": "hi"}')
        assert status == 400

    def test_oversized_body_is_413(self, stack: RunningStack) -> None:
        """A body over the cap is refused before parsing."""
        status, _ = self.post_raw(stack, b'{"sender": "x", "message": "' + b"a" * 140_000 + b'"}')
        assert status == 413
