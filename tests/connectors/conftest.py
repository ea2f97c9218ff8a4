"""Fixtures of the channel tests: fake platform APIs, channel servers, shared state."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from connectors.fakes.telegram_api import FakeTelegramApi
from connectors.fakes.wechat_api import FakeWeChatApi
from connectors.fakes.wechat_push import WeChatServers
from connectors.state import ChannelState
from connectors.telegram import TelegramConfig, TelegramInput
from connectors.wechat import WeChatInput
from connectors.wechat_protocol import WeChatConfig
from tests.connectors.harness import ChannelServer, FakeAgent

APPID = "wx0123456789abcdef"
APPSECRET = "fake-app-secret-0123456789"
WECHAT_TOKEN = "fake-wechat-token"


@pytest.fixture(autouse=True)
def media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Downloaded media go to a temporary directory."""
    directory = tmp_path / "media"
    monkeypatch.setenv("MEDIA_DIR", str(directory))
    monkeypatch.delenv("BOT_PROFILE", raising=False)
    return directory


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ChannelState]:
    """Channel state in a temporary SQLite file."""
    store = ChannelState(f"sqlite:///{tmp_path / 'channels.db'}")
    yield store
    store.dispose()


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChatApi]:
    """The WeChat API stand-in."""
    with FakeWeChatApi(APPID, APPSECRET) as fake:
        yield fake


def aes_key() -> str:
    """A fresh 43-character EncodingAESKey."""
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


@pytest.fixture
def wechat_config(fake_wechat: FakeWeChatApi) -> WeChatConfig:
    """Safe mode, API at the stand-in, a short reply budget."""
    return WeChatConfig(
        token=WECHAT_TOKEN,
        appid=APPID,
        appsecret=APPSECRET,
        aes_key=aes_key(),
        api_base=fake_wechat.base_url,
        reply_budget=1.0,
    )


WeChatFactory = Callable[..., tuple[ChannelServer, WeChatServers]]


@pytest.fixture
def wechat(wechat_config: WeChatConfig, state: ChannelState) -> Iterator[WeChatFactory]:
    """Starts the WeChat channel with a fake agent: `wechat(agent=..., config=...)`."""
    servers: list[ChannelServer] = []

    def start(
        agent: FakeAgent | None = None, config: WeChatConfig | None = None, safe: bool = True
    ) -> tuple[ChannelServer, WeChatServers]:
        chosen = config or wechat_config
        server = ChannelServer(WeChatInput(chosen, state), agent or FakeAgent()).start()
        servers.append(server)
        return server, WeChatServers(chosen, safe=safe)

    yield start
    for server in servers:
        server.stop()


def post(server: ChannelServer, path: str, query: dict[str, str], body: bytes) -> httpx.Response:
    """A POST to the channel server."""
    return httpx.post(f"{server.url}{path}", params=query, content=body, timeout=15)


TELEGRAM_TOKEN = "123456:FAKE-telegram-bot-token"
TELEGRAM_SECRET = "fake-secret-header-value"


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramApi]:
    """The Bot API stand-in."""
    with FakeTelegramApi(TELEGRAM_TOKEN) as fake:
        yield fake


TelegramFactory = Callable[..., ChannelServer]


@pytest.fixture
def telegram(fake_telegram: FakeTelegramApi, state: ChannelState) -> Iterator[TelegramFactory]:
    """Starts the Telegram channel with a fake agent: `telegram(agent=...)`."""
    servers: list[ChannelServer] = []

    def start(agent: FakeAgent | None = None, username: str | None = None) -> ChannelServer:
        config = TelegramConfig(
            bot_token=TELEGRAM_TOKEN,
            secret_token=TELEGRAM_SECRET,
            api_base=fake_telegram.base_url,
            bot_username=username,
        )
        server = ChannelServer(TelegramInput(config, state), agent or FakeAgent()).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
