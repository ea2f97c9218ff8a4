"""The WeChat channel over HTTP, against the WeChat API stand-in."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import MAX_BODY_BYTES
from connectors.fakes.wechat_api import CUSTOM_SEND, MEDIA_GET, FakeWeChatApi
from connectors.fakes.wechat_push import event_xml, message_xml, text_xml
from connectors.state import ChannelState
from connectors.wechat import WeChatInput
from connectors.wechat_protocol import WeChatConfig, parse_xml, signature
from tests.connectors.conftest import WECHAT_TOKEN, WeChatFactory, post
from tests.connectors.harness import ChannelServer, FakeAgent, domain

HOOK = "/webhooks/wechat/webhook"
OPENID = "oUser-0001"


def answers(*messages: dict[str, Any]) -> FakeAgent:
    """An agent that answers every message with `messages`."""
    return FakeAgent(answer=lambda _m: [dict(m) for m in messages])


def say(server: Any, wx: Any, inner: str) -> httpx.Response:
    """Pushes `inner` as WeChat would."""
    push = wx.push(inner)
    return post(server, HOOK, push.query, push.body)


class TestVerification:
    """URL verification (GET) and request authentication (POST)."""

    def test_echoes_echostr_for_a_valid_signature(self, wechat: WeChatFactory) -> None:
        """A correctly signed verification gets its echostr back, verbatim."""
        server, wx = wechat()
        reply = httpx.get(f"{server.url}{HOOK}", params=wx.verification("echo-1234"))
        assert reply.status_code == 200 and reply.text == "echo-1234"

    def test_refuses_verification_with_a_wrong_signature(self, wechat: WeChatFactory) -> None:
        """A forged verification is refused and echoes nothing."""
        server, wx = wechat()
        query = wx.verification("echo-1234") | {"signature": "0" * 40}
        reply = httpx.get(f"{server.url}{HOOK}", params=query)
        assert reply.status_code == 403 and "echo-1234" not in reply.text

    def test_refuses_a_wrong_msg_signature(self, wechat: WeChatFactory) -> None:
        """A safe-mode body whose msg_signature does not cover it is refused."""
        server, wx = wechat()
        push = wx.push(text_xml(OPENID, "你好"))
        push.query["msg_signature"] = "f" * 40
        assert post(server, HOOK, push.query, push.body).status_code == 403
        assert server.agent.received == []

    def test_refuses_a_stale_timestamp(self, wechat: WeChatFactory) -> None:
        """A correctly signed request from 10 minutes ago is refused (replay window)."""
        server, wx = wechat()
        wx.clock_skew = -600
        assert say(server, wx, text_xml(OPENID, "你好")).status_code == 403
        assert server.agent.received == []

    def test_refuses_a_timestamp_from_the_future(self, wechat: WeChatFactory) -> None:
        """Timestamps far ahead of our clock are refused too."""
        server, wx = wechat()
        wx.clock_skew = 600
        assert say(server, wx, text_xml(OPENID, "你好")).status_code == 403

    def test_plain_mode_works_in_the_local_profile(
        self, wechat: WeChatFactory, wechat_config: WeChatConfig
    ) -> None:
        """Plain (unencrypted) pushes with a valid signature are handled locally."""
        server, wx = wechat(config=replace(wechat_config, aes_key=None), safe=False)
        reply = say(server, wx, text_xml(OPENID, "你好"))
        assert wx.reply_text(reply.content) == "收到"

    def test_plain_mode_is_refused_in_production(
        self, wechat: WeChatFactory, wechat_config: WeChatConfig
    ) -> None:
        """In production a plain push is refused even with a valid signature."""
        server, wx = wechat(config=replace(wechat_config, production=True), safe=False)
        assert say(server, wx, text_xml(OPENID, "你好")).status_code == 403
        assert server.agent.received == []

    def test_plain_signature_is_checked(
        self, wechat: WeChatFactory, wechat_config: WeChatConfig
    ) -> None:
        """A plain push with a wrong signature is refused."""
        server, wx = wechat(config=replace(wechat_config, aes_key=None), safe=False)
        push = wx.push(text_xml(OPENID, "你好"))
        push.query["signature"] = "0" * 40
        assert post(server, HOOK, push.query, push.body).status_code == 403


class TestReplayAndRetries:
    """Each message is handled once, whatever WeChat or an attacker repeats."""

    def test_exact_replay_is_handled_once(self, wechat: WeChatFactory) -> None:
        """The same signed request twice: the second answers `success`, Rasa sees one."""
        server, wx = wechat()
        push = wx.push(text_xml(OPENID, "你好"))
        first = post(server, HOOK, push.query, push.body)
        second = post(server, HOOK, push.query, push.body)
        assert wx.reply_text(first.content) == "收到"
        assert second.status_code == 200 and second.text == "success"
        assert len(server.agent.received) == 1

    def test_wechat_retry_with_a_new_nonce_is_handled_once(self, wechat: WeChatFactory) -> None:
        """A retry re-signs the same MsgId: it is recognised by MsgId."""
        server, wx = wechat()
        inner = text_xml(OPENID, "你好")
        say(server, wx, inner)
        assert say(server, wx, inner).text == "success"
        assert len(server.agent.received) == 1

    def test_events_are_deduplicated_by_sender_and_create_time(self, wechat: WeChatFactory) -> None:
        """Events have no MsgId: FromUserName + CreateTime identify them."""
        server, wx = wechat()
        created = int(time.time())
        say(server, wx, event_xml(OPENID, "subscribe", create_time=created))
        say(server, wx, event_xml(OPENID, "subscribe", create_time=created))
        assert len(server.agent.received) == 1


class TestReplies:
    """Passive reply when ready in time; customer-service messages otherwise."""

    def test_passive_reply_carries_the_answer(self, wechat: WeChatFactory) -> None:
        """A quick answer comes back encrypted in the HTTP reply; sender is namespaced."""
        server, wx = wechat()
        reply = say(server, wx, text_xml(OPENID, "你好"))
        assert reply.headers["content-type"].startswith("application/xml")
        assert b"Encrypt" in reply.content and "收到".encode() not in reply.content
        assert wx.reply_text(reply.content) == "收到"
        message = server.agent.received[0]
        assert message.sender_id == f"wx:{OPENID}" and message.input_channel == "wechat"

    def test_slow_answer_goes_through_customer_service(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """An answer later than the budget: `success` now, the text via the API."""
        server, wx = wechat(agent=FakeAgent(delay=1.5))
        started = time.monotonic()
        reply = say(server, wx, text_xml(OPENID, "你好"))
        assert reply.text == "success" and time.monotonic() - started < 1.5
        fake_wechat.server.wait_for(CUSTOM_SEND)
        assert fake_wechat.custom_messages(OPENID) == [
            {"touser": OPENID, "msgtype": "text", "text": {"content": "收到"}}
        ]

    def test_first_message_passive_rest_customer_service(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """Three answers: one passive, two pushed, in order."""
        server, wx = wechat(agent=answers({"text": "一"}, {"text": "二"}, {"text": "三"}))
        assert wx.reply_text(say(server, wx, text_xml(OPENID, "你好")).content) == "一"
        fake_wechat.server.wait_for(CUSTOM_SEND, 2)
        texts = [m["text"]["content"] for m in fake_wechat.custom_messages(OPENID)]
        assert texts == ["二", "三"]

    def test_never_more_than_five_customer_service_messages(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """Nine answers: one passive, five pushed, the overflow joined, nothing lost."""
        texts = [{"text": f"第{i}条"} for i in range(1, 10)]
        server, wx = wechat(agent=answers(*texts))
        say(server, wx, text_xml(OPENID, "你好"))
        fake_wechat.server.wait_for(CUSTOM_SEND, 5)
        time.sleep(0.3)
        pushed = [m["text"]["content"] for m in fake_wechat.custom_messages(OPENID)]
        assert len(pushed) == 5
        assert pushed[-1] == "第6条\n\n第7条\n\n第8条\n\n第9条"

    def test_buttons_become_numbered_choices_and_a_number_picks(
        self, wechat: WeChatFactory
    ) -> None:
        """Buttons are listed by number; typing the number sends that button's payload."""
        summary = domain().responses["utter_petition_summary"][0]
        agent = answers({"text": "请核对", "buttons": summary["buttons"]})
        server, wx = wechat(agent=agent)
        shown = wx.reply_text(say(server, wx, text_xml(OPENID, "我要反映问题")).content)
        assert shown == "请核对\n请回复序号选择：\n1. 确认提交\n2. 重填"
        say(server, wx, text_xml(OPENID, "1"))
        assert agent.received[-1].text == "/affirm"

    def test_a_number_without_offered_choices_is_plain_text(self, wechat: WeChatFactory) -> None:
        """ "1" when no choices are offered reaches Rasa as "1"."""
        server, wx = wechat()
        say(server, wx, text_xml(OPENID, "1"))
        assert server.agent.received[-1].text == "1"


