"""`make telegram-webhook URL=https://host/webhooks/telegram/webhook`: registers the webhook
with its secret token. Done on purpose, never at start-up."""

from __future__ import annotations

import argparse
import asyncio
import sys

from telegram.error import TelegramError

from connectors import logs
from connectors.telegram import ConfigError, TelegramConfig, make_bot

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


async def register(config: TelegramConfig, url: str) -> bool:
    """Calls setWebhook with the secret token and the update kinds the channel reads."""
    bot = make_bot(config)
    async with bot:
        return bool(
            await bot.set_webhook(
                url, secret_token=config.secret_token, allowed_updates=ALLOWED_UPDATES
            )
        )


def main(argv: list[str] | None = None) -> int:
    """Registers the webhook given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="public HTTPS URL of /webhooks/telegram/webhook")
    args = parser.parse_args(argv)
    logs.install()
    try:
        config = TelegramConfig.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if config is None:
        print("TELEGRAM_BOT_TOKEN and TELEGRAM_SECRET_TOKEN must be set", file=sys.stderr)
        return 2
    try:
        ok = asyncio.run(register(config, args.url))
    except TelegramError as error:
        print(f"setWebhook failed: {type(error).__name__}", file=sys.stderr)
        return 1
    print("webhook registered" if ok else "Telegram refused the webhook")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
