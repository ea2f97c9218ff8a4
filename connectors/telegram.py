"""The Telegram channel: `POST /webhooks/telegram/webhook` (python-telegram-bot 22 types).

Verify (`X-Telegram-Bot-Api-Secret-Token`, constant time) → parse (size cap, JSON object,
`update_id` seen once) → answer 200 at once and handle in the background: private chats only
(a group gets an invitation), `/start PAYLOAD` deep links, shared contacts, photos and
locations as on WeChat, inline-keyboard callbacks mapped back to the domain's own payloads.
Updates without a message (edited messages, channel posts, inline callbacks, membership
changes) are acknowledged; a `kicked` membership marks the chat inactive.

Sending paces about one message per second per chat, waits `retry_after` on 429, splits text
at 4096 characters on a sentence boundary and marks a chat that blocked the bot inactive.
The webhook is registered by `python -m connectors.telegram_webhook` (`make
telegram-webhook`), never at start-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

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
    credentials_over_environment,
    log_failure,
    namespaced,
    prepare,
    render_response,
    split_text,
    spread_over_workers,
    store_media,
    strip_namespace,
)
from connectors.state import ChannelState

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
PREFIX = "tg"
DEFAULT_API_BASE = "https://api.telegram.org"
MAX_TEXT_CHARS = 4096
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# About one message per second per chat and 30 per second overall (Telegram's limits).
SECONDS_BETWEEN_MESSAGES = 1.0
SECONDS_BETWEEN_ANY_MESSAGES = 1 / 30
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_PHOTO_BYTES = 10 * 1024 * 1024
_START = re.compile(r"^/start(?:@\w+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$")
_CALLBACK_PREFIX = "b:"


class ConfigError(ValueError):
    """The Telegram channel is configured in a way that must not run."""


@dataclass(frozen=True, kw_only=True)
class TelegramConfig:
    """The bot's settings, read from the environment."""

    bot_token: str = field(repr=False)
    secret_token: str = field(repr=False)
    api_base: str = DEFAULT_API_BASE
    bot_username: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelegramConfig | None:
        """The configuration, or None when TELEGRAM_BOT_TOKEN is not set."""
        env = os.environ if environ is None else environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        secret = env.get("TELEGRAM_SECRET_TOKEN", "").strip()
        if not token:
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError(
                "Telegram: TELEGRAM_SECRET_TOKEN (1-256 of A-Z a-z 0-9 _ -) is required"
            )
        return cls(
            bot_token=token,
            secret_token=secret,
            api_base=(env.get("TELEGRAM_API_BASE", "").strip() or DEFAULT_API_BASE).rstrip("/"),
            bot_username=env.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@") or None,
        )


def make_bot(config: TelegramConfig) -> Bot:
    """A Bot on the configured API base; nothing is called (no getMe, no setWebhook)."""
    request = HTTPXRequest(connection_pool_size=32, httpx_kwargs={"trust_env": False})
    return Bot(
        config.bot_token,
        base_url=f"{config.api_base}/bot",
        base_file_url=f"{config.api_base}/file/bot",
        request=request,
    )


def callback_data(payload: str) -> str:
    """A short opaque id for a button payload (≤ 64 bytes, reveals nothing)."""
    return _CALLBACK_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:16]


def payload_of(data: str, allowed: frozenset[str]) -> str | None:
    """The domain payload whose opaque id is `data`, if any."""
    for payload in allowed:
        if hmac.compare_digest(callback_data(payload), data):
            return payload
    return None


