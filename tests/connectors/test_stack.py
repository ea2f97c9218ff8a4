"""Both channels inside the real Rasa server (`tools.stack`), against the API stand-ins:
a message in, an answer out, and `trigger_intent?output_channel=...` (the notifier's path)."""

from __future__ import annotations

import base64
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.fakes.telegram_api import FakeTelegramApi
from connectors.fakes.wechat_api import CUSTOM_SEND, FakeWeChatApi
from connectors.fakes.wechat_push import WeChatServers, text_xml
from connectors.wechat_protocol import WeChatConfig
from tests.connectors.conftest import (
    APPID,
    APPSECRET,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    WECHAT_TOKEN,
)
from tests.connectors.harness import domain
from tools.stack import ROOT, Stack, StackConfig, free_port

MODEL = ROOT / "models" / "petition.tar.gz"


@pytest.fixture(autouse=True, scope="module")
def _trained_model() -> None:
    """These tests need the trained model; `make test` trains it before they run."""
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it for you)")


class Running:
    """The stack and the stand-ins it talks to."""

    def __init__(
        self,
        stack: Stack,
        wechat: FakeWeChatApi,
        telegram: FakeTelegramApi,
        config: WeChatConfig,
        lines: list[str],
    ) -> None:
        self.stack = stack
        self.lines = lines
        self.wechat = wechat
        self.telegram = telegram
        self.wx = WeChatServers(config)
        self.url = stack.env["RASA_URL"]
        self.token = stack.env["RASA_TOKEN"]

    def trigger(self, sender: str, channel: str, intent: str = "greet") -> httpx.Response:
        """What the notifier does: trigger an intent with an output channel.

        The `:` of the namespaced id stays as it is: Rasa does not decode `%3A` in the path,
        so an encoded id would name another (empty) conversation.
        """
        return httpx.post(
            f"{self.url}/conversations/{urllib.parse.quote(sender, safe=':')}/trigger_intent",
            params={"output_channel": channel, "token": self.token},
            json={"name": intent},
            timeout=60,
        )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The real servers with both channels enabled, on free ports and a temporary database."""
    var = tmp_path_factory.mktemp("var")
    aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    with FakeWeChatApi(APPID, APPSECRET) as wechat, FakeTelegramApi(TELEGRAM_TOKEN) as telegram:
        env = dict(os.environ)
        for key in (
            "DATABASE_URL",
            "TRACKER_DIALECT",
            "TRACKER_DB",
            "CASES_API_TOKEN",
            "RASA_TOKEN",
            "BOT_PROFILE",
            "CHANNEL_STATE_URL",
        ):
            env.pop(key, None)
        env.update(
            {
                "WECHAT_TOKEN": WECHAT_TOKEN,
                "WECHAT_APPID": APPID,
                "WECHAT_APPSECRET": APPSECRET,
                "WECHAT_AES_KEY": aes_key,
                "WECHAT_API_BASE": wechat.base_url,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
                "TELEGRAM_API_BASE": telegram.base_url,
                "MEDIA_DIR": str(var / "media"),
            }
        )
        config = StackConfig(
            var_dir=Path(var),
            rasa_port=free_port(),
            action_port=free_port(),
            cases_port=free_port(),
            base_env=env,
        )
        lines: list[str] = []
        stack = Stack(config, sink=lines.append)
        stack.migrate()
        with stack:
            stack.wait_ready(timeout=240)
            yield Running(
                stack,
                wechat,
                telegram,
                WeChatConfig(token=WECHAT_TOKEN, appid=APPID, appsecret=APPSECRET, aes_key=aes_key),
                lines,
            )


def greeting() -> str:
    """The assistant's greeting, from the domain."""
    return str(domain().responses["utter_greet"][0]["text"])


def test_wechat_message_is_answered_passively(running: Running) -> None:
    """An encrypted "你好" gets the greeting back in the passive reply."""
    push = running.wx.push(text_xml("oStack1", "你好"))
    reply = httpx.post(
        f"{running.url}/webhooks/wechat/webhook", params=push.query, content=push.body, timeout=30
    )
    assert running.wx.reply_text(reply.content) == greeting()


def test_trigger_intent_reaches_the_wechat_user(running: Running) -> None:
    """`output_channel=wechat` for `wx:OPENID` → a customer-service message to OPENID."""
    assert running.trigger("wx:oStack2", "wechat").status_code == 200
    running.wechat.server.wait_for(CUSTOM_SEND)
    (message,) = running.wechat.custom_messages("oStack2")
    assert message["text"] == {"content": greeting()}


def test_telegram_message_is_answered(running: Running) -> None:
    """A private "你好" through the webhook → sendMessage with the greeting."""
    update = {
        "update_id": 9001,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": 777, "type": "private"},
            "text": "你好",
        },
    }
    reply = httpx.post(
        f"{running.url}/webhooks/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert reply.status_code == 200
    sent = running.telegram.wait_sent(1, timeout=30)
    assert [(m["chat_id"], m["text"]) for m in sent][:1] == [("777", greeting())]


def test_trigger_intent_reaches_the_telegram_chat(running: Running) -> None:
    """`output_channel=telegram` for `tg:CHAT_ID` → sendMessage to CHAT_ID."""
    before = len(running.telegram.sent)
    assert running.trigger("tg:778", "telegram").status_code == 200
    sent = running.telegram.wait_sent(before + 1, timeout=30)
    assert sent[-1]["chat_id"] == "778"
    assert sent[-1]["text"] == greeting()


def test_rasa_server_log_carries_no_text_phone_id_or_token(running: Running) -> None:
    """Canary text, phone and ID number through both channels: none in the Rasa log."""
    canary = "金丝雀QX7留言 13987654321 11010519491231002X"
    push = running.wx.push(text_xml("oStack3", canary))
    httpx.post(
        f"{running.url}/webhooks/wechat/webhook", params=push.query, content=push.body, timeout=30
    )
    update = {
        "update_id": 9002,
        "message": {
            "message_id": 2,
            "date": 1,
            "chat": {"id": 779, "type": "private"},
            "text": canary,
        },
    }
    before = len(running.telegram.sent)
    httpx.post(
        f"{running.url}/webhooks/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    running.telegram.wait_sent(before + 1, timeout=30)
    rasa_log = "\n".join(line for line in running.lines if line.startswith("rasa"))
    assert "WeChat channel enabled" in rasa_log
    for secret in (
        "金丝雀QX7",
        "13987654321",
        "11010519491231002X",
        TELEGRAM_TOKEN,
        TELEGRAM_TOKEN.split(":")[1],
        APPSECRET,
        WECHAT_TOKEN,
        "FAKE-ACCESS-TOKEN",
    ):
        assert secret not in rasa_log
