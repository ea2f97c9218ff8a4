"""The shared access_token and the protocol helpers, against the WeChat API stand-in."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.base import split_text
from connectors.fakes.wechat_api import CUSTOM_SEND, FakeWeChatApi
from connectors.state import ChannelState, state_url
from connectors.wechat_api import WeChatApi, WeChatApiError
from connectors.wechat_protocol import (
    ConfigError,
    WeChatConfig,
    signature,
    signature_ok,
    template_value,
    timestamp_ok,
)
from tests.connectors.conftest import APPID, APPSECRET


class TestAccessToken:
    """One token for all processes, refreshed once, with a timeout."""

    def test_concurrent_callers_in_two_processes_fetch_one_token(
        self, wechat_config: WeChatConfig, fake_wechat: FakeWeChatApi, tmp_path: Path
    ) -> None:
        """Two clients on one state database (two processes), 20 callers: one fetch."""
        fake_wechat.token_delay = 0.3
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        first, second = (
            WeChatApi(wechat_config, ChannelState(url)),
            WeChatApi(wechat_config, ChannelState(url)),
        )

        async def run() -> set[str]:
            tokens = await asyncio.gather(*(api.access_token() for api in [first, second] * 10))
            await first.close()
            await second.close()
            return set(tokens)

        assert asyncio.run(run()) == {"FAKE-ACCESS-TOKEN-1"}
        assert fake_wechat.tokens_issued == 1

    def test_rejected_token_is_refreshed_once_and_the_call_retried(
        self, wechat_config: WeChatConfig, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """WeChat invalidates the token early: one refresh, the message still goes."""
        api = WeChatApi(wechat_config, state)

        async def run() -> None:
            await api.send_text("oUser", "一")
            fake_wechat.expire_token()
            await api.send_text("oUser", "二")
            await api.close()

        asyncio.run(run())
        assert fake_wechat.tokens_issued == 2
        assert [m["text"]["content"] for m in fake_wechat.custom_messages()] == ["一", "二"]

    def test_a_wechat_error_is_raised_with_its_code(
        self, wechat_config: WeChatConfig, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """45047 (too many customer-service messages) surfaces as errcode 45047."""
        fake_wechat.fail(CUSTOM_SEND, 45047)
        api = WeChatApi(wechat_config, state)

        async def run() -> None:
            try:
                await api.send_text("oUser", "x")
            finally:
                await api.close()

        with pytest.raises(WeChatApiError) as raised:
            asyncio.run(run())
        assert raised.value.errcode == 45047

    def test_wrong_secret_fails_and_releases_the_lease(
        self, wechat_config: WeChatConfig, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """A refused refresh raises, and the next attempt may refresh again."""
        api = WeChatApi(replace(wechat_config, appsecret="wrong"), state)

        async def run() -> None:
            try:
                await api.access_token()
            finally:
                await api.close()

        with pytest.raises(WeChatApiError):
            asyncio.run(run())
        assert state.claim_refresh(f"wechat:{APPID}", 10.0)


class TestProtocol:
    """Signatures, timestamps, configuration."""

    def test_signature_known_answer(self) -> None:
        """SHA-1 of the sorted, concatenated token/timestamp/nonce (WeChat's example)."""
        expected = hashlib.sha1(b"1409304348tokenxxxxxx").hexdigest()
        assert signature("token", "1409304348", "xxxxxx") == expected

    def test_signature_check_rejects_near_misses(self) -> None:
        """A signature for other parts, empty, or None does not verify."""
        good = signature("t", "1", "n")
        assert signature_ok(good, "t", "1", "n")
        assert signature_ok(good.upper(), "t", "1", "n")
        assert not signature_ok(good, "t", "1", "m")
        assert not signature_ok("", "t", "1", "n") and not signature_ok(None, "t", "1", "n")

    @pytest.mark.parametrize("value", ["", "abc", "-5", "9" * 20, None])
    def test_timestamp_must_be_a_recent_number(self, value: str | None) -> None:
        """Garbage timestamps are outside the window."""
        assert not timestamp_ok(value)

    def test_production_refuses_plain_mode(self) -> None:
        """BOT_PROFILE=production with no WECHAT_AES_KEY does not start."""
        env = {
            "WECHAT_TOKEN": "t",
            "WECHAT_APPID": APPID,
            "WECHAT_APPSECRET": APPSECRET,
            "BOT_PROFILE": "production",
        }
        with pytest.raises(ConfigError):
            WeChatConfig.from_env(env)

    def test_production_refuses_an_empty_token(self) -> None:
        """Production with appid and secret but an empty token does not start."""
        env = {
            "WECHAT_TOKEN": "",
            "WECHAT_APPID": APPID,
            "WECHAT_APPSECRET": APPSECRET,
            "WECHAT_AES_KEY": "k" * 43,
            "BOT_PROFILE": "production",
        }
        with pytest.raises(ConfigError):
            WeChatConfig.from_env(env)

    def test_a_malformed_aes_key_is_refused(self) -> None:
        """An EncodingAESKey that is not 43 base64 characters does not start."""
        env = {
            "WECHAT_TOKEN": "t",
            "WECHAT_APPID": APPID,
            "WECHAT_APPSECRET": APPSECRET,
            "WECHAT_AES_KEY": "short",
        }
        with pytest.raises(ConfigError):
            WeChatConfig.from_env(env)

    def test_nothing_set_is_disabled(self) -> None:
        """No WECHAT_* variables: no configuration, no error (make run starts)."""
        assert WeChatConfig.from_env({}) is None
        assert WeChatConfig.from_env({"BOT_PROFILE": "production"}) is None

    def test_template_value_has_no_emoji_and_twenty_characters(self) -> None:
        """Template fields are cut to 20 characters with emoji removed."""
        assert template_value("✅您的信访件已办结😀请查看办理结果并参与满意度评价谢谢") == (
            "您的信访件已办结请查看办理结果并参与满意"
        )


class TestHelpers:
    """Text splitting and state location."""

    def test_split_keeps_everything_and_cuts_after_sentences(self) -> None:
        """Parts fit the limit, end at a sentence mark, and join back to the text."""
        text = "第一句话。第二句话！第三句话？" * 10
        parts = split_text(text, 40)
        assert all(len(p) <= 40 for p in parts) and "".join(parts) == text
        assert all(p[-1] in "。！？" for p in parts)

    def test_split_without_sentence_marks_still_fits(self) -> None:
        """A run-on text is cut hard at the limit."""
        assert split_text("字" * 100, 30) == ["字" * 30] * 3 + ["字" * 10]

    def test_state_lives_next_to_a_sqlite_tracker(self) -> None:
        """SQLite tracker: channels.db beside it; a server tracker: the same database."""
        assert state_url({"TRACKER_DIALECT": "sqlite", "TRACKER_DB": "/v/tracker.db"}) == (
            "sqlite:////v/channels.db"
        )
        assert (
            state_url({"TRACKER_DIALECT": "postgresql", "TRACKER_DB": "rasa", "TRACKER_HOST": "db"})
            == "postgresql://db/rasa"
        )
