"""Renders the domain's responses inside actions, when several must become one message.

The Chinese text stays in bot/domain; Rasa sends the domain with every action call.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.types import DomainDict


class MissingResponse(KeyError):
    """The domain has no text response of that name."""


def render(domain: DomainDict, name: str, **values: Any) -> str:
    """The first variant of response `name`, with `{key}` placeholders filled from `values`."""
    variants = domain.get("responses", {}).get(name) or []
    if not variants or not isinstance(variants[0].get("text"), str):
        raise MissingResponse(name)
    text: str = variants[0]["text"]
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text
