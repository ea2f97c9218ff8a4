"""What every channel does to an incoming message before Rasa sees it.

Verify → parse → prepare (cap, neutralise) → hand to Rasa → acknowledge. Channels differ in
how they verify and parse; the preparation and the sender namespacing are the same.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Longer messages are cut here (and the petitioner told so): a long letter fits, a flood
# does not reach the NLU or the tracker store.
MAX_MESSAGE_CHARS = 5000
# Bodies above this are refused before parsing (413).
MAX_BODY_BYTES = 128 * 1024
# Rasa reads "/intent{...}" as an intent with entities; a petitioner's text never is one.
_SLASH_SYNTAX = re.compile(r"^\s*/")
_FULLWIDTH_SOLIDUS = "\uff0f"


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
