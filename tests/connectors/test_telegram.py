"""The Telegram channel over HTTP, against the Bot API stand-in."""

from __future__ import annotations

import hashlib
import itertools
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import telegram_webhook
from connectors.base import MAX_BODY_BYTES
from connectors.fakes.telegram_api import BLOCKED, FakeTelegramApi
from connectors.state import ChannelState
from connectors.telegram import (
    MAX_TEXT_CHARS,
    ConfigError,
    TelegramConfig,
    TelegramInput,
    callback_data,
)
from tests.connectors.conftest import TELEGRAM_SECRET, TELEGRAM_TOKEN, TelegramFactory
from tests.connectors.harness import ChannelServer, FakeAgent, domain

HOOK = "/webhooks/telegram/webhook"
CHAT = 424242
_ids = itertools.count(1000)


def user() -> dict[str, Any]:
    """The petitioner as Telegram describes them."""
    return {"id": CHAT, "is_bot": False, "first_name": "测试"}


def message(chat_type: str = "private", chat_id: int = CHAT, **fields: Any) -> dict[str, Any]:
    """A Message object."""
    chat = {"id": chat_id, "type": chat_type}
    return {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": user(),
        **fields,
    }


def update(**fields: Any) -> dict[str, Any]:
    """An Update with a fresh update_id."""
    return {"update_id": next(_ids), **fields}


