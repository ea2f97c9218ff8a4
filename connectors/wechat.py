"""The WeChat official-account channel: `GET|POST /webhooks/wechat/webhook`.

Verify (constant-time signature, timestamp window, nonce and MsgId seen once) → parse (size
cap, XML without DOCTYPE/entities, AES in safe mode) → prepare (namespaced sender `wx:OPENID`,
slash text neutralised, typed numbers picked as buttons) → hand to Rasa → answer: the first
bot message as the passive reply if it is ready within the budget (~4 s), the others through
the customer-service API (at most 5 per user message); `success` and everything through the
API otherwise. Outside the 48-hour window a template notice (if configured) and a queue that
is flushed when the user writes again.

Enabled when WECHAT_TOKEN, WECHAT_APPID and WECHAT_APPSECRET are set (safe mode with
WECHAT_AES_KEY; required in the production profile).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import logs
from connectors.base import (
    ATTACHMENTS,
    EVENT,
    GREET_PAYLOAD,
    LOCATION,
    MAX_MESSAGE_CHARS,
    SCENE,
    TRUNCATED,
    MediaKind,
    PayloadCache,
    agent_domain,
    body_too_large,
    choices_text,
    credentials_over_environment,
    log_failure,
    namespaced,
    picked_payload,
    prepare,
    render_response,
    split_text,
    spread_over_workers,
    store_media,
    strip_namespace,
)
from connectors.state import Arrival, ChannelState
from connectors.wechat_api import ErrorCode, WeChatApi, WeChatApiError
from connectors.wechat_protocol import (
    CUSTOM_WINDOW_SECONDS,
    MAX_CUSTOM_MESSAGES,
    MAX_TEXT_BYTES,
    PREFIX,
    ConfigError,
    ForbiddenXml,
    Inbound,
    InboundKind,
    MalformedBody,
    Mode,
    WeChatConfig,
    classify,
    decrypt,
    encrypt,
    parse_xml,
    signature_ok,
    template_value,
    text_reply,
    timestamp_ok,
    utf8_len,
)

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
_SUCCESS = "success"
_IMAGE_SUFFIXES = {"image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


@dataclass(frozen=True)
class Rendered:
    """A bot message as WeChat text, and the payloads of its numbered choices."""

    text: str
    payloads: list[str] = field(default_factory=list)


def render(domain: Any, message: Mapping[str, Any]) -> Rendered:
    """WeChat has no buttons: they become numbered choices; image URLs become a line."""
    text = str(message.get("text") or "")
    buttons = message.get("buttons") or message.get("quick_replies") or []
    payloads = [str(b.get("payload", "")) for b in buttons if isinstance(b, dict)]
    if buttons:
        text = choices_text(domain, text, [b for b in buttons if isinstance(b, dict)])
    if message.get("image"):
        text = f"{text}\n{message['image']}".strip()
    return Rendered(text, payloads)


def fit(texts: list[str], slots: int) -> list[str]:
    """At most `slots` messages: the overflow is joined onto the last one, nothing dropped."""
    if slots <= 0 or len(texts) <= slots:
        return texts if slots > 0 else []
    return [*texts[: slots - 1], "\n\n".join(texts[slots - 1 :])]


class _Collector(OutputChannel):
    """Collects what Rasa answers to one user message (named like the channel)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        """The channel name, so `channel: wechat` response variants apply."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keeps the message as Rasa gave it."""
        self.messages.append(dict(message))


