"""Rasa's REST channel made safe: namespaced senders, capped and neutralised text.

Local profile only (`make shell`, tests, local tools); it registers no route in production.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.base import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    PayloadCache,
    Profile,
    agent_domain,
    current_profile,
    prepare,
    render_response,
    spread_over_workers,
)

logger = logging.getLogger(__name__)

_SENDER = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
PREFIX = "rest"


class RestChannel(InputChannel):
    """`POST /webhooks/rest/webhook` with `{"sender": ID, "message": TEXT}`."""

    @classmethod
    def name(cls) -> str:
        """The channel name, also its URL segment."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """No credentials: the local profile trusts the machine it runs on."""
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook routes; none in the production profile."""
        hook = spread_over_workers(Blueprint("rest_channel_webhook", __name__))
        payloads = PayloadCache()
        if current_profile() == Profile.PRODUCTION:
            logger.warning("REST channel disabled in the production profile")
            return hook

        @hook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json({"error": "body too large"}, status=413)
            try:
                body = request.json
            except InvalidUsage:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "expected a JSON object"}, status=400)
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
                return response.json({"error": "sender must be 1-64 of A-Z a-z 0-9 _ . -"}, 400)
            if text is None:
                text = ""
            if not isinstance(text, str):
                return response.json({"error": "message must be a string"}, status=400)

            domain = agent_domain(request.app)
            prepared = prepare(text, payloads.for_domain(domain))
            collector = CollectingOutputChannel()
            metadata = {"truncated": prepared.truncated}
            await on_new_message(
                UserMessage(
                    prepared.text,
                    collector,
                    f"{PREFIX}:{sender}",
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )
            messages: list[dict[str, Any]] = list(collector.messages)
            if prepared.truncated:
                notice = render_response(domain, "utter_message_truncated", limit=MAX_MESSAGE_CHARS)
                if notice:
                    messages.insert(0, {"recipient_id": f"{PREFIX}:{sender}", "text": notice})
            return response.json(messages)

        return hook
