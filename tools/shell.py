"""`make shell`: chat with the running assistant in the terminal, through the REST channel."""

from __future__ import annotations

import os
import secrets
import sys
import urllib.error

from tools.stack import rest_message


def show(messages: list[dict[str, object]]) -> list[str]:
    """Prints the bot's messages; returns the payloads of its buttons, numbered from 1."""
    payloads: list[str] = []
    for message in messages:
        if message.get("text"):
            print(f"助手> {message['text']}")
        for button in message.get("buttons") or []:  # type: ignore[attr-defined]
            payloads.append(str(button.get("payload", "")))
            print(f"  {len(payloads)}. {button.get('title', '')}")
    return payloads


def main() -> int:
    """Reads lines, sends each, prints the answers; a number picks a button."""
    url = os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}"
    sender = os.environ.get("SHELL_SENDER") or f"shell-{secrets.token_hex(4)}"
    print(f"与信访智能受理助手对话（{url}，会话 rest:{sender}）。输入 Ctrl-D 退出。")
    payloads: list[str] = []
    while True:
        try:
            line = input("您> ")
        except EOFError:
            print()
            return 0
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(payloads):
            text = payloads[int(text) - 1]
        try:
            payloads = show(rest_message(url, sender, text))
        except (urllib.error.URLError, OSError) as error:
            print(f"cannot reach the assistant at {url} ({error}); is `make run` running?")
            return 1


if __name__ == "__main__":
    sys.exit(main())
