"""The WeChat official-account server protocol: configuration, signatures, XML, AES.

No I/O here: the channel (`connectors.wechat`) and the simulator build on these functions.
wechatpy supplies the AES-CBC envelope (its known-answer-tested PrpCrypto); signatures are
computed and compared here, in constant time, and the XML is parsed here with DOCTYPE and
entity declarations refused before expat sees them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

import xmltodict  # type: ignore[import-untyped]
from wechatpy.crypto import PrpCrypto  # type: ignore[import-untyped]
from wechatpy.exceptions import InvalidAppIdException  # type: ignore[import-untyped]

from connectors.base import Profile, current_profile

PREFIX = "wx"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
# A passive reply must reach WeChat within 5 s; answer passively only if ready by then.
DEFAULT_REPLY_BUDGET_SECONDS = 4.0
# Requests whose timestamp is further than this from our clock are refused.
TIMESTAMP_WINDOW_SECONDS = 300
# Customer-service messages per user message, and how long after it they may be sent.
MAX_CUSTOM_MESSAGES = 5
CUSTOM_WINDOW_SECONDS = 48 * 3600
# Text messages (passive and customer-service) are cut at this many UTF-8 bytes.
MAX_TEXT_BYTES = 2048
TEMPLATE_FIELD_CHARS = 20
_FORBIDDEN_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")


class ConfigError(ValueError):
    """The WeChat channel is configured in a way that must not run."""


class MalformedBody(ValueError):
    """A request body that is not a well-formed WeChat message."""


class ForbiddenXml(MalformedBody):
    """XML with a DOCTYPE or an entity declaration (XXE, billion laughs)."""


class Mode(Enum):
    """How message bodies travel: plain XML, or AES-encrypted ("safe mode")."""

    PLAIN = "plain"
    SAFE = "safe"


@dataclass(frozen=True, kw_only=True)
class WeChatConfig:
    """The official account's settings, read from the environment."""

    token: str = field(repr=False)
    appid: str
    appsecret: str = field(repr=False)
    aes_key: str | None = field(default=None, repr=False)
    api_base: str = DEFAULT_API_BASE
    production: bool = False
    reply_budget: float = DEFAULT_REPLY_BUDGET_SECONDS
    template_id: str | None = None
    template_field: str = "thing1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeChatConfig | None:
        """The configuration, or None when token, appid and secret are not all set."""
        env = os.environ if environ is None else environ
        token, appid, secret = (env.get(k, "").strip() for k in _REQUIRED)
        production = (env.get("BOT_PROFILE") or current_profile()).strip().lower() == (
            Profile.PRODUCTION
        )
        if not (token and appid and secret):
            if production and (token or appid or secret):
                raise ConfigError("WeChat: token, appid and secret must all be set")
            return None
        config = cls(
            token=token,
            appid=appid,
            appsecret=secret,
            aes_key=env.get("WECHAT_AES_KEY", "").strip() or None,
            api_base=(env.get("WECHAT_API_BASE", "").strip() or DEFAULT_API_BASE).rstrip("/"),
            production=production,
            reply_budget=float(env.get("WECHAT_REPLY_BUDGET") or DEFAULT_REPLY_BUDGET_SECONDS),
            template_id=env.get("WECHAT_TEMPLATE_ID", "").strip() or None,
            template_field=env.get("WECHAT_TEMPLATE_FIELD", "").strip() or "thing1",
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Refuses what must not run: an unusable AES key, or plain mode in production."""
        if self.aes_key is not None and len(aes_key_bytes(self.aes_key)) != 32:
            raise ConfigError("WeChat: WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        if self.production and not self.aes_key:
            raise ConfigError("WeChat: production requires safe mode (set WECHAT_AES_KEY)")

    @property
    def mode(self) -> Mode:
        """Safe mode when an AES key is configured."""
        return Mode.SAFE if self.aes_key else Mode.PLAIN


_REQUIRED = ("WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_APPSECRET")


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key encoded in WeChat's 43-character EncodingAESKey."""
    try:
        return base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        return b""


def signature(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the token and parts, sorted and concatenated."""
    return hashlib.sha1("".join(sorted((token, *parts))).encode()).hexdigest()  # noqa: S324


def signature_ok(given: str | None, token: str, *parts: str) -> bool:
    """Whether `given` is the signature of the parts, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(given.lower().encode(), signature(token, *parts).encode())


def timestamp_ok(timestamp: str | None, now: float | None = None) -> bool:
    """Whether the request timestamp is within the replay window of our clock."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = time.time() if now is None else now
    return abs(now - int(timestamp)) <= TIMESTAMP_WINDOW_SECONDS


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The flat `<xml>` element of a WeChat body; refuses DOCTYPE, entities and nesting."""
    raw = body.encode() if isinstance(body, str) else body
    if _FORBIDDEN_XML.search(raw):
        raise ForbiddenXml("DOCTYPE or ENTITY in XML")
    try:
        document = xmltodict.parse(raw, disable_entities=True)
    except (ExpatError, ValueError, UnicodeDecodeError) as error:
        raise MalformedBody("not well-formed XML") from error
    root = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        raise MalformedBody("no <xml> root element")
    fields: dict[str, str] = {}
    for key, value in root.items():
        if value is None:
            fields[key] = ""
        elif isinstance(value, str):
            fields[key] = value
        elif key in _NESTED_OK:
            continue  # structured fields of events we do not use
        else:
            raise MalformedBody("repeated or nested field")
    return fields


# Event fields WeChat nests (menu pickers, scan info) that we read nothing from.
_NESTED_OK = frozenset({"ScanCodeInfo", "SendPicsInfo", "SendLocationInfo"})


def decrypt(config: WeChatConfig, encrypted: str) -> bytes:
    """The inner XML of a safe-mode body; raises MalformedBody on any damage."""
    key = aes_key_bytes(config.aes_key or "")
    try:
        text = PrpCrypto(key).decrypt(encrypted, config.appid)
    except (
        ValueError,
        KeyError,
        IndexError,
        binascii.Error,
        struct.error,
        UnicodeDecodeError,
        InvalidAppIdException,
    ) as error:
        raise MalformedBody("cannot decrypt") from error
    return str(text).encode()


def encrypt(config: WeChatConfig, inner_xml: str, *, nonce: str, timestamp: str) -> str:
    """The safe-mode envelope of `inner_xml`, signed with `msg_signature`."""
    key = aes_key_bytes(config.aes_key or "")
    ciphertext = PrpCrypto(key).encrypt(inner_xml, config.appid).decode()
    msg_signature = signature(config.token, timestamp, nonce, ciphertext)
    return (
        f"<xml><Encrypt>{cdata(ciphertext)}</Encrypt>"
        f"<MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{escape(timestamp)}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )


def cdata(text: str) -> str:
    """`text` as CDATA, safe even when it contains `]]>`."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(*, to_user: str, from_account: str, content: str, now: int | None = None) -> str:
    """The XML of a passive text reply."""
    created = int(time.time()) if now is None else now
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_account)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes, the unit of WeChat's text limits."""
    return len(text.encode())


def template_value(text: str) -> str:
    """A template-message field: no emoji, at most 20 characters."""
    cleaned = _EMOJI.sub("", text).strip()
    return cleaned[:TEMPLATE_FIELD_CHARS]


class InboundKind(Enum):
    """What a WeChat push is."""

    TEXT = "text"
    VOICE = "voice"
    IMAGE = "image"
    LOCATION = "location"
    LINK = "link"
    UNSUPPORTED = "unsupported"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    SCAN = "scan"
    CLICK = "click"
    IGNORED_EVENT = "ignored_event"


_MESSAGE_KINDS = {
    "text": InboundKind.TEXT,
    "voice": InboundKind.VOICE,
    "image": InboundKind.IMAGE,
    "location": InboundKind.LOCATION,
    "link": InboundKind.LINK,
}
_EVENT_KINDS = {
    "subscribe": InboundKind.SUBSCRIBE,
    "unsubscribe": InboundKind.UNSUBSCRIBE,
    "scan": InboundKind.SCAN,
    "click": InboundKind.CLICK,
}


@dataclass(frozen=True)
class Inbound:
    """One message or event pushed by WeChat, with the fields we use."""

    kind: InboundKind
    openid: str
    account: str
    create_time: str
    msg_id: str | None
    fields: dict[str, str]

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; FromUserName + CreateTime for events (they have no MsgId)."""
        if self.msg_id:
            return f"wx:msg:{self.msg_id}"
        return f"wx:event:{self.openid}:{self.create_time}:{self.fields.get('Event', '')}"

    @property
    def scene(self) -> str | None:
        """The parametric QR code's scene value of a subscribe or SCAN event."""
        key = self.fields.get("EventKey", "")
        if self.kind is InboundKind.SUBSCRIBE:
            return key.removeprefix("qrscene_") if key.startswith("qrscene_") else None
        if self.kind is InboundKind.SCAN:
            return key or None
        return None


def classify(fields: dict[str, str]) -> Inbound:
    """The Inbound of a parsed body; raises MalformedBody without sender or type."""
    openid, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
    message_type = fields.get("MsgType", "").lower()
    if not openid or not account or not message_type or len(openid) > 128:
        raise MalformedBody("missing FromUserName, ToUserName or MsgType")
    if message_type == "event":
        kind = _EVENT_KINDS.get(fields.get("Event", "").lower(), InboundKind.IGNORED_EVENT)
    else:
        kind = _MESSAGE_KINDS.get(message_type, InboundKind.UNSUPPORTED)
    msg_id = fields.get("MsgId") or None
    return Inbound(kind, openid, account, fields.get("CreateTime", ""), msg_id, fields)
