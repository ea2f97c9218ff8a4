"""The WeChat API calls the channel makes: access_token, customer-service and template
messages, temporary media. Base URL from `WECHAT_API_BASE` (tests use a local stand-in).

The access_token is shared by every Rasa process through `ChannelState` (table
`channel_token`): a process uses its in-memory copy until shortly before expiry, then the
stored one; only the process holding the refresh lease asks WeChat for a new token (with a
timeout), the others wait for it to appear. A token WeChat calls invalid is dropped and
fetched again once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import httpx

from connectors.state import CachedToken, ChannelState
from connectors.wechat_protocol import WeChatConfig

logger = logging.getLogger(__name__)

TOKEN_TIMEOUT_SECONDS = 5.0
CALL_TIMEOUT_SECONDS = 10.0
MAX_MEDIA_BYTES = 10 * 1024 * 1024
# A token is renewed this long before WeChat says it expires.
_TOKEN_MARGIN_SECONDS = 300.0


class ErrorCode(IntEnum):
    """WeChat API error codes the channel acts on."""

    OK = 0
    SYSTEM_BUSY = -1
    INVALID_CREDENTIAL = 40001
    INVALID_ACCESS_TOKEN = 40014
    ACCESS_TOKEN_EXPIRED = 42001
    USER_UNSUBSCRIBED = 43004
    OUT_OF_WINDOW = 45015
    TOO_MANY_CUSTOM = 45047
    QUOTA_EXCEEDED = 45009


_TOKEN_ERRORS = {
    ErrorCode.INVALID_CREDENTIAL,
    ErrorCode.INVALID_ACCESS_TOKEN,
    ErrorCode.ACCESS_TOKEN_EXPIRED,
}


class WeChatApiError(Exception):
    """WeChat answered with a non-zero errcode, or not at all."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        """Keeps WeChat's code (ours: -2 for transport failures)."""
        super().__init__(f"WeChat API error {errcode}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True)
class Media:
    """A downloaded temporary media file."""

    data: bytes
    content_type: str


class WeChatApi:
    """Async client of the WeChat API for one official account."""

    def __init__(self, config: WeChatConfig, state: ChannelState) -> None:
        """Prepares the client; it connects on first use."""
        self.config = config
        self.state = state
        self._client: httpx.AsyncClient | None = None
        self._token: CachedToken | None = None
        self._token_lock: asyncio.Lock | None = None

    @property
    def _token_name(self) -> str:
        return f"wechat:{self.config.appid}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.config.api_base, timeout=CALL_TIMEOUT_SECONDS, trust_env=False
            )
        return self._client

    async def close(self) -> None:
        """Closes the HTTP connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # access_token ----------------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid access_token, shared with the other processes (see the module doc)."""
        now = time.time()
        if self._token and self._token.expires_at - _TOKEN_MARGIN_SECONDS > now:
            return self._token.value
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            deadline = time.monotonic() + TOKEN_TIMEOUT_SECONDS * 2
            while True:
                now = time.time()
                stored = await asyncio.to_thread(self.state.token, self._token_name)
                if stored and stored.expires_at - _TOKEN_MARGIN_SECONDS > now:
                    self._token = stored
                    return stored.value
                claimed = await asyncio.to_thread(
                    self.state.claim_refresh, self._token_name, TOKEN_TIMEOUT_SECONDS * 2
                )
                if claimed:
                    return await self._refresh()
                if time.monotonic() > deadline:
                    raise WeChatApiError(-2, "access_token refresh by another process timed out")
                await asyncio.sleep(0.2)

    async def _refresh(self) -> str:
        try:
            reply = await self._http().get(
                "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.config.appid,
                    "secret": self.config.appsecret,
                },
                timeout=TOKEN_TIMEOUT_SECONDS,
            )
            body = _json(reply)
            token, expires_in = body.get("access_token"), body.get("expires_in", 7200)
            if not isinstance(token, str) or not token:
                raise WeChatApiError(int(body.get("errcode", -2)), str(body.get("errmsg", "")))
        except (httpx.HTTPError, WeChatApiError) as error:
            await asyncio.to_thread(self.state.release_refresh, self._token_name)
            logger.error("WeChat access_token refresh failed (%s)", type(error).__name__)
            if isinstance(error, WeChatApiError):
                raise
            raise WeChatApiError(-2, "transport") from error
        cached = CachedToken(token, time.time() + float(expires_in))
        await asyncio.to_thread(
            self.state.store_token, self._token_name, cached.value, cached.expires_at
        )
        self._token = cached
        logger.info("WeChat access_token refreshed")
        return token

    async def _forget_token(self, value: str) -> None:
        self._token = None
        await asyncio.to_thread(self.state.invalidate_token, self._token_name, value)

    # calls -----------------------------------------------------------------------------

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                reply = await self._http().post(path, params={"access_token": token}, json=payload)
            except httpx.HTTPError as error:
                raise WeChatApiError(-2, "transport") from error
            body = _json(reply)
            code = int(body.get("errcode", 0) or 0)
            if code in _TOKEN_ERRORS and attempt == 1:
                await self._forget_token(token)
                continue
            if code != ErrorCode.OK:
                raise WeChatApiError(code, str(body.get("errmsg", "")))
            return body
        raise WeChatApiError(ErrorCode.INVALID_CREDENTIAL)

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (within 48 h of the user's last message)."""
        await self._post(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def send_template(self, openid: str, template_id: str, data: dict[str, str]) -> None:
        """A template message (allowed outside the 48-hour window)."""
        await self._post(
            "/cgi-bin/message/template/send",
            {
                "touser": openid,
                "template_id": template_id,
                "data": {key: {"value": value} for key, value in data.items()},
            },
        )

    async def download_media(self, media_id: str) -> Media:
        """A temporary media file (they expire after 3 days: download at once)."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                reply = await self._http().get(
                    "/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}
                )
            except httpx.HTTPError as error:
                raise WeChatApiError(-2, "transport") from error
            content_type = reply.headers.get("content-type", "")
            if reply.status_code == 200 and not content_type.startswith(
                ("application/json", "text/")
            ):
                if len(reply.content) > MAX_MEDIA_BYTES:
                    raise WeChatApiError(-3, "media too large")
                return Media(reply.content, content_type)
            body = _json(reply)
            code = int(body.get("errcode", -2) or -2)
            if code in _TOKEN_ERRORS and attempt == 1:
                await self._forget_token(token)
                continue
            raise WeChatApiError(code, str(body.get("errmsg", "")))
        raise WeChatApiError(ErrorCode.INVALID_CREDENTIAL)


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError as error:
        raise WeChatApiError(-2, f"HTTP {reply.status_code}, not JSON") from error
    if not isinstance(body, dict):
        raise WeChatApiError(-2, "not a JSON object")
    return body
