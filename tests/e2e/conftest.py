"""Starts the real Rasa server, action server and case service for the end-to-end tests.

Free ports, a temporary directory for the SQLite databases and tokens, the trained model
from `make train`; all three processes are stopped when the session ends.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools.stack import Stack, StackConfig, free_port

# Settings of the developer's shell must not leak into the test stack.
_ISOLATED = (
    "DATABASE_URL", "TRACKER_DB", "TRACKER_DIALECT", "CASES_API_TOKEN", "RASA_TOKEN",
    "BOT_PROFILE", "PETITION_REF_PREFIX", "DEADLINE_PROFILE",
)  # fmt: skip


@dataclass
class Reply:
    """An HTTP answer: status and parsed JSON body (or None)."""

    status: int
    body: Any


@dataclass
class RunningStack:
    """Clients for the running processes."""

    config: StackConfig
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.config.rasa_port}"

    @property
    def cases_url(self) -> str:
        """Base URL of the case service."""
        return f"http://127.0.0.1:{self.config.cases_port}"

    def request(
        self, url: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """Sends a GET (or a POST when `body` is given) and parses the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw, status = answer.read(), answer.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return Reply(status, json.loads(raw) if raw else None)
        except json.JSONDecodeError:
            return Reply(status, raw.decode("utf-8", "replace"))

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """One message through the REST channel; the bot's answers."""
        reply = self.request(
            f"{self.rasa_url}/webhooks/rest/webhook", body={"sender": sender, "message": text}
        )
        assert reply.status == 200, reply.body
        messages: list[dict[str, Any]] = reply.body
        return messages

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation as Rasa keeps it (sender without the rest: prefix)."""
        token = self.env["RASA_TOKEN"]
        reply = self.request(f"{self.rasa_url}/conversations/rest:{sender}/tracker?token={token}")
        assert reply.status == 200, reply.body
        tracker: dict[str, Any] = reply.body
        return tracker

    def staff(self, path: str, token: str | None = None) -> Reply:
        """A staff API call with the right token (or the given one)."""
        bearer = self.env["CASES_API_TOKEN"] if token is None else token
        return self.request(
            f"{self.cases_url}{path}", headers={"Authorization": f"Bearer {bearer}"}
        )


def uttered(tracker: dict[str, Any]) -> list[str]:
    """The names of the responses the bot uttered, in order."""
    return [
        str((event.get("metadata") or {}).get("utter_action"))
        for event in tracker["events"]
        if event["event"] == "bot"
    ]


def user_intents(tracker: dict[str, Any]) -> list[str]:
    """The intents of the user's messages, in order."""
    return [
        event["parse_data"]["intent"]["name"]
        for event in tracker["events"]
        if event["event"] == "user"
    ]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The three servers, ready, on free ports with a fresh database."""
    root = Path(__file__).resolve().parents[2]
    model = root / "models" / "petition.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does it for you)")
    env = {key: value for key, value in os.environ.items() if key not in _ISOLATED}
    env["CASES_API_TOKEN"] = secrets.token_urlsafe(24)
    env["RASA_TOKEN"] = secrets.token_urlsafe(24)
    env["PETITION_REF_PREFIX"] = "WF"
    config = StackConfig(
        var_dir=tmp_path_factory.mktemp("var"),
        model=model,
        rasa_port=free_port(),
        action_port=free_port(),
        cases_port=free_port(),
        base_env=env,
    )
    log: list[str] = []
    running = Stack(config, sink=log.append)
    running.migrate()
    with running:
        try:
            running.wait_ready(timeout=600)
        except Exception:
            print("\n".join(log[-80:]))
            raise
        yield RunningStack(config, running.env, log)