class TestNeutralising:
    """Typed slash syntax cannot set intents or slots."""

    def test_slash_text_is_neutralised(self, wechat: WeChatFactory) -> None:
        """`/affirm{"phone": ...}` arrives with a full-width solidus."""
        server, wx = wechat()
        say(server, wx, text_xml(OPENID, '/file_petition{"name": "x"}'))
        assert server.agent.received[-1].text == '／file_petition{"name": "x"}'

    def test_own_button_payload_passes(self, wechat: WeChatFactory) -> None:
        """A payload our domain offers as a button is let through."""
        server, wx = wechat()
        say(server, wx, text_xml(OPENID, "/affirm"))
        assert server.agent.received[-1].text == "/affirm"

    def test_long_text_is_cut_and_the_user_told(self, wechat: WeChatFactory) -> None:
        """Over 5000 characters: Rasa gets 5000, the reply starts with the notice."""
        server, wx = wechat()
        reply = say(server, wx, text_xml(OPENID, "长" * 6000))
        assert len(server.agent.received[-1].text) == 5000
        assert server.agent.received[-1].metadata["truncated"] is True
        assert "5000" in (wx.reply_text(reply.content) or "")


class TestMessageKinds:
    """Voice, image, location, link, unknown types."""

    def test_voice_uses_recognition(self, wechat: WeChatFactory) -> None:
        """WeChat's speech recognition text is what Rasa reads."""
        server, wx = wechat()
        say(
            server,
            wx,
            message_xml(
                OPENID, "voice", {"MediaId": "m1", "Format": "amr", "Recognition": "我要投诉噪音"}
            ),
        )
        assert server.agent.received[-1].text == "我要投诉噪音"

    def test_voice_without_recognition_asks_to_type(self, wechat: WeChatFactory) -> None:
        """No recognition: the user is asked to type; Rasa is not bothered."""
        server, wx = wechat()
        reply = say(server, wx, message_xml(OPENID, "voice", {"MediaId": "m1", "Format": "amr"}))
        expected = domain().responses["utter_channel_voice_unrecognised"][0]["text"]
        assert wx.reply_text(reply.content) == expected
        assert server.agent.received == []

    def test_image_is_downloaded_and_rides_with_the_next_text(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi, media_dir: Path
    ) -> None:
        """The image is fetched at once, kept by hash, and attached to the next message."""
        picture = b"\xff\xd8\xff\xe0fake-jpeg-bytes"
        fake_wechat.media["media-1"] = (picture, "image/jpeg")
        server, wx = wechat()
        reply = say(
            server,
            wx,
            message_xml(OPENID, "image", {"PicUrl": "http://x/p.jpg", "MediaId": "media-1"}),
        )
        expected = domain().responses["utter_channel_image_received"][0]["text"]
        assert wx.reply_text(reply.content) == expected
        assert len(fake_wechat.server.calls_to(MEDIA_GET)) == 1
        digest = hashlib.sha256(picture).hexdigest()
        assert (media_dir / f"{digest}.jpg").read_bytes() == picture
        say(server, wx, text_xml(OPENID, "这是现场照片"))
        (attachment,) = server.agent.received[-1].metadata["attachments"]
        assert attachment["kind"] == "image" and attachment["sha256"] == digest
        assert attachment["path"] == str(media_dir / f"{digest}.jpg")
        say(server, wx, text_xml(OPENID, "还有"))
        assert "attachments" not in server.agent.received[-1].metadata

    def test_image_download_failure_is_told(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """An expired media id: the user is asked to send it again."""
        server, wx = wechat()
        reply = say(server, wx, message_xml(OPENID, "image", {"MediaId": "gone"}))
        expected = domain().responses["utter_channel_media_failed"][0]["text"]
        assert wx.reply_text(reply.content) == expected

    def test_location_label_is_the_text(self, wechat: WeChatFactory) -> None:
        """The label fills the place; coordinates travel in the metadata."""
        server, wx = wechat()
        say(
            server,
            wx,
            message_xml(
                OPENID,
                "location",
                {
                    "Location_X": "39.9042",
                    "Location_Y": "116.4074",
                    "Scale": "15",
                    "Label": "北京市东城区东华门街道",
                },
            ),
        )
        message = server.agent.received[-1]
        assert message.text == "北京市东城区东华门街道"
        assert message.metadata["location"] == {
            "lat": 39.9042,
            "lon": 116.4074,
            "label": "北京市东城区东华门街道",
        }

    def test_link_is_read_as_text(self, wechat: WeChatFactory) -> None:
        """A shared link reaches Rasa as its title, description and URL."""
        server, wx = wechat()
        say(
            server,
            wx,
            message_xml(
                OPENID,
                "link",
                {"Title": "小区停车难", "Description": "新闻", "Url": "https://example.org/a"},
            ),
        )
        assert server.agent.received[-1].text == "小区停车难 新闻 https://example.org/a"

    def test_unknown_type_gets_a_polite_reply(self, wechat: WeChatFactory) -> None:
        """A video: polite reply, nothing for Rasa."""
        server, wx = wechat()
        reply = say(server, wx, message_xml(OPENID, "video", {"MediaId": "v1"}))
        expected = domain().responses["utter_channel_unsupported_message"][0]["text"]
        assert wx.reply_text(reply.content) == expected
        assert server.agent.received == []


class TestEvents:
    """subscribe, unsubscribe, SCAN, CLICK."""

    def test_subscribe_greets_with_the_scene(self, wechat: WeChatFactory) -> None:
        """Subscribing through a parametric QR code: greet, with the scene value."""
        server, wx = wechat()
        say(server, wx, event_xml(OPENID, "subscribe", "qrscene_letter-42"))
        message = server.agent.received[-1]
        assert message.text == "/greet"
        assert message.metadata == {"event": "subscribe", "scene": "letter-42"}

    def test_plain_subscribe_has_no_scene(self, wechat: WeChatFactory) -> None:
        """A subscribe without a QR code: greet, no scene."""
        server, wx = wechat()
        say(server, wx, event_xml(OPENID, "subscribe", ""))
        assert server.agent.received[-1].metadata == {"event": "subscribe"}

    def test_scan_carries_the_scene(self, wechat: WeChatFactory) -> None:
        """An existing follower scanning a parametric QR code."""
        server, wx = wechat()
        say(server, wx, event_xml(OPENID, "SCAN", "letter-43"))
        assert server.agent.received[-1].metadata == {"event": "scan", "scene": "letter-43"}

    def test_menu_click_sends_its_intent(self, wechat: WeChatFactory) -> None:
        """A menu item keyed by an intent name triggers that intent."""
        server, wx = wechat()
        say(server, wx, event_xml(OPENID, "CLICK", "ask_progress"))
        assert server.agent.received[-1].text == "/ask_progress"

    def test_unknown_menu_key_is_not_an_intent(self, wechat: WeChatFactory) -> None:
        """A key that is no intent gets the polite reply."""
        server, wx = wechat()
        say(server, wx, event_xml(OPENID, "CLICK", "set_slot_phone"))
        assert server.agent.received == []

    def test_unsubscribe_stops_pushing(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """After unsubscribe, proactive messages are not sent."""
        server, wx = wechat()
        assert say(server, wx, event_xml(OPENID, "unsubscribe")).text == "success"
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"wx:{OPENID}", {"text": "进展通知"}))
        assert fake_wechat.server.calls_to(CUSTOM_SEND) == []


