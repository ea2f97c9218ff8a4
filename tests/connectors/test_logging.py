"""No message text, phone, ID number or token in the logs, even at DEBUG (canary values)."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from connectors import logs
from connectors.fakes.telegram_api import FakeTelegramApi
from connectors.fakes.wechat_api import CUSTOM_SEND, FakeWeChatApi
from connectors.fakes.wechat_push import message_xml, text_xml
from tests.connectors.conftest import (
    APPSECRET,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    WECHAT_TOKEN,
    TelegramFactory,
    WeChatFactory,
    post,
)
from tests.connectors.harness import FakeAgent

CANARY_TEXT = "金丝雀投诉内容QX7"
CANARY_PHONE = "13987654321"
CANARY_ID = "11010519491231002X"
CANARY_REPLY = "金丝雀回复内容ZZ9"
CANARY_NAME = "甄士隐"


def canaries() -> list[str]:
    """Every value that must never reach a log line."""
    return [
        CANARY_TEXT,
        CANARY_PHONE,
        CANARY_ID,
        CANARY_REPLY,
        CANARY_NAME,
        TELEGRAM_TOKEN,
        TELEGRAM_TOKEN.split(":")[1],
        TELEGRAM_SECRET,
        WECHAT_TOKEN,
        APPSECRET,
        "FAKE-ACCESS-TOKEN",
    ]


def replies(_message: object) -> list[dict[str, str]]:
    """Two answers, so that one goes passively and one through the API."""
    return [{"text": f"{CANARY_REPLY} {CANARY_NAME}"}, {"text": f"{CANARY_PHONE} {CANARY_ID}"}]


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything at DEBUG, with the channels' redaction installed as at start-up."""
    logs.install()
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    """No canary in any captured record (message or arguments)."""
    assert caplog.records, "expected some log records"
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    for canary in canaries():
        assert canary not in text, f"leaked: {canary}"


def test_wechat_logs_no_text_or_tokens(
    wechat: WeChatFactory, fake_wechat: FakeWeChatApi, debug_logs: pytest.LogCaptureFixture
) -> None:
    """A conversation with text, voice, location, a push and a slow reply stays clean."""
    server, wx = wechat(agent=FakeAgent(answer=replies))
    openid = "oCanary"
    content = f"{CANARY_TEXT} {CANARY_NAME} {CANARY_PHONE} {CANARY_ID}"
    for inner in (
        text_xml(openid, content),
        message_xml(openid, "voice", {"MediaId": "m", "Recognition": content}),
        message_xml(
            openid, "location", {"Location_X": "1", "Location_Y": "2", "Label": CANARY_TEXT}
        ),
        f"<xml><Content>{CANARY_TEXT}</Content></xml>",
    ):
        push = wx.push(inner)
        post(server, "/webhooks/wechat/webhook", push.query, push.body)
    fake_wechat.server.wait_for(CUSTOM_SEND, 2)
    time.sleep(0.2)
    assert_clean(debug_logs)


def test_telegram_logs_no_text_or_tokens(
    telegram: TelegramFactory,
    fake_telegram: FakeTelegramApi,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """Text in, text out through python-telegram-bot and httpx: no text, no bot token."""
    server = telegram(agent=FakeAgent(answer=replies))
    chat = {"id": 5, "type": "private"}
    body = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": chat,
            "text": f"{CANARY_TEXT} {CANARY_PHONE} {CANARY_ID}",
        },
    }
    httpx.post(
        f"{server.url}/webhooks/telegram/webhook",
        json=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    fake_telegram.wait_sent(2)
    time.sleep(0.1)
    assert_clean(debug_logs)


def test_redact_hides_tokens_in_urls() -> None:
    """Bot tokens, access tokens and secrets in URLs are replaced."""
    line = (
        "POST https://api.telegram.org/bot123:ABC/sendMessage "
        "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CR3T "
        "POST /cgi-bin/message/custom/send?access_token=TOK"
    )
    cleaned = logs.redact(line)
    assert "123:ABC" not in cleaned and "S3CR3T" not in cleaned and "=TOK" not in cleaned
