"""What every channel does to an incoming message before Rasa sees it.

Verify → parse → prepare (cap, neutralise) → hand to Rasa → acknowledge. Channels differ in
how they verify and parse; the preparation and the sender namespacing are the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

# Longer messages are cut here (and the petitioner told so): a long letter fits, a flood
# does not reach the NLU or the tracker store.
MAX_MESSAGE_CHARS = 5000
# Bodies above this are refused before parsing (413).
MAX_BODY_BYTES = 128 * 1024
# Rasa reads "/intent{...}" as an intent with entities; a petitioner's text never is one.
_SLASH_SYNTAX = re.compile(r"^\s*/")
_FULLWIDTH_SOLIDUS = "\uff0f"
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_SENTENCE_ENDS = ("。", "！", "？", "；", "\n", ". ", "! ", "? ")


def worker_count(environ: dict[str, str] | None = None) -> int:
    """How many Rasa worker processes serve the port (`SANIC_WORKERS`, 1 if unset)."""
    value = (environ if environ is not None else os.environ).get("SANIC_WORKERS", "1")
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def spread_over_workers(hook: Blueprint, workers: int | None = None) -> Blueprint:
    """With several workers, closes each webhook connection after its answer.

    A kept-alive connection stays with the worker that accepted it, so a platform sending
    all its users' messages over a few connections would load one worker and leave the
    other idle (seen under load: 40 connections on one worker, 10 on the other). A new
    connection per message goes to whichever worker is free to accept it; on loopback or
    behind a reverse proxy that costs a fraction of a millisecond.
    """
    if (worker_count() if workers is None else workers) > 1:

        @hook.middleware("response")  # type: ignore[misc]
        async def close_connection(request: Request, _reply: HTTPResponse) -> None:
            # Sanic 21.12 writes the Connection header from its HTTP/1.1 stream's own flag
            # (a header set on the response is overwritten), so the flag is what we turn off.
            stream = getattr(request, "stream", None)
            if stream is not None and hasattr(stream, "keep_alive"):
                stream.keep_alive = False

    return hook


class Profile:
    """Deployment profiles, as in BOT_PROFILE."""

    LOCAL = "local"
    PRODUCTION = "production"


def current_profile() -> str:
    """The BOT_PROFILE of this process (`local` unless set)."""
    return os.environ.get("BOT_PROFILE", Profile.LOCAL).strip().lower() or Profile.LOCAL


@dataclass(frozen=True)
class Prepared:
    """A message ready for Rasa, and whether it had to be cut."""

    text: str
    truncated: bool


def button_payloads(domain: Any) -> frozenset[str]:
    """Every button payload the domain's responses offer: the only slash texts let through."""
    payloads: set[str] = set()
    responses = getattr(domain, "responses", None) or {}
    for variants in responses.values():
        for variant in variants:
            for button in variant.get("buttons") or ():
                payload = button.get("payload")
                if isinstance(payload, str):
                    payloads.add(payload)
    return frozenset(payloads)


class PayloadCache:
    """The domain's button payloads, worked out again only when the domain object changes."""

    def __init__(self) -> None:
        """Empty until the first domain is seen."""
        self._key = 0
        self._payloads: frozenset[str] = frozenset()

    def for_domain(self, domain: Any) -> frozenset[str]:
        """The payloads of `domain` (cached per domain object: a reloaded model has a new one)."""
        if self._key != id(domain):
            self._key, self._payloads = id(domain), button_payloads(domain)
        return self._payloads