class WeChatSender:
    """Pushes to WeChat users through the API, within the window and the per-message limit."""

    def __init__(self, api: WeChatApi, state: ChannelState, domain: Callable[[], Any]) -> None:
        """`domain` gives the current Rasa domain (for the numbered-choice texts)."""
        self.api = api
        self.state = state
        self._domain = domain

    def parts(self, messages: list[dict[str, Any]]) -> tuple[list[str], list[str] | None]:
        """The WeChat texts of Rasa's messages, and the last offered choices (None: none)."""
        texts: list[str] = []
        payloads: list[str] | None = None
        for message in messages:
            rendered = render(self._domain(), message)
            if rendered.payloads:
                payloads = rendered.payloads
            if rendered.text:
                texts.extend(split_text(rendered.text, MAX_TEXT_BYTES, utf8_len))
        return texts, payloads

    async def remember_choices(
        self, openid: str, payloads: list[str] | None, offered: list[str] | None = None
    ) -> None:
        """Stores the choices a typed number picks from (cleared by a message without);
        `offered` (the stored ones, when known) saves the write when nothing changes."""
        if offered is not None and offered == (payloads or []):
            return
        await asyncio.to_thread(self.state.set_choices, CHANNEL, openid, payloads or [])

    async def push(self, openid: str, texts: list[str]) -> None:
        """Sends `texts` as customer-service messages; what cannot go now waits (see doc)."""
        user = await asyncio.to_thread(self.state.user, CHANNEL, openid)
        if not user.active:
            logger.info("WeChat: %d message(s) not pushed, the user unsubscribed", len(texts))
            return
        if user.last_inbound_at and time.time() - user.last_inbound_at > CUSTOM_WINDOW_SECONDS:
            await self._hold(openid, texts)
            return
        for index, text in enumerate(fit(texts, MAX_CUSTOM_MESSAGES)):
            allowed = await asyncio.to_thread(
                self.state.reserve_push, CHANNEL, openid, MAX_CUSTOM_MESSAGES
            )
            if not allowed:
                await self._hold(openid, texts[index:])
                return
            try:
                await self.api.send_text(openid, text)
            except WeChatApiError as error:
                logger.warning("WeChat customer-service message failed (errcode %s)", error.errcode)
                if error.errcode == ErrorCode.USER_UNSUBSCRIBED:
                    await asyncio.to_thread(self.state.set_active, CHANNEL, openid, False)
                    return
                await self._hold(openid, [text, *texts[index + 1 :]])
                return

    async def _hold(self, openid: str, texts: list[str]) -> None:
        """Outside the window or over the limit: queue, and notify by template if we can."""
        if not texts:
            return
        await asyncio.to_thread(self.state.enqueue, CHANNEL, openid, {"text": "\n\n".join(texts)})
        logger.info("WeChat: %d message(s) queued until the user writes again", len(texts))
        template_id = self.api.config.template_id
        notice = render_response(self._domain(), "utter_channel_template_notice")
        if template_id and notice:
            try:
                await self.api.send_template(
                    openid, template_id, {self.api.config.template_field: template_value(notice)}
                )
            except WeChatApiError as error:
                logger.warning("WeChat template message failed (errcode %s)", error.errcode)


