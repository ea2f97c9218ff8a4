"""Progress pushed back to the petitioner's chat: staff event → outbox → notifier → Rasa."""

from __future__ import annotations

import time

from tests.e2e.conftest import RunningStack, uttered
from tests.e2e.test_conversation import file_petition, new_sender


def wait_for_utterance(stack: RunningStack, sender: str, name: str, timeout: float = 30) -> None:
    """Waits until the bot has said `name` in the conversation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if name in uttered(stack.tracker(sender)):
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} not said within {timeout}s: {uttered(stack.tracker(sender))}")


class TestFollowUp:
    """Staff events reach the petitioner through the channel they used."""

    def test_accepted_and_replied_reach_the_conversation(self, stack: RunningStack) -> None:
        """Accepting and replying to a case puts both messages into the petitioner's chat."""
        sender = new_sender()
        reference = file_petition(stack, sender)
        events = f"{stack.cases_url}/api/cases/{reference}/events"
        headers = {"Authorization": f"Bearer {stack.env['CASES_API_TOKEN']}"}
        assert stack.request(events, body={"type": "accepted"}, headers=headers).status == 201
        wait_for_utterance(stack, sender, "utter_case_update_accepted")
        reply = {"type": "replied", "text": "供水管道已于本周修复。"}
        assert stack.request(events, body=reply, headers=headers).status == 201
        wait_for_utterance(stack, sender, "utter_case_update_replied")
        bot_texts = [e.get("text") for e in stack.tracker(sender)["events"] if e["event"] == "bot"]
        assert any(
            "供水管道已于本周修复" in str(text) and reference in str(text) for text in bot_texts
        )

    def test_refused_transition_pushes_nothing(self, stack: RunningStack) -> None:
        """A reply before acceptance is refused (409) and nothing is sent."""
        sender = new_sender()
        reference = file_petition(stack, sender)
        events = f"{stack.cases_url}/api/cases/{reference}/events"
        headers = {"Authorization": f"Bearer {stack.env['CASES_API_TOKEN']}"}
        closed = stack.request(events, body={"type": "closed"}, headers=headers)
        assert closed.status == 409
        time.sleep(3)
        assert not any(
            name.startswith("utter_case_update") for name in uttered(stack.tracker(sender))
        )