def agent_domain(app: Any) -> Any:
    """The domain of the model the Sanic app serves, or None before a model is loaded."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    return getattr(agent, "domain", None)


def credentials_over_environment(
    credentials: dict[str, Any] | None, variables: dict[str, str]
) -> dict[str, str]:
    """The environment, with non-empty credentials.yml values put over their variables."""
    environ = dict(os.environ)
    for key, variable in variables.items():
        value = (credentials or {}).get(key)
        if isinstance(value, str) and value.strip():
            environ[variable] = value
    return environ


def neutralise(text: str, allowed: frozenset[str] = frozenset()) -> str:
    """Text that Rasa cannot read as `/intent{entities}`, unless it is one of our payloads.

    The leading solidus becomes a full-width one: the petitioner's words are kept as they
    wrote them, but no intent or slot can be set by typing.
    """
    if not _SLASH_SYNTAX.match(text) or text.strip() in allowed:
        return text
    index = text.index("/")
    return f"{text[:index]}{_FULLWIDTH_SOLIDUS}{text[index + 1:]}"


def prepare(text: str, allowed: frozenset[str] = frozenset()) -> Prepared:
    """Caps the length and neutralises slash syntax."""
    truncated = len(text) > MAX_MESSAGE_CHARS
    if truncated:
        text = text[:MAX_MESSAGE_CHARS]
    return Prepared(neutralise(text, allowed), truncated)


def render_response(domain: Any, name: str, **values: Any) -> str | None:
    """The text of the domain response `name` (first variant), with `{values}` filled in."""
    responses = getattr(domain, "responses", None) or {}
    variants = responses.get(name) or []
    if not variants or not isinstance(variants[0].get("text"), str):
        logger.error("domain has no text response %s", name)
        return None
    text: str = variants[0]["text"]
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


class MediaKind(str, Enum):
    """What an attachment in `UserMessage.metadata["attachments"]` holds."""

    IMAGE = "image"


# UserMessage.metadata keys the channels set (the contract with the dialogue side):
#   "attachments": [{"kind": "image", "path": "var/media/<sha256>.jpg", "sha256": HEX,
#                    "bytes": N, "source_id": CHANNEL_MEDIA_ID}]
#   "location":    {"lat": float, "lon": float, "label": str}  (the label is also the text)
#   "event":       "subscribe" | "scan" | "start" | "menu" (what produced a synthetic message)
#   "scene":       the QR scene value or the Telegram /start payload, when there is one
#   "truncated":   whether the text was cut at MAX_MESSAGE_CHARS
ATTACHMENTS = "attachments"
LOCATION = "location"
EVENT = "event"
SCENE = "scene"
TRUNCATED = "truncated"
# The intent a synthetic "hello" (subscribe, /start) is sent as: the assistant greets.
GREET_PAYLOAD = "/greet"


def log_failure(task: asyncio.Future[Any]) -> None:
    """Done-callback of background work: logs the kind of failure, never its message (an
    exception text can quote what the user wrote), instead of asyncio's traceback dump."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.error("background channel work failed (%s)", type(error).__name__)


def namespaced(prefix: str, user_id: str) -> str:
    """The sender id of a channel user: `prefix:user_id`, so trackers never merge."""
    return f"{prefix}:{user_id}"


def strip_namespace(prefix: str, sender_id: str) -> str | None:
    """The channel's own user id in `sender_id`, or None when it belongs to another channel."""
    head, sep, rest = sender_id.partition(":")
    if not sep or head != prefix or not rest:
        return None
    return rest


def body_too_large(request: Request) -> bool:
    """Whether the request announces or carries more than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return True
    return len(request.body or b"") > MAX_BODY_BYTES


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Parts of `text` no longer than `limit`, cut after a sentence end where possible."""
    parts: list[str] = []
    rest = text
    while measure(rest) > limit:
        # The longest prefix that fits, found by bisection on characters.
        low, high = 1, len(rest)
        while low < high:
            middle = (low + high + 1) // 2
            if measure(rest[:middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        window = rest[:low]
        cut = max(window.rfind(mark) for mark in _SENTENCE_ENDS)
        if cut < len(window) // 2:
            cut = window.rfind(" ")
        cut = low if cut < len(window) // 2 else cut + 1
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def choices_text(domain: Any, text: str, buttons: list[dict[str, Any]]) -> str:
    """The message text followed by its buttons as numbered choices the user can type."""
    lines = [text] if text else []
    hint = render_response(domain, "utter_channel_choices_hint")
    if hint:
        lines.append(hint)
    for number, button in enumerate(buttons, start=1):
        line = render_response(
            domain, "utter_channel_choice", number=number, title=button.get("title", "")
        )
        if line:
            lines.append(line)
    return "\n".join(lines)


def picked_payload(text: str, payloads: list[str]) -> str | None:
    """The payload of the numbered choice `text` names ("1", "２"), if it names one."""
    digits = text.strip().translate(_FULLWIDTH_DIGITS)
    if not digits.isdigit() or len(digits) > 2:
        return None
    index = int(digits) - 1
    return payloads[index] if 0 <= index < len(payloads) else None


@dataclass(frozen=True)
class StoredMedia:
    """A file downloaded from a channel and kept under the media directory."""

    kind: MediaKind
    path: str
    sha256: str
    size: int
    source_id: str

    def as_metadata(self) -> dict[str, Any]:
        """The entry of `metadata["attachments"]` for this file."""
        return {
            "kind": self.kind.value,
            "path": self.path,
            "sha256": self.sha256,
            "bytes": self.size,
            "source_id": self.source_id,
        }


def media_dir() -> Path:
    """Where downloaded media are kept: `$MEDIA_DIR`, else `var/media` under the working dir."""
    return Path(os.environ.get("MEDIA_DIR") or Path("var") / "media")


def store_media(data: bytes, *, kind: MediaKind, suffix: str, source_id: str) -> StoredMedia:
    """Writes `data` under the media directory, named by its SHA-256 (idempotent)."""
    digest = hashlib.sha256(data).hexdigest()
    directory = media_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest}{suffix}"
    if not path.exists():
        temporary = path.with_suffix(path.suffix + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)
    return StoredMedia(kind, str(path), digest, len(data), source_id)
