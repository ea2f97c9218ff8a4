"""A stand-in for the Telegram Bot API on 127.0.0.1 (`/bot<TOKEN>/<method>`).

Answers sendMessage, answerCallbackQuery, getFile (+ file download), setWebhook and getMe
for one token; `fail(method, ...)` makes the next calls answer a Bot API error (429 with
`retry_after`, 403 "bot was blocked by the user"). Every call is recorded, with its
parameters decoded as python-telegram-bot sends them (form fields, JSON-encoded values).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs

from connectors.fakes.recording import Call, RecordingServer, Reply

BLOCKED = (403, "Forbidden: bot was blocked by the user")


def parameters(call: Call) -> dict[str, Any]:
    """The method parameters of a Bot API call."""
    if call.body.startswith(b"{"):
        value = call.json()
        return value if isinstance(value, dict) else {}
    fields = {k: v[-1] for k, v in parse_qs(call.body.decode(errors="replace")).items()}
    decoded: dict[str, Any] = {}
    for key, value in fields.items():
        try:
            decoded[key] = json.loads(value) if value[:1] in "[{" else value
        except ValueError:
            decoded[key] = value
    return decoded


class FakeTelegramApi:
    """The Bot API of one bot, in a thread."""

    def __init__(self, token: str, port: int = 0) -> None:
        """Serves on 127.0.0.1:`port` once started."""
        self.token = token
        self.files: dict[str, bytes] = {}
        self._failures: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []
        self.sent_at: list[float] = []
        self.server = RecordingServer(self._route, port)

    @property
    def base_url(self) -> str:
        """Where to point TELEGRAM_API_BASE."""
        return self.server.base_url

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` answer this error."""
        with self._lock:
            self._failures[method].extend([(status, description, retry_after)] * times)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of `method`."""
        return [parameters(c) for c in self.server.calls_to(f"/{method}")]

    def wait_sent(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Blocks until `count` messages were accepted; returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.sent) >= count:
                    return list(self.sent)
            time.sleep(0.02)
        with self._lock:
            return list(self.sent)

    def _route(self, call: Call) -> Reply:
        if call.path.startswith(f"/file/bot{self.token}/"):
            data = self.files.get(call.path.split("/", 3)[3])
            return Reply(200, data, "image/jpeg") if data is not None else Reply(404, b"")
        prefix = f"/bot{self.token}/"
        if not call.path.startswith(prefix):
            return Reply.of_json(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = call.path[len(prefix) :]
        with self._lock:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            status, description, retry_after = failure
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
            if retry_after is not None:
                body["parameters"] = {"retry_after": retry_after}
            return Reply.of_json(body, status=status)
        params = parameters(call)
        if method == "sendMessage":
            with self._lock:
                self.sent.append(params)
                self.sent_at.append(time.monotonic())
                message_id = len(self.sent)
            chat = {"id": int(params.get("chat_id", 0)), "type": "private"}
            return self._ok(
                {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "text": params.get("text", ""),
                }
            )
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            if file_id not in self.files:
                return Reply.of_json(
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                    status=400,
                )
            return self._ok(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u-{file_id}",
                    "file_size": len(self.files[file_id]),
                    "file_path": file_id,
                }
            )
        if method == "getMe":
            return self._ok(
                {
                    "id": int(self.token.split(":")[0] or 1),
                    "is_bot": True,
                    "first_name": "信访助手",
                    "username": "petition_bot",
                }
            )
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return self._ok(True)
        return Reply.of_json(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    @staticmethod
    def _ok(result: Any) -> Reply:
        return Reply.of_json({"ok": True, "result": result})

    def start(self) -> FakeTelegramApi:
        """Starts serving."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        self.server.stop()

    def __enter__(self) -> FakeTelegramApi:
        """Starts serving."""
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        """Stops serving."""
        self.stop()
