"""Channels a petitioner can reach the bureau through, and namespaced sender ids."""

from __future__ import annotations

from enum import Enum


class Channel(str, Enum):
    """Where a conversation takes place; also where replies are pushed back to."""

    WECHAT = "wechat"
    TELEGRAM = "telegram"
    REST = "rest"

    @property
    def prefix(self) -> str:
        """The namespace that starts this channel's sender ids (`wx:OPENID`)."""
        return _PREFIX_OF[self]


_PREFIX_OF = {Channel.WECHAT: "wx", Channel.TELEGRAM: "tg", Channel.REST: "rest"}
_CHANNEL_OF = {prefix: channel for channel, prefix in _PREFIX_OF.items()}


class SenderError(ValueError):
    """A sender id is not namespaced by a known channel."""


def parse_sender(sender_id: str) -> tuple[Channel, str]:
    """Splits `wx:OPENID` into (Channel.WECHAT, "OPENID")."""
    prefix, sep, user_id = sender_id.partition(":")
    if not sep or not user_id or prefix not in _CHANNEL_OF:
        raise SenderError("sender id is not namespaced by a known channel")
    return _CHANNEL_OF[prefix], user_id


def sender_id(channel: Channel, user_id: str) -> str:
    """Builds the namespaced sender id Rasa knows the conversation by."""
    return f"{channel.prefix}:{user_id}"
