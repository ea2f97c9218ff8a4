"""What WeChat's servers send to the webhook: signed, optionally encrypted XML pushes.

Used by the tests, the simulator (`make wechat-chat`) and the benchmark to speak the real
protocol to the channel, and to read its passive replies.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field

from connectors.wechat_protocol import (
    WeChatConfig,
    cdata,
    decrypt,
    encrypt,
    parse_xml,
    signature,
)

ACCOUNT = "gh_petition_bureau"
_msg_ids = itertools.count(int(time.time() * 1000))


def message_xml(
    openid: str,
    msg_type: str,
    fields: dict[str, str],
    *,
    with_msg_id: bool = True,
    create_time: int | None = None,
    account: str = ACCOUNT,
) -> str:
    """The inner XML of a push from `openid` of `msg_type` with extra `fields`."""
    parts = [
        f"<ToUserName>{cdata(account)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    parts += [f"<{key}>{cdata(value)}</{key}>" for key, value in fields.items()]
    if with_msg_id:
        parts.append(f"<MsgId>{next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(openid: str, content: str) -> str:
    """A text message."""
    return message_xml(openid, "text", {"Content": content})


def event_xml(
    openid: str, event: str, key: str | None = None, *, create_time: int | None = None
) -> str:
    """An event (subscribe, unsubscribe, SCAN, CLICK); events carry no MsgId."""
    fields = {"Event": event}
    if key is not None:
        fields["EventKey"] = key
    return message_xml(openid, "event", fields, with_msg_id=False, create_time=create_time)


@dataclass
class Push:
    """A ready POST: its query string and body."""

    query: dict[str, str]
    body: bytes


@dataclass
class WeChatServers:
    """Signs (and in safe mode encrypts) pushes as WeChat does, and reads the replies."""

    config: WeChatConfig
    safe: bool = True
    clock_skew: float = 0.0
    nonces: set[str] = field(default_factory=set)

    def push(
        self,
        inner_xml: str,
        *,
        openid: str = "",
        timestamp: str | None = None,
        nonce: str | None = None,
    ) -> Push:
        """The signed POST carrying `inner_xml`."""
        timestamp = timestamp or str(int(time.time() + self.clock_skew))
        nonce = nonce or secrets.token_hex(5)
        query = {
            "signature": signature(self.config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        if openid:
            query["openid"] = openid
        if not self.safe:
            return Push(query, inner_xml.encode())
        envelope = encrypt(self.config, inner_xml, nonce=nonce, timestamp=timestamp)
        fields = parse_xml(envelope)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = signature(self.config.token, timestamp, nonce, fields["Encrypt"])
        return Push(
            query,
            f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
            f"<Encrypt>{cdata(fields['Encrypt'])}</Encrypt></xml>".encode(),
        )

    def verification(self, echostr: str) -> dict[str, str]:
        """The query of WeChat's URL verification GET."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        return {
            "signature": signature(self.config.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }

    def reply_text(self, body: bytes) -> str | None:
        """The Content of a passive reply (None for `success` or an empty body)."""
        if body.strip() in (b"", b"success"):
            return None
        fields = parse_xml(body)
        if "Encrypt" in fields:
            expected = signature(
                self.config.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
            )
            if fields.get("MsgSignature") != expected:
                raise ValueError("reply signature does not verify")
            fields = parse_xml(decrypt(self.config, fields["Encrypt"]))
        return fields.get("Content")