class TestMalformedInput:
    """Bad bodies get 4xx, never a 500 or a traceback."""

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"not xml at all",
            b"<xml><Encrypt>",
            b"<other/>",
            b"<xml><Encrypt>!!!not-base64!!!</Encrypt></xml>",
            b"<xml><Encrypt>QUJDRA==</Encrypt></xml>",
            b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",
            "<xml><Encrypt>\udcff</Encrypt></xml>".encode("utf-8", "surrogatepass"),
        ],
    )
    def test_malformed_safe_mode_body(self, wechat: WeChatFactory, body: bytes) -> None:
        """Broken envelopes and ciphertexts (signed correctly) are answered 400."""
        server, wx = wechat()
        push = wx.push(text_xml(OPENID, "x"))
        try:
            encrypted = parse_xml(body).get("Encrypt", "")
        except ValueError:
            encrypted = ""
        q = push.query
        q["msg_signature"] = signature(WECHAT_TOKEN, q["timestamp"], q["nonce"], encrypted)
        reply = post(server, HOOK, q, body)
        assert reply.status_code in (400, 403)
        assert "Traceback" not in reply.text

    @pytest.mark.parametrize(
        "inner",
        [
            "<xml><FromUserName>o</FromUserName></xml>",
            "<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName></xml>",
            "<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName>"
            "<MsgType>text</MsgType><Content><b>x</b></Content></xml>",
        ],
    )
    def test_malformed_inner_message(self, wechat: WeChatFactory, inner: str) -> None:
        """A decrypted message without sender or type, or with nested fields: 400."""
        server, wx = wechat()
        assert say(server, wx, inner).status_code == 400
        assert server.agent.received == []

    def test_body_over_the_cap_is_refused_before_parsing(self, wechat: WeChatFactory) -> None:
        """A body over MAX_BODY_BYTES: 413."""
        server, wx = wechat()
        push = wx.push(text_xml(OPENID, "x"))
        reply = post(server, HOOK, push.query, b"<xml>" + b"a" * (MAX_BODY_BYTES + 1) + b"</xml>")
        assert reply.status_code == 413

    @pytest.mark.parametrize(
        "attack",
        [
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            "<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName>"
            "<MsgType>text</MsgType><Content>&xxe;</Content></xml>",
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>'
            "<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName>"
            "<MsgType>text</MsgType><Content>&lol3;</Content></xml>",
            '<!DOCTYPE x SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><A>1</A></xml>',
        ],
    )
    def test_doctype_and_entities_are_refused(
        self, wechat: WeChatFactory, wechat_config: WeChatConfig, attack: str
    ) -> None:
        """XXE and billion-laughs payloads, plain or inside the ciphertext: 400."""
        server, wx = wechat()
        assert say(server, wx, attack).status_code == 400
        plain_server, plain_wx = wechat(config=replace(wechat_config, aes_key=None), safe=False)
        assert say(plain_server, plain_wx, attack).status_code == 400
        assert server.agent.received == [] and plain_server.agent.received == []