class WeChatOutput(OutputChannel):
    """Proactive messages (`trigger_intent?output_channel=wechat`) to sender `wx:OPENID`."""

    def __init__(self, sender: WeChatSender) -> None:
        """Sends through the shared sender."""
        self.sender = sender

    @classmethod
    def name(cls) -> str:
        """The channel name Rasa matches `output_channel` against."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Pushes one bot message to the WeChat user behind `recipient_id`."""
        openid = strip_namespace(PREFIX, recipient_id)
        if openid is None:
            logger.warning("WeChat output asked to send to a non-WeChat sender; dropped")
            return
        texts, payloads = self.sender.parts([message])
        if payloads is not None:
            await self.sender.remember_choices(openid, payloads)
        await self.sender.push(openid, texts)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Pushes a text."""
        await self.send_response(recipient_id, {"text": text})


@dataclass
class _Request:
    """The verified, decrypted content of one POST."""

    inbound: Inbound
    mode: Mode
    started: float
    arrival: Arrival | None
    request: Request


class WeChatInput(InputChannel):
    """The WeChat official-account webhook."""

    def __init__(self, config: WeChatConfig | None, state: ChannelState | None = None) -> None:
        """A disabled channel when `config` is None."""
        self.config = config
        self.state = state or ChannelState()
        self.api = WeChatApi(config, self.state) if config else None
        self._app: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._payloads = PayloadCache()

    @classmethod
    def name(cls) -> str:
        """The channel name, also its URL segment."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Settings from credentials.yml (`${VAR}`s), falling back to the environment."""
        logs.install()
        config = WeChatConfig.from_env(credentials_over_environment(credentials, _CREDENTIAL_KEYS))
        if config is None:
            logger.info("WeChat channel disabled (WECHAT_TOKEN/APPID/APPSECRET not set)")
        else:
            logger.info("WeChat channel enabled in %s mode", config.mode.value)
        return cls(config)

    def url_prefix(self) -> str:
        """`/webhooks/wechat`."""
        return CHANNEL

    # Domain access -----------------------------------------------------------------------

    def _domain(self) -> Any:
        return agent_domain(self._app)

    def _allowed(self, domain: Any) -> frozenset[str]:
        return self._payloads.for_domain(domain)

    def _sender(self) -> WeChatSender:
        assert self.api is not None  # only called when enabled
        return WeChatSender(self.api, self.state, self._domain)

    def get_output_channel(self) -> OutputChannel | None:
        """The proactive sender, when the channel is enabled."""
        if self.api is None:
            return None
        return WeChatOutput(self._sender())

    # Routes ------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook routes; none when the channel is disabled."""
        hook = spread_over_workers(Blueprint("wechat_webhook", __name__))
        if self.config is None:
            return hook
        config = self.config

        @hook.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            self._app = app

        @hook.listener("after_server_stop")
        async def close_client(_app: Any, _loop: Any) -> None:
            if self.api is not None:
                await self.api.close()

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            args = request.args
            timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
            echostr = args.get("echostr", "")
            if not timestamp_ok(timestamp) or not signature_ok(
                args.get("signature"), config.token, timestamp, nonce
            ):
                return response.text("forbidden", status=403)
            return response.text(echostr)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | None:
            self._app = request.app
            try:
                verified = await self._verify(request, config)
            except _Refusal as refusal:
                return response.text(refusal.reason, status=refusal.status)
            if verified is None:
                return response.text(_SUCCESS)  # a replay or a WeChat retry: handled once
            reply = await self._handle(verified, on_new_message)
            if getattr(request, "responded", False):
                return None  # the Rasa task wrote the passive reply itself
            return self._passive(reply, verified, config)

        return hook

    async def _verify(self, request: Request, config: WeChatConfig) -> _Request | None:
        """The authenticated message, None for a duplicate; raises _Refusal otherwise."""
        started = time.monotonic()
        if body_too_large(request):
            raise _Refusal(413, "body too large")
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if not timestamp_ok(timestamp):
            raise _Refusal(403, "forbidden")
        safe = args.get("encrypt_type", "").lower() == "aes"
        try:
            outer = parse_xml(request.body or b"")
            if safe:
                if config.mode is not Mode.SAFE:
                    raise _Refusal(403, "forbidden")
                encrypted = outer.get("Encrypt", "")
                if not signature_ok(
                    args.get("msg_signature"), config.token, timestamp, nonce, encrypted
                ):
                    raise _Refusal(403, "forbidden")
                fields = parse_xml(decrypt(config, encrypted))
            else:
                if config.production:
                    raise _Refusal(403, "forbidden")  # plain mode does not authenticate bodies
                if not signature_ok(args.get("signature"), config.token, timestamp, nonce):
                    raise _Refusal(403, "forbidden")
                fields = outer
            inbound = classify(fields)
        except ForbiddenXml as error:
            logger.warning("WeChat: refused XML with a DOCTYPE or entity declaration")
            raise _Refusal(400, "bad request") from error
        except MalformedBody as error:
            logger.warning("WeChat: malformed body refused (%s)", error)
            raise _Refusal(400, "bad request") from error
        keys = [f"wx:nonce:{timestamp}:{nonce}", inbound.dedupe_key]
        if inbound.kind in _NO_CONTACT:
            arrival: Arrival | None = None
            first = await asyncio.to_thread(self.state.first_time, keys)
        else:
            # One transaction: seen keys, the 48-hour window, and what waits for the user.
            # Inline (< 1 ms on the pooled database, like Rasa's own SQL tracker store): a hop
            # through a worker thread costs a trip through an event loop busy with Rasa.
            arrival = self.state.arrive(
                CHANNEL,
                inbound.openid,
                keys,
                take_attachments=inbound.kind in _CARRIES_ATTACHMENTS,
            )
            first = arrival is not None
        if not first:
            logger.info("WeChat: duplicate delivery ignored (%s)", inbound.kind.value)
            return None
        return _Request(inbound, Mode.SAFE if safe else Mode.PLAIN, started, arrival, request)

    async def _handle(
        self, verified: _Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str | None:
        """Acts on the message; returns the passive reply text, if there is one in time."""
        inbound = verified.inbound
        openid = inbound.openid
        kind = inbound.kind
        domain = self._domain()
        logger.debug("WeChat: %s received", kind.value)
        if kind is InboundKind.UNSUBSCRIBE:
            await asyncio.to_thread(self.state.set_active, CHANNEL, openid, False)
            return None
        if kind is InboundKind.IGNORED_EVENT:
            return None
        arrival = verified.arrival
        assert arrival is not None  # every kind but the two above records an arrival
        sender = self._sender()
        pending = (
            "\n\n".join(
                str(item.message.get("text", "")) for item in arrival.pending if item.message
            ).strip()
            or None
        )

        metadata: dict[str, Any] = {}
        text: str | None = None
        own_reply: str | None = None
        if kind is InboundKind.TEXT:
            content = inbound.fields.get("Content", "")
            picked = picked_payload(content, arrival.choices)
            if picked is not None:
                text = picked
            else:
                prepared = prepare(content, self._allowed(domain))
                text, metadata[TRUNCATED] = prepared.text, prepared.truncated
        elif kind is InboundKind.VOICE:
            recognised = inbound.fields.get("Recognition", "").strip()
            if recognised:
                prepared = prepare(recognised, self._allowed(domain))
                text, metadata[TRUNCATED] = prepared.text, prepared.truncated
            else:
                own_reply = render_response(domain, "utter_channel_voice_unrecognised")
        elif kind is InboundKind.IMAGE:
            own_reply = await self._keep_image(inbound, domain)
        elif kind is InboundKind.LOCATION:
            text, metadata[LOCATION] = _location(inbound)
        elif kind is InboundKind.LINK:
            parts = (inbound.fields.get(k, "") for k in ("Title", "Description", "Url"))
            prepared = prepare(" ".join(p for p in parts if p), self._allowed(domain))
            text, metadata[TRUNCATED] = prepared.text, prepared.truncated
        elif kind in (InboundKind.SUBSCRIBE, InboundKind.SCAN):
            text = GREET_PAYLOAD
            metadata[EVENT] = kind.value
            if inbound.scene:
                metadata[SCENE] = inbound.scene
        elif kind is InboundKind.CLICK:
            text = _menu_payload(inbound.fields.get("EventKey", ""), domain)
            metadata[EVENT] = "menu"
            if text is None:
                own_reply = render_response(domain, "utter_channel_unsupported_message")
        else:
            own_reply = render_response(domain, "utter_channel_unsupported_message")

        if text is None:
            extra = [pending] if pending else []
            if extra:
                self._spawn(sender.push(openid, extra))
            return own_reply
        if arrival.attachments:
            metadata[ATTACHMENTS] = arrival.attachments
        return await self._ask_rasa(verified, text, metadata, pending, on_new_message)

    async def _ask_rasa(
        self,
        verified: _Request,
        text: str,
        metadata: dict[str, Any],
        pending: str | None,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str | None:
        """Runs Rasa in a task that answers passively itself when done within the budget;
        otherwise this request answers `success` and the task pushes everything instead.

        The task (not this coroutine) runs Rasa so that a dropped connection, which cancels
        the request, does not cancel the conversation; it writes the passive reply itself so
        that the reply does not wait for this coroutine's next turn of a busy event loop.
        """
        assert self.config is not None
        collector = _Collector()
        message = UserMessage(
            text,
            collector,
            namespaced(PREFIX, verified.inbound.openid),
            input_channel=CHANNEL,
            metadata=metadata,
        )
        race = _Race()
        task = asyncio.ensure_future(
            self._answer(on_new_message, message, collector, verified, pending, metadata, race)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)
        remaining = self.config.reply_budget - (time.monotonic() - verified.started)
        await asyncio.wait({task}, timeout=max(0.0, remaining))
        if race.claim(Outcome.LATE):
            logger.info("WeChat: reply not ready in time, answering through the API")
            return None  # `success`; the task pushes the answer
        await task  # it answered (or is answering) passively
        return None

    async def _answer(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        message: UserMessage,
        collector: _Collector,
        verified: _Request,
        pending: str | None,
        metadata: dict[str, Any],
        race: _Race,
    ) -> None:
        """Runs Rasa, then answers passively if still in time, else through the API."""
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 - Rasa's failure: log its kind, go on
            logger.error("WeChat: Rasa failed on a message (%s)", type(error).__name__)
        if not race.claim(Outcome.PASSIVE):
            await self._push_all(collector, verified, pending, metadata)
            return
        assert self.config is not None
        openid = verified.inbound.openid
        offered = verified.arrival.choices if verified.arrival else None
        sender = self._sender()
        texts, payloads = sender.parts(self._with_notice(collector.messages, metadata))
        rest = texts[1:] + ([pending] if pending else [])
        try:
            reply = self._passive(texts[0] if texts else None, verified, self.config)
            await verified.request.respond(reply)
            await reply.send(end_stream=True)
        except (SanicException, OSError) as error:
            logger.warning("WeChat: passive reply not delivered (%s)", type(error).__name__)
            rest = texts + ([pending] if pending else [])
        self._spawn(self._after_passive(sender, openid, payloads, offered, rest))

    async def _after_passive(
        self,
        sender: WeChatSender,
        openid: str,
        payloads: list[str] | None,
        offered: list[str] | None,
        rest: list[str],
    ) -> None:
        """Off the request's path: remember the choices, push the other messages."""
        await sender.remember_choices(openid, payloads, offered)
        if rest:
            await sender.push(openid, rest)

    async def _push_all(
        self,
        collector: _Collector,
        verified: _Request,
        pending: str | None,
        metadata: dict[str, Any],
    ) -> None:
        """After `success`: pushes everything Rasa said."""
        openid = verified.inbound.openid
        offered = verified.arrival.choices if verified.arrival else None
        sender = self._sender()
        texts, payloads = sender.parts(self._with_notice(collector.messages, metadata))
        await sender.remember_choices(openid, payloads, offered)
        await sender.push(openid, texts + ([pending] if pending else []))

    def _with_notice(
        self, messages: list[dict[str, Any]], metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not metadata.get(TRUNCATED):
            return messages
        notice = render_response(self._domain(), "utter_message_truncated", limit=MAX_MESSAGE_CHARS)
        return [{"text": notice}, *messages] if notice else messages

    async def _keep_image(self, inbound: Inbound, domain: Any) -> str | None:
        """Downloads the image now (WeChat keeps it 3 days), to ride with the next text."""
        assert self.api is not None
        media_id = inbound.fields.get("MediaId", "")
        try:
            media = await self.api.download_media(media_id)
            stored = await asyncio.to_thread(
                store_media,
                media.data,
                kind=MediaKind.IMAGE,
                suffix=_IMAGE_SUFFIXES.get(media.content_type.split(";")[0], ".jpg"),
                source_id=media_id,
            )
        except (WeChatApiError, OSError) as error:
            logger.warning("WeChat: image download failed (%s)", type(error).__name__)
            return render_response(domain, "utter_channel_media_failed")
        await asyncio.to_thread(
            self.state.add_attachment, CHANNEL, inbound.openid, stored.as_metadata()
        )
        logger.info("WeChat: image kept (%d bytes)", stored.size)
        return render_response(domain, "utter_channel_image_received")

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)

    def _passive(self, text: str | None, verified: _Request, config: WeChatConfig) -> HTTPResponse:
        """The HTTP answer: `success`, or the passive reply (encrypted in safe mode)."""
        if not text:
            return response.text(_SUCCESS)
        inbound = verified.inbound
        xml = text_reply(to_user=inbound.openid, from_account=inbound.account, content=text)
        if verified.mode is Mode.SAFE:
            xml = encrypt(config, xml, nonce=secrets.token_hex(8), timestamp=str(int(time.time())))
        return response.text(xml, content_type="application/xml")


class Outcome(Enum):
    """How a user message is answered: passively, or `success` and pushed."""

    PASSIVE = "passive"
    LATE = "late"


class _Race:
    """Whichever of the budget and Rasa comes first decides the outcome, once."""

    def __init__(self) -> None:
        self.outcome: Outcome | None = None

    def claim(self, outcome: Outcome) -> bool:
        """Sets the outcome if undecided; True if it is (now) `outcome`."""
        if self.outcome is None:
            self.outcome = outcome
        return self.outcome is outcome


class _Refusal(Exception):
    """A request answered with an error status instead of being handled."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# Kinds that are no contact from the user (no window reset, nothing delivered to them).
_NO_CONTACT = frozenset({InboundKind.UNSUBSCRIBE, InboundKind.IGNORED_EVENT})
# Kinds whose message to Rasa carries the images sent before it.
_CARRIES_ATTACHMENTS = frozenset(
    {InboundKind.TEXT, InboundKind.VOICE, InboundKind.LOCATION, InboundKind.LINK}
)

_CREDENTIAL_KEYS = {
    "token": "WECHAT_TOKEN",
    "appid": "WECHAT_APPID",
    "appsecret": "WECHAT_APPSECRET",
    "aes_key": "WECHAT_AES_KEY",
}


def _location(inbound: Inbound) -> tuple[str, dict[str, Any]]:
    """The location's label as text (it fills the place field) and its metadata."""
    fields = inbound.fields
    lat, lon = _coordinate(fields.get("Location_X")), _coordinate(fields.get("Location_Y"))
    label = fields.get("Label", "").strip()
    text = label or (f"{lat:.5f},{lon:.5f}" if lat is not None and lon is not None else "")
    return text[:MAX_MESSAGE_CHARS], {"lat": lat, "lon": lon, "label": label}


def _coordinate(value: str | None) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _menu_payload(event_key: str, domain: Any) -> str | None:
    """A menu item's key names an intent of the domain (e.g. `ask_progress`)."""
    intent = event_key.strip().lstrip("/")
    intents = getattr(domain, "intents", None) or []
    return f"/{intent}" if intent and intent in intents else None


__all__ = ["ConfigError", "WeChatInput", "WeChatOutput"]
