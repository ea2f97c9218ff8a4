"""A stand-in for the WeChat API (api.weixin.qq.com) on 127.0.0.1.

Issues access tokens for one appid/secret, accepts customer-service and template messages
(only with the current token), serves temporary media, and answers with a WeChat errcode
when told to (`fail`). Every call is recorded.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from connectors.fakes.recording import Call, RecordingServer, Reply

CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
TOKEN = "/cgi-bin/token"  # noqa: S105 - a URL path, not a secret
MEDIA_GET = "/cgi-bin/media/get"


class FakeWeChatApi:
    """The WeChat API of one official account, in a thread."""

    def __init__(self, appid: str, secret: str, port: int = 0) -> None:
        """Serves on 127.0.0.1:`port` once started."""
        self.appid = appid
        self.secret = secret
        self.tokens_issued = 0
        self.token_delay = 0.0
        self.media: dict[str, tuple[bytes, str]] = {}
        self._failures: dict[str, list[int]] = defaultdict(list)
        self.accepted: dict[str, list[dict[str, object]]] = defaultdict(list)
        self._current: str | None = None
        self._lock = threading.Lock()
        self.server = RecordingServer(self._route, port)

    @property
    def base_url(self) -> str:
        """Where to point WECHAT_API_BASE."""
        return self.server.base_url

    def fail(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls to `path` answer `errcode`."""
        with self._lock:
            self._failures[path].extend([errcode] * times)

    def expire_token(self) -> None:
        """Invalidates the current token (as when WeChat rotates it early)."""
        with self._lock:
            self._current = None

    def custom_messages(self, openid: str | None = None) -> list[dict[str, object]]:
        """Accepted customer-service messages (to `openid`, if given)."""
        with self._lock:
            bodies = list(self.accepted[CUSTOM_SEND])
        return [b for b in bodies if openid is None or b.get("touser") == openid]

    def templates(self) -> list[dict[str, object]]:
        """Accepted template messages."""
        with self._lock:
            return list(self.accepted[TEMPLATE_SEND])

    def _route(self, call: Call) -> Reply:
        if call.path == TOKEN:
            return self._token(call)
        with self._lock:
            current = self._current
            failures = self._failures.get(call.path)
            errcode = failures.pop(0) if failures else 0
        if not current or call.query.get("access_token") != current:
            return Reply.of_json({"errcode": 40001, "errmsg": "invalid credential"})
        if errcode:
            return Reply.of_json({"errcode": errcode, "errmsg": "fake failure"})
        if call.path == MEDIA_GET:
            media = self.media.get(call.query.get("media_id", ""))
            if media is None:
                return Reply.of_json({"errcode": 40007, "errmsg": "invalid media_id"})
            return Reply(200, media[0], media[1])
        if call.path in (CUSTOM_SEND, TEMPLATE_SEND):
            body = call.json()
            if not isinstance(body, dict):
                return Reply.of_json({"errcode": 44002, "errmsg": "empty post data"})
            with self._lock:
                self.accepted[call.path].append(body)
            return Reply.of_json({"errcode": 0, "errmsg": "ok", "msgid": len(self.server.calls)})
        return Reply.of_json({"errcode": 48001, "errmsg": "api unauthorized"}, status=200)

    def _token(self, call: Call) -> Reply:
        if call.query.get("appid") != self.appid or call.query.get("secret") != self.secret:
            return Reply.of_json({"errcode": 40125, "errmsg": "invalid appsecret"})
        with self._lock:
            failures = self._failures.get(TOKEN)
            errcode = failures.pop(0) if failures else 0
        if errcode:
            return Reply.of_json({"errcode": errcode, "errmsg": "fake failure"})
        if self.token_delay:
            time.sleep(self.token_delay)
        with self._lock:
            self.tokens_issued += 1
            self._current = f"FAKE-ACCESS-TOKEN-{self.tokens_issued}"
            return Reply.of_json({"access_token": self._current, "expires_in": 7200})

    def start(self) -> FakeWeChatApi:
        """Starts serving."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stops serving."""
        self.server.stop()

    def __enter__(self) -> FakeWeChatApi:
        """Starts serving."""
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        """Stops serving."""
        self.stop()