class TestProactive:
    """trigger_intent(output_channel=wechat) reaches the user through the API."""

    def test_reaches_the_user_by_openid(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """`wx:OPENID` is addressed as OPENID through customer service."""
        server, wx = wechat()
        say(server, wx, text_xml(OPENID, "你好"))
        output = server.channel.get_output_channel()
        assert output is not None and output.name() == "wechat"
        server.run(output.send_response(f"wx:{OPENID}", {"text": "您的信访件已受理"}))
        assert fake_wechat.custom_messages(OPENID)[-1]["text"] == {"content": "您的信访件已受理"}

    def test_other_channels_senders_are_not_sent(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi
    ) -> None:
        """A `tg:` or `rest:` sender is never addressed through WeChat."""
        server, _wx = wechat()
        output = server.channel.get_output_channel()
        server.run(output.send_response("tg:12345", {"text": "x"}))
        assert fake_wechat.server.calls_to(CUSTOM_SEND) == []

    def test_outside_the_window_is_queued_then_delivered(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """Past 48 h: nothing pushed; delivered after the user's next message."""
        server, wx = wechat()
        state.touch_inbound("wechat", OPENID, now=time.time() - 49 * 3600)
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"wx:{OPENID}", {"text": "您的信访件已办结"}))
        assert fake_wechat.server.calls_to(CUSTOM_SEND) == []
        say(server, wx, text_xml(OPENID, "在吗"))
        fake_wechat.server.wait_for(CUSTOM_SEND)
        assert fake_wechat.custom_messages(OPENID)[-1]["text"] == {"content": "您的信访件已办结"}

    def test_outside_the_window_sends_the_configured_template(
        self,
        wechat: WeChatFactory,
        fake_wechat: FakeWeChatApi,
        state: ChannelState,
        wechat_config: WeChatConfig,
    ) -> None:
        """With a template configured, it notifies (≤ 20 characters) and the text waits."""
        server, _wx = wechat(config=replace(wechat_config, template_id="TPL-1"))
        state.touch_inbound("wechat", OPENID, now=time.time() - 49 * 3600)
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"wx:{OPENID}", {"text": "您的信访件已办结"}))
        (template,) = fake_wechat.templates()
        assert template["template_id"] == "TPL-1"
        assert len(template["data"]["thing1"]["value"]) <= 20
        assert len(state.take_pending("wechat", OPENID)) == 1

    def test_out_of_window_error_queues(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """WeChat's 45015 (window closed) keeps the message for later."""
        server, _wx = wechat()
        fake_wechat.fail(CUSTOM_SEND, 45015)
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"wx:{OPENID}", {"text": "通知"}))
        assert [p.message for p in state.take_pending("wechat", OPENID)] == [{"text": "通知"}]

    def test_unsubscribed_error_marks_the_user_inactive(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """WeChat's 43004: the user is not pushed to again."""
        server, _wx = wechat()
        fake_wechat.fail(CUSTOM_SEND, 43004)
        output = server.channel.get_output_channel()
        server.run(output.send_response(f"wx:{OPENID}", {"text": "通知"}))
        assert state.user("wechat", OPENID).active is False

    def test_at_most_five_pushes_per_user_message(
        self, wechat: WeChatFactory, fake_wechat: FakeWeChatApi, state: ChannelState
    ) -> None:
        """The sixth proactive message after one user message waits for the next."""
        server, wx = wechat(agent=answers())
        say(server, wx, text_xml(OPENID, "你好"))
        output = server.channel.get_output_channel()
        for number in range(6):
            server.run(output.send_response(f"wx:{OPENID}", {"text": f"通知{number}"}))
        assert len(fake_wechat.custom_messages(OPENID)) == 5
        assert [p.message for p in state.take_pending("wechat", OPENID)] == [{"text": "通知5"}]


class TestConfiguration:
    """Enabled from the environment; production refuses unsafe settings."""

    def test_disabled_without_settings_registers_no_route(
        self, wechat_config: WeChatConfig, state: ChannelState
    ) -> None:
        """No WECHAT_* variables: the channel starts and answers 404."""
        channel = WeChatInput.from_credentials({"token": "", "appid": "", "appsecret": ""})
        assert isinstance(channel, WeChatInput) and channel.config is None
        server = ChannelServer(channel, FakeAgent()).start()
        try:
            assert httpx.post(f"{server.url}{HOOK}", content=b"<xml/>").status_code == 404
            assert channel.get_output_channel() is None
        finally:
            server.stop()

    def test_credentials_win_over_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Values from credentials.yml are used; empty ones fall back to the environment."""
        monkeypatch.setenv("WECHAT_APPID", "wx-from-env")
        channel = WeChatInput.from_credentials(
            {"token": "t", "appid": "", "appsecret": "s", "aes_key": ""}
        )
        assert isinstance(channel, WeChatInput) and channel.config is not None
        assert channel.config.appid == "wx-from-env" and channel.config.aes_key is None
