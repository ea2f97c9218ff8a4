"""A Rasa-shaped server for channel tests: our channel on Rasa's own `configure_app`, with a
fake agent (the real domain, scripted answers) in place of the trained model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.run import configure_app
from rasa.shared.core.domain import Domain
from sanic import Sanic

from tools.stack import free_port

ROOT = Path(__file__).resolve().parents[2]

Answer = Callable[[UserMessage], list[dict[str, Any]]]


@lru_cache(maxsize=1)
def domain() -> Domain:
    """The assistant's real domain (responses, buttons, intents)."""
    return Domain.load(str(ROOT / "bot" / "domain"))


def echo(message: UserMessage) -> list[dict[str, Any]]:
    """Answers every message with one text naming nothing of what was said."""
    return [{"text": "收到"}]


@dataclass
class FakeAgent:
    """Records the UserMessages Rasa would get and answers with `answer`, after `delay`."""

    answer: Answer = echo
    delay: float = 0.0
    domain: Domain = field(default_factory=domain)
    received: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        """What `rasa.core.agent.Agent.handle_message` does, as far as channels can tell."""
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        for reply in self.answer(message):
            await message.output_channel.send_response(message.sender_id, dict(reply))


class ChannelServer:
    """Runs `configure_app([channel])` on a free port in a thread with its own event loop."""

    def __init__(self, channel: InputChannel, agent: FakeAgent) -> None:
        """Prepares the app; `start()` serves it."""
        Sanic.test_mode = True
        self.channel = channel
        self.agent = agent
        self.port = free_port()
        self.app = configure_app([channel], enable_api=False, port=self.port)
        self.app.ctx.agent = agent
        self.loop = asyncio.new_event_loop()
        self._server: Any = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    def run(self, coroutine: Any) -> Any:
        """Runs `coroutine` on the server's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def start(self) -> ChannelServer:
        """Serves until `stop()`."""
        self._thread.start()

        async def serve() -> Any:
            server = await self.app.create_server(
                host="127.0.0.1", port=self.port, return_asyncio_server=True
            )
            await server.startup()
            await server.before_start()
            await server.after_start()
            await server.start_serving()
            return server

        self._server = self.run(serve())
        return self

    def stop(self) -> None:
        """Stops serving and the loop."""

        async def close() -> None:
            await self._server.before_stop()
            self._server.close()
            await self._server.wait_closed()
            await self._server.after_stop()
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()

        self.run(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