def send(
    server: ChannelServer, body: Any, secret: str | None = TELEGRAM_SECRET, raw: bytes | None = None
) -> httpx.Response:
    """POSTs an update as Telegram would."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    if raw is not None:
        return httpx.post(f"{server.url}{HOOK}", content=raw, headers=headers, timeout=15)
    return httpx.post(f"{server.url}{HOOK}", json=body, headers=headers, timeout=15)


def wait_received(agent: FakeAgent, count: int = 1, timeout: float = 5.0) -> None:
    """Blocks until the agent got `count` messages (handling is in the background)."""
    deadline = time.monotonic() + timeout
    while len(agent.received) < count and time.monotonic() < deadline:
        time.sleep(0.02)


class TestWebhookSecurity:
    """Only Telegram (knowing the secret) gets in; bad bodies get 4xx, never 500."""

    @pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
    def test_wrong_or_missing_secret_is_403(
        self, telegram: TelegramFactory, secret: str | None
    ) -> None:
        """Without the right X-Telegram-Bot-Api-Secret-Token: 403, nothing handled."""
        server = telegram()
        reply = send(server, update(message=message(text="你好")), secret=secret)
        assert reply.status_code == 403
        time.sleep(0.1)
        assert server.agent.received == []

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"not json",
            b"[1, 2]",
            b'{"no_update_id": 1}',
            b'{"update_id": "7"}',
            b'{"update_id": true}',
            b'{"update_id": 5, "message": "text"}',
            b'{"update_id": 6, "message": {"chat": 3}}',
            b"\xff\xfe",
        ],
    )
    def test_malformed_body_is_400(self, telegram: TelegramFactory, raw: bytes) -> None:
        """Not an update: 400 with a JSON error, no traceback."""
        server = telegram()
        reply = send(server, None, raw=raw)
        assert reply.status_code == 400
        assert "Traceback" not in reply.text

    def test_body_over_the_cap_is_413(self, telegram: TelegramFactory) -> None:
        """More than MAX_BODY_BYTES: refused before parsing."""
        server = telegram()
        assert (
            send(
                server, None, raw=b'{"update_id": 1, "x": "' + b"a" * MAX_BODY_BYTES + b'"}'
            ).status_code
            == 413
        )

    def test_duplicate_update_id_is_handled_once(self, telegram: TelegramFactory) -> None:
        """Telegram redelivers an update: Rasa sees it once."""
        server = telegram()
        body = update(message=message(text="你好"))
        assert send(server, body).status_code == 200
        assert send(server, body).status_code == 200
        wait_received(server.agent)
        time.sleep(0.2)
        assert len(server.agent.received) == 1


class TestUpdatesWithoutMessage:
    """Edited messages, channel posts, inline callbacks, membership changes."""

    @pytest.mark.parametrize(
        "fields",
        [
            {"edited_message": {**message(text="改过的"), "edit_date": 1}},
            {"channel_post": message(chat_type="channel", chat_id=-100, text="公告")},
            {
                "callback_query": {
                    "id": "cb1",
                    "from": user(),
                    "chat_instance": "x",
                    "inline_message_id": "im1",
                    "data": "b:0",
                }
            },
            {
                "poll": {
                    "id": "p",
                    "question": "q",
                    "options": [],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                }
            },
        ],
    )
    def test_acknowledged_and_ignored(
        self, telegram: TelegramFactory, fields: dict[str, Any]
    ) -> None:
        """200, and nothing reaches Rasa."""
        server = telegram()
        assert send(server, update(**fields)).status_code == 200
        time.sleep(0.2)
        assert server.agent.received == []

    def test_blocked_bot_marks_the_chat_inactive(
        self, telegram: TelegramFactory, state: ChannelState, fake_telegram: FakeTelegramApi
    ) -> None:
        """A `kicked` my_chat_member update: no more pushes to that chat."""
        server = telegram()
        member = {
            "chat": {"id": CHAT, "type": "private"},
            "from": user(),
            "date": 1,
            "old_chat_member": {"user": user(), "status": "member"},
            "new_chat_member": {"user": user(), "status": "kicked", "until_date": 0},
        }
        assert send(server, update(my_chat_member=member)).status_code == 200
        time.sleep(0.2)
        assert state.user("telegram", str(CHAT)).active is False
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"tg:{CHAT}", {"text": "通知"}))
        assert fake_telegram.sent == []


class TestMessages:
    """Private text, deep links, contacts, photos, locations, groups."""

    def test_text_reaches_rasa_namespaced_and_the_answer_is_sent(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """`tg:CHAT_ID`, and the answer through sendMessage to that chat."""
        server = telegram()
        send(server, update(message=message(text="你好")))
        (sent,) = fake_telegram.wait_sent(1)
        assert sent["chat_id"] == str(CHAT) and sent["text"] == "收到"
        assert server.agent.received[0].sender_id == f"tg:{CHAT}"
        assert server.agent.received[0].input_channel == "telegram"

    def test_slash_text_is_neutralised(self, telegram: TelegramFactory) -> None:
        """A typed `/intent{...}` cannot set intents or slots."""
        server = telegram()
        send(server, update(message=message(text='/inform{"phone": "1"}')))
        wait_received(server.agent)
        assert server.agent.received[0].text == '／inform{"phone": "1"}'

    def test_start_with_payload_is_a_deep_link(self, telegram: TelegramFactory) -> None:
        """`/start PAYLOAD` greets and carries the payload as the scene."""
        server = telegram()
        send(server, update(message=message(text="/start letter-42")))
        wait_received(server.agent)
        received = server.agent.received[0]
        assert received.text == "/greet"
        assert received.metadata == {"event": "start", "scene": "letter-42"}

    def test_group_gets_an_invitation_to_a_private_chat(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """No petition in a group: one invitation (per hour), nothing to Rasa."""
        server = telegram(username="petition_bot")
        for _ in range(2):
            send(server, update(message=message(chat_type="group", chat_id=-77, text="投诉")))
        (sent,) = fake_telegram.wait_sent(1)
        time.sleep(0.2)
        assert sent["text"] == domain().responses["utter_channel_private_only"][0]["text"]
        assert sent["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://t.me/petition_bot"
        assert server.agent.received == [] and len(fake_telegram.sent) == 1

    def test_shared_contact_fills_the_phone(self, telegram: TelegramFactory) -> None:
        """The shared phone number is the text; whether it is the user's own is noted."""
        server = telegram()
        contact = {"phone_number": "+86 138-1234-5678", "first_name": "测试", "user_id": CHAT}
        send(server, update(message=message(contact=contact)))
        wait_received(server.agent)
        received = server.agent.received[0]
        assert received.text == "+8613812345678"
        assert received.metadata == {"contact": {"own": True}}

    def test_asking_the_phone_offers_the_share_button(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """`utter_ask_phone` comes with a request_contact keyboard button."""
        ask = {"text": "请留下您的手机号码", "utter_action": "utter_ask_phone"}
        server = telegram(agent=FakeAgent(answer=lambda _m: [ask]))
        send(server, update(message=message(text="张三")))
        (sent,) = fake_telegram.wait_sent(1)
        (button,) = sent["reply_markup"]["keyboard"][0]
        assert button["request_contact"] is True
        assert button["text"] == domain().responses["utter_channel_share_phone"][0]["text"]

    def test_photo_is_downloaded_and_rides_with_the_next_text(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi, media_dir: Path
    ) -> None:
        """The largest size is fetched at once and attached to the next message."""
        picture = b"\xff\xd8\xff\xe0telegram-photo"
        fake_telegram.files["big"] = picture
        server = telegram()
        photo = [
            {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
            {
                "file_id": "big",
                "file_unique_id": "b",
                "width": 800,
                "height": 800,
                "file_size": len(picture),
            },
        ]
        send(server, update(message=message(photo=photo)))
        (sent,) = fake_telegram.wait_sent(1)
        assert sent["text"] == domain().responses["utter_channel_image_received"][0]["text"]
        digest = hashlib.sha256(picture).hexdigest()
        assert (media_dir / f"{digest}.jpg").read_bytes() == picture
        send(server, update(message=message(text="现场照片")))
        wait_received(server.agent)
        (attachment,) = server.agent.received[0].metadata["attachments"]
        assert attachment["sha256"] == digest and attachment["kind"] == "image"

    def test_location_fills_the_place(self, telegram: TelegramFactory) -> None:
        """A venue's title and address are the text; coordinates in the metadata."""
        server = telegram()
        location = {"latitude": 31.2304, "longitude": 121.4737}
        venue = {"location": location, "title": "人民广场", "address": "上海市黄浦区"}
        send(server, update(message=message(location=location, venue=venue)))
        wait_received(server.agent)
        received = server.agent.received[0]
        assert received.text == "人民广场 上海市黄浦区"
        assert received.metadata["location"] == {
            "lat": 31.2304,
            "lon": 121.4737,
            "label": "人民广场 上海市黄浦区",
        }

    def test_sticker_gets_a_polite_reply(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """An unsupported kind: polite reply, nothing to Rasa."""
        server = telegram()
        sticker = {
            "file_id": "st",
            "file_unique_id": "st",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        send(server, update(message=message(sticker=sticker)))
        (sent,) = fake_telegram.wait_sent(1)
        assert sent["text"] == domain().responses["utter_channel_unsupported_message"][0]["text"]
        assert server.agent.received == []


class TestButtons:
    """Inline keyboards with opaque callback data, answered callback queries."""

    def test_buttons_become_an_inline_keyboard_and_a_tap_sends_the_payload(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """Callback data is a short opaque id; tapping it sends the domain's payload."""
        buttons = domain().responses["utter_petition_summary"][0]["buttons"]
        agent = FakeAgent(answer=lambda _m: [{"text": "请核对", "buttons": buttons}])
        server = telegram(agent=agent)
        send(server, update(message=message(text="我要反映")))
        (sent,) = fake_telegram.wait_sent(1)
        keyboard = sent["reply_markup"]["inline_keyboard"]
        data = [row[0]["callback_data"] for row in keyboard]
        assert all(len(d.encode()) <= 64 and "/" not in d for d in data)
        query = {
            "id": "cb-1",
            "from": user(),
            "chat_instance": "ci",
            "data": data[0],
            "message": message(text="请核对"),
        }
        send(server, update(callback_query=query))
        wait_received(agent, 2)
        assert agent.received[-1].text == "/affirm"
        assert fake_telegram.calls("answerCallbackQuery")[0]["callback_query_id"] == "cb-1"

    def test_forged_callback_data_is_answered_and_dropped(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """Data that is not one of our ids sets nothing."""
        server = telegram()
        query = {
            "id": "cb-2",
            "from": user(),
            "chat_instance": "ci",
            "data": callback_data('/inform{"phone":"1"}'),
            "message": message(text="x"),
        }
        send(server, update(callback_query=query))
        fake_telegram.server.wait_for("/answerCallbackQuery")
        time.sleep(0.1)
        assert server.agent.received == []


class TestSending:
    """Pacing, 429, long texts, blocked chats, proactive messages."""

    def test_long_text_is_split_on_a_sentence_boundary(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """5000 characters in sentences: parts ≤ 4096, each ending a sentence."""
        text = "这是一句完整的话。" * 556
        server = telegram()
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"tg:{CHAT}", {"text": text}))
        parts = [m["text"] for m in fake_telegram.sent]
        assert len(parts) == 2 and all(len(p) <= MAX_TEXT_CHARS for p in parts)
        assert parts[0].endswith("。") and "".join(parts) == text

    def test_messages_to_one_chat_are_paced(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """Three messages to one chat take about two seconds."""
        server = telegram()
        output = server.channel.get_output_channel()
        for number in range(3):
            server.run(output.send_response(f"tg:{CHAT}", {"text": f"第{number}条"}))
        gaps = [b - a for a, b in itertools.pairwise(fake_telegram.sent_at)]
        assert len(gaps) == 2 and all(gap >= 0.95 for gap in gaps)

    def test_429_waits_retry_after_then_sends(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """Flood control: wait `retry_after` seconds, then the message goes."""
        fake_telegram.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        server = telegram()
        output = server.channel.get_output_channel()
        started = time.monotonic()
        server.run(output.send_response(f"tg:{CHAT}", {"text": "通知"}))
        assert time.monotonic() - started >= 1.0
        assert [m["text"] for m in fake_telegram.sent] == ["通知"]

    def test_blocked_by_the_user_marks_the_chat_inactive(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi, state: ChannelState
    ) -> None:
        """403 "bot was blocked by the user": inactive, no further attempts."""
        fake_telegram.fail("sendMessage", *BLOCKED)
        server = telegram()
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"tg:{CHAT}", {"text": "通知"}))
        server.run(output.send_response(f"tg:{CHAT}", {"text": "通知2"}))
        assert state.user("telegram", str(CHAT)).active is False
        assert len(fake_telegram.calls("sendMessage")) == 1

    def test_proactive_message_reaches_the_chat(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """trigger_intent(output_channel=telegram) → sendMessage to CHAT_ID."""
        server = telegram()
        output = server.channel.get_output_channel()
        assert output is not None and output.name() == "telegram"
        server.run(output.send_response(f"tg:{CHAT}", {"text": "您的信访件已受理"}))
        server.run(output.send_response(f"wx:{CHAT}", {"text": "不是这个渠道"}))
        assert [m["text"] for m in fake_telegram.sent] == ["您的信访件已受理"]


class TestConfiguration:
    """Enabled from the environment; the webhook is never set at start-up."""

    def test_disabled_without_a_token(self) -> None:
        """No TELEGRAM_BOT_TOKEN: no route (404), no output channel."""
        channel = TelegramInput.from_credentials({"bot_token": "", "secret_token": ""})
        server = ChannelServer(channel, FakeAgent()).start()
        try:
            assert httpx.post(f"{server.url}{HOOK}", json={}).status_code == 404
            assert channel.get_output_channel() is None
        finally:
            server.stop()

    def test_a_token_without_a_secret_refuses_to_start(self) -> None:
        """The secret header is what authenticates Telegram: it is required."""
        with pytest.raises(ConfigError):
            TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_SECRET_TOKEN": ""})

    def test_start_up_calls_nothing(
        self, telegram: TelegramFactory, fake_telegram: FakeTelegramApi
    ) -> None:
        """No getMe, no setWebhook at start-up (unlike Rasa's own channel)."""
        telegram()
        assert fake_telegram.server.calls == []


class TestWebhookCommand:
    """`make telegram-webhook URL=...` registers the webhook with its secret."""

    def test_registers_url_secret_and_update_kinds(
        self, fake_telegram: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """setWebhook gets the URL, the secret token and the update kinds we read."""
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
        monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET)
        monkeypatch.setenv("TELEGRAM_API_BASE", fake_telegram.base_url)
        assert telegram_webhook.main(["https://bot.example.org/webhooks/telegram/webhook"]) == 0
        (call,) = fake_telegram.calls("setWebhook")
        assert call["url"] == "https://bot.example.org/webhooks/telegram/webhook"
        assert call["secret_token"] == TELEGRAM_SECRET
        assert call["allowed_updates"] == ["message", "callback_query", "my_chat_member"]

    def test_refuses_without_a_secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No secret token: nothing is registered (exit status 2)."""
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
        monkeypatch.delenv("TELEGRAM_SECRET_TOKEN", raising=False)
        assert telegram_webhook.main(["https://bot.example.org/hook"]) == 2