class _Pacer:
    """About one message per second per chat and 30 per second overall, across processes:
    the moments are reserved in the shared state, so two Rasa workers pace together."""

    def __init__(self, state: ChannelState) -> None:
        self._state = state
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    async def wait_turn(self, chat_id: int) -> None:
        chat = await asyncio.to_thread(
            self._state.reserve_slot, f"{PREFIX}:{chat_id}", SECONDS_BETWEEN_MESSAGES
        )
        # The overall slot no earlier than the chat's, so concurrent chats queue up fairly.
        start = await asyncio.to_thread(
            self._state.reserve_slot, f"{PREFIX}:*", SECONDS_BETWEEN_ANY_MESSAGES, chat
        )
        delay = start - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class TelegramOutput(OutputChannel):
    """Sends bot messages to `tg:CHAT_ID` through the Bot API."""

    def __init__(
        self, bot: Bot, state: ChannelState, domain: Callable[[], Any], pacer: _Pacer
    ) -> None:
        """Sends with `bot`; `domain` gives the current Rasa domain."""
        self.bot = bot
        self.state = state
        self._domain = domain
        self._pacer = pacer

    @classmethod
    def name(cls) -> str:
        """The channel name Rasa matches `output_channel` against."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Sends one bot message: text parts, then its keyboard on the last part."""
        chat = strip_namespace(PREFIX, recipient_id)
        if chat is None or not re.fullmatch(r"-?\d{1,20}", chat):
            logger.warning("Telegram output asked to send to a non-Telegram sender; dropped")
            return
        chat_id = int(chat)
        user = await asyncio.to_thread(self.state.user, CHANNEL, chat)
        if not user.active:
            logger.info("Telegram: message not sent, the chat blocked the bot")
            return
        text = str(message.get("text") or "")
        if message.get("image"):
            text = f"{text}\n{message['image']}".strip()
        if not text:
            return
        parts = split_text(text, MAX_TEXT_CHARS)
        markup = self._markup(message)
        async with self.chat_lock(chat_id):
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                if not await self.send_part(chat_id, part, markup if last else None):
                    return

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Sends a text."""
        await self.send_response(recipient_id, {"text": text, **kwargs})

    def chat_lock(self, chat_id: int) -> asyncio.Lock:
        """Held while sending one message's parts to a chat."""
        return self._pacer.lock(chat_id)

    def _markup(self, message: Mapping[str, Any]) -> Any:
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
        if buttons:
            return InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            str(b.get("title", "")), callback_data=callback_data(str(b["payload"]))
                        )
                    ]
                    for b in buttons
                    if b.get("payload")
                ]
            )
        if message.get("utter_action") == "utter_ask_phone":
            label = render_response(self._domain(), "utter_channel_share_phone") or "📱"
            return ReplyKeyboardMarkup(
                [[KeyboardButton(label, request_contact=True)]],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
        return None

    async def send_part(self, chat_id: int, text: str, markup: Any) -> bool:
        """One sendMessage, paced, retried after 429; False when the chat is gone.

        Callers hold `chat_lock(chat_id)` so that a message's parts stay together.
        """
        for _attempt in range(3):
            await self._pacer.wait_turn(chat_id)
            try:
                await self.bot.send_message(chat_id, text, reply_markup=markup)
                return True
            except RetryAfter as error:
                after = error.retry_after
                seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
                seconds = min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
                logger.warning("Telegram: 429, waiting %.0f s", seconds)
                await asyncio.sleep(seconds)
            except Forbidden:
                logger.info("Telegram: the chat blocked the bot; marked inactive")
                await asyncio.to_thread(self.state.set_active, CHANNEL, str(chat_id), False)
                return False
            except TelegramError as error:
                logger.warning("Telegram: sendMessage failed (%s)", type(error).__name__)
                return False
        return False


class TelegramInput(InputChannel):
    """The Telegram bot webhook."""

    def __init__(self, config: TelegramConfig | None, state: ChannelState | None = None) -> None:
        """A disabled channel when `config` is None."""
        self.config = config
        self.state = state or ChannelState()
        self.bot = make_bot(config) if config else None
        self._app: Any = None
        self._pacer = _Pacer(self.state)
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
        variables = {"bot_token": "TELEGRAM_BOT_TOKEN", "secret_token": "TELEGRAM_SECRET_TOKEN"}
        config = TelegramConfig.from_env(credentials_over_environment(credentials, variables))
        if config is None:
            logger.info("Telegram channel disabled (TELEGRAM_BOT_TOKEN not set)")
        else:
            logger.info("Telegram channel enabled")
        return cls(config)

    def _domain(self) -> Any:
        return agent_domain(self._app)

    def _allowed(self) -> frozenset[str]:
        return self._payloads.for_domain(self._domain())

    def get_output_channel(self) -> OutputChannel | None:
        """The sender for proactive messages, when the channel is enabled."""
        if self.bot is None:
            return None
        return TelegramOutput(self.bot, self.state, self._domain, self._pacer)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook route; none when the channel is disabled."""
        hook = spread_over_workers(Blueprint("telegram_webhook", __name__))
        if self.config is None:
            return hook
        secret = self.config.secret_token.encode()

        @hook.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            self._app = app

        @hook.listener("after_server_stop")
        async def close_client(_app: Any, _loop: Any) -> None:
            if self.bot is not None:
                await self.bot.request.shutdown()  # never initialized: no Bot.shutdown()

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            self._app = request.app
            given = (request.headers.get(SECRET_HEADER) or "").encode()
            if not hmac.compare_digest(given, secret):
                return response.json({"error": "forbidden"}, status=403)
            if body_too_large(request):
                return response.json({"error": "body too large"}, status=413)
            try:
                data = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                data = None
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                return response.json({"error": "expected an update object"}, status=400)
            assert self.bot is not None
            try:
                update = Update.de_json(data, self.bot)
            except (KeyError, TypeError, ValueError, AttributeError):
                logger.warning("Telegram: unparseable update ignored")
                return response.json({"error": "malformed update"}, status=400)
            if not await asyncio.to_thread(
                self.state.first_time, [f"tg:update:{self.config_id}:{update_id}"]
            ):
                logger.info("Telegram: duplicate update ignored")
                return response.json({})
            self._spawn(self._handle(update, on_new_message))
            return response.json({})

        return hook

    @property
    def config_id(self) -> str:
        """Which bot the update ids belong to (the token's public bot-id part)."""
        return (self.config.bot_token.split(":", 1)[0] if self.config else "") or "bot"

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)

    async def _handle(
        self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Acts on one update; never raises into the event loop."""
        try:
            await self._dispatch(update, on_new_message)
        except TelegramError as error:
            logger.warning("Telegram: handling an update failed (%s)", type(error).__name__)

    async def _dispatch(
        self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        assert self.bot is not None
        output = self.get_output_channel()
        assert isinstance(output, TelegramOutput)
        if update.my_chat_member is not None:
            status = update.my_chat_member.new_chat_member.status
            chat = str(update.my_chat_member.chat.id)
            await asyncio.to_thread(
                self.state.set_active,
                CHANNEL,
                chat,
                status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT),
            )
            logger.info("Telegram: membership changed to %s", status)
            return
        if update.callback_query is not None:
            query = update.callback_query
            await self.bot.answer_callback_query(query.id)
            source = query.message
            if source is None or source.chat.type != ChatType.PRIVATE:
                return  # an inline message or a group: nothing to continue
            payload = payload_of(query.data or "", self._allowed())
            if payload is not None:
                await self._to_rasa(source.chat.id, payload, {}, output, on_new_message)
            return
        message = update.message
        if message is None:
            logger.info("Telegram: update without a message ignored")
            return
        if message.chat.type != ChatType.PRIVATE:
            await self._invite(message, output)
            return
        chat = str(message.chat.id)
        await asyncio.to_thread(self.state.touch_inbound, CHANNEL, chat)
        await self._message(message, output, on_new_message)

    async def _message(
        self,
        message: Message,
        output: TelegramOutput,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        chat_id, domain = message.chat.id, self._domain()
        metadata: dict[str, Any] = {}
        if message.text is not None:
            start = _START.match(message.text)
            if start:
                metadata[EVENT] = "start"
                if start.group(1):
                    metadata[SCENE] = start.group(1)
                await self._to_rasa(chat_id, GREET_PAYLOAD, metadata, output, on_new_message)
                return
            prepared = prepare(message.text, self._allowed())
            metadata[TRUNCATED] = prepared.truncated
            if prepared.truncated:
                notice = render_response(domain, "utter_message_truncated", limit=MAX_MESSAGE_CHARS)
                if notice:
                    await output.send_text_message(namespaced(PREFIX, str(chat_id)), notice)
            await self._to_rasa(chat_id, prepared.text, metadata, output, on_new_message)
        elif message.contact is not None:
            contact = message.contact
            own = message.from_user is not None and contact.user_id == message.from_user.id
            metadata["contact"] = {"own": own}
            phone = re.sub(r"[^\d+]", "", contact.phone_number or "")
            await self._to_rasa(chat_id, phone, metadata, output, on_new_message, clear=True)
        elif message.location is not None:
            venue = message.venue
            lat, lon = message.location.latitude, message.location.longitude
            label = " ".join(p for p in (venue.title, venue.address) if p) if venue else ""
            metadata[LOCATION] = {"lat": lat, "lon": lon, "label": label}
            text = label or f"{lat:.5f},{lon:.5f}"
            await self._to_rasa(chat_id, text, metadata, output, on_new_message)
        elif message.photo:
            reply = await self._keep_photo(message)
            await self._say(chat_id, reply, output)
        elif message.voice is not None:
            await self._say(chat_id, "utter_channel_voice_unrecognised", output)
        else:
            await self._say(chat_id, "utter_channel_unsupported_message", output)

    async def _to_rasa(
        self,
        chat_id: int,
        text: str,
        metadata: dict[str, Any],
        output: TelegramOutput,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        clear: bool = False,
    ) -> None:
        chat = str(chat_id)
        attachments = await asyncio.to_thread(self.state.take_attachments, CHANNEL, chat)
        if attachments and text != GREET_PAYLOAD:
            metadata[ATTACHMENTS] = attachments
        elif attachments:
            for entry in attachments:  # keep them for the next real message
                await asyncio.to_thread(self.state.add_attachment, CHANNEL, chat, entry)
        if clear:
            # The phone keyboard has done its job: remove it with a silent zero-width update.
            output = _ClearingOutput(output)
        await on_new_message(
            UserMessage(
                text,
                output,
                namespaced(PREFIX, chat),
                input_channel=CHANNEL,
                metadata=metadata,
            )
        )

    async def _say(self, chat_id: int, response_name: str, output: TelegramOutput) -> None:
        text = render_response(self._domain(), response_name)
        if text:
            await output.send_text_message(namespaced(PREFIX, str(chat_id)), text)

    async def _invite(self, message: Message, output: TelegramOutput) -> None:
        """A group message: invite to a private chat (once an hour per group)."""
        hour = int(time.time() // 3600)
        if not await asyncio.to_thread(
            self.state.first_time, [f"tg:invite:{message.chat.id}:{hour}"]
        ):
            return
        text = render_response(self._domain(), "utter_channel_private_only")
        if not text or self.bot is None:
            return
        markup = None
        if self.config and self.config.bot_username:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("私聊", url=f"https://t.me/{self.config.bot_username}")]]
            )
        await output.send_part(message.chat.id, text, markup)

    async def _keep_photo(self, message: Message) -> str:
        """Downloads the largest size now; it rides with the next text message."""
        assert self.bot is not None
        photo = message.photo[-1]
        if photo.file_size and photo.file_size > MAX_PHOTO_BYTES:
            return "utter_channel_media_failed"
        try:
            file = await self.bot.get_file(photo.file_id)
            data = bytes(await file.download_as_bytearray())
            stored = await asyncio.to_thread(
                store_media,
                data,
                kind=MediaKind.IMAGE,
                suffix=".jpg",
                source_id=photo.file_unique_id,
            )
        except (TelegramError, OSError) as error:
            logger.warning("Telegram: photo download failed (%s)", type(error).__name__)
            return "utter_channel_media_failed"
        await asyncio.to_thread(
            self.state.add_attachment, CHANNEL, str(message.chat.id), stored.as_metadata()
        )
        logger.info("Telegram: photo kept (%d bytes)", stored.size)
        return "utter_channel_image_received"


class _ClearingOutput(OutputChannel):
    """Sends like `inner`, removing the reply keyboard with the first message."""

    def __init__(self, inner: TelegramOutput) -> None:
        self.inner = inner
        self.cleared = False

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if not self.cleared and not message.get("buttons") and message.get("text"):
            self.cleared = True
            chat = strip_namespace(PREFIX, recipient_id)
            if chat is not None:
                async with self.inner.chat_lock(int(chat)):
                    for part in split_text(str(message["text"]), MAX_TEXT_CHARS):
                        if not await self.inner.send_part(int(chat), part, ReplyKeyboardRemove()):
                            return
                return
        await self.inner.send_response(recipient_id, message)
