"""A threaded HTTP server on 127.0.0.1 that records every request it answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """The body parsed as JSON (None when it is not)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass(frozen=True)
class Reply:
    """What the fake answers."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"

    @classmethod
    def of_json(cls, value: Any, status: int = 200) -> Reply:
        """A JSON reply."""
        return cls(status, json.dumps(value, ensure_ascii=False).encode(), "application/json")


Route = Callable[[Call], Reply]


class RecordingServer:
    """Answers each request with `route(call)` and keeps the calls (thread-safe)."""

    def __init__(self, route: Route, port: int = 0) -> None:
        """Binds 127.0.0.1:`port` (0: any free port); serving starts with `start()`."""
        self._route = route
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.listeners: list[Callable[[Call], None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                call = Call(self.command, unquote(parts.path), query, body)
                outer._record(call)
                reply = outer._route(call)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return  # URLs carry tokens: never print them

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        for listener in list(self.listeners):
            listener(call)

    def calls_to(self, path_suffix: str) -> list[Call]:
        """The calls whose path ends with `path_suffix`."""
        with self._lock:
            return [call for call in self.calls if call.path.endswith(path_suffix)]

    def wait_for(self, path_suffix: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Blocks until `count` calls to `path_suffix` arrived; returns them (maybe fewer)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.path.endswith(path_suffix)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def start(self) -> RecordingServer:
        """Starts serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RecordingServer:
        """Starts the server."""
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        """Stops the server."""
        self.stop()
