"""Keeps secrets and message text out of the logs of the libraries the channels use.

httpx logs every request URL at INFO: Telegram's URLs carry the bot token (`/bot<TOKEN>/`)
and WeChat's carry `access_token=` or `secret=`. python-telegram-bot logs request parameters
(the message text) at DEBUG. Installed once when a channel is configured, not at import.
"""

from __future__ import annotations

import logging
import re

_SECRET_IN_URL = re.compile(r"(/bot)[^/\s]+|((?:access_token|secret|appsecret)=)[^&\s\"']+")
# Loggers whose DEBUG records carry request or response bodies (message text).
_BODY_LOGGERS = ("telegram", "httpcore", "hpack", "wechatpy")
_URL_LOGGERS = ("httpx", "sanic.access", "aiohttp.client", "urllib3.connectionpool")


def redact(text: str) -> str:
    """`text` with bot tokens, access tokens and app secrets replaced by `***`."""
    return _SECRET_IN_URL.sub(lambda m: f"{m.group(1) or m.group(2)}***", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no token or secret in a URL reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacts the formatted message; always keeps the record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_installed = False


def install() -> None:
    """Adds the redacting filter to URL-logging loggers; raises body-logging ones to INFO."""
    global _installed
    if _installed:
        return
    for name in _URL_LOGGERS:
        logging.getLogger(name).addFilter(RedactingFilter())
    for name in _BODY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
    _installed = True
