"""`make wechat-chat`: chat with the running assistant as a WeChat user would.

Speaks the real protocol to `POST /webhooks/wechat/webhook` (signed, AES-encrypted pushes;
passive replies decrypted and checked) and runs the WeChat API stand-in on the port of
`WECHAT_API_BASE`, printing the customer-service messages the assistant pushes there.

The assistant must run with the same WECHAT_* settings. The first run writes them to
`var/wechat-sim.env`; start the assistant with `set -a; . var/wechat-sim.env; set +a; make run`.
Lines starting with `:` are WeChat actions: `:voice TEXT`, `:location LABEL`, `:image`,
`:subscribe [SCENE]`, `:menu KEY`; a number picks a numbered choice; Ctrl-D quits.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from connectors.fakes.recording import Call
from connectors.fakes.wechat_api import CUSTOM_SEND, TEMPLATE_SEND, FakeWeChatApi
from connectors.fakes.wechat_push import WeChatServers, event_xml, message_xml, text_xml
from connectors.wechat_protocol import WeChatConfig

ENV_FILE = Path("var") / "wechat-sim.env"
DEFAULT_API_PORT = 5099
# A 1×1 JPEG stand-in for a photo taken by the user.
_PHOTO = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkS")


def _write_env_file() -> None:
    values = {
        "WECHAT_TOKEN": secrets.token_urlsafe(16),
        "WECHAT_APPID": "wxsimulator" + secrets.token_hex(4),
        "WECHAT_APPSECRET": secrets.token_hex(16),
        "WECHAT_AES_KEY": base64.b64encode(os.urandom(32)).decode().rstrip("="),
        "WECHAT_API_BASE": f"http://127.0.0.1:{DEFAULT_API_PORT}",
    }
    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    ENV_FILE.chmod(0o600)


def _settings() -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("WECHAT_TOKEN"):
        if not ENV_FILE.exists():
            _write_env_file()
            print(f"Wrote simulator settings to {ENV_FILE}. Start the assistant with them:")
            print(f"  set -a; . {ENV_FILE}; set +a; make run")
            print("then run `make wechat-chat` again (in another terminal).")
            raise SystemExit(0)
        for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
            key, _sep, value = line.partition("=")
            env.setdefault(key.strip(), value.strip())
    return env


def _show_push(call: Call) -> None:
    body = call.json()
    if not isinstance(body, dict):
        return
    if call.path == CUSTOM_SEND:
        content = (body.get("text") or {}).get("content", "")
        print(f"\n助手（客服消息）> {content}\n您> ", end="", flush=True)
    elif call.path == TEMPLATE_SEND:
        print(f"\n助手（模板消息）> {body.get('data')}\n您> ", end="", flush=True)


def _inner(line: str, openid: str, api: FakeWeChatApi) -> str:
    command, _sep, rest = line.partition(" ")
    if command == ":voice":
        return message_xml(
            openid, "voice", {"MediaId": "voice-1", "Format": "amr", "Recognition": rest}
        )
    if command == ":location":
        return message_xml(
            openid,
            "location",
            {"Location_X": "39.9042", "Location_Y": "116.4074", "Scale": "15", "Label": rest},
        )
    if command == ":image":
        media_id = "sim-" + secrets.token_hex(4)
        api.media[media_id] = (_PHOTO, "image/jpeg")
        return message_xml(
            openid, "image", {"PicUrl": "http://example.invalid/p.jpg", "MediaId": media_id}
        )
    if command == ":subscribe":
        return event_xml(openid, "subscribe", f"qrscene_{rest}" if rest else "")
    if command == ":menu":
        return event_xml(openid, "CLICK", rest)
    return text_xml(openid, line)


def main() -> int:
    """Runs the API stand-in and the chat loop."""
    env = _settings()
    config = WeChatConfig.from_env(env)
    if config is None:
        print("WECHAT_TOKEN, WECHAT_APPID and WECHAT_APPSECRET are needed", file=sys.stderr)
        return 2
    api_url = urllib.parse.urlsplit(config.api_base)
    if api_url.hostname not in ("127.0.0.1", "localhost") or not api_url.port:
        print("WECHAT_API_BASE must be http://127.0.0.1:PORT for the simulator", file=sys.stderr)
        return 2
    rasa = env.get("RASA_URL") or f"http://127.0.0.1:{env.get('RASA_PORT', '5005')}"
    servers = WeChatServers(config, safe=config.aes_key is not None)
    openid = "oSimulator" + secrets.token_hex(4)
    api = FakeWeChatApi(config.appid, config.appsecret, port=api_url.port)
    api.server.listeners.append(_show_push)
    with api:
        print(
            f"模拟微信用户 {openid} 与信访智能受理助手对话（{rasa}，"
            f"{'安全模式' if servers.safe else '明文模式'}）。输入 Ctrl-D 退出。"
        )
        while True:
            try:
                line = input("您> ").strip()
            except EOFError:
                print()
                return 0
            if not line:
                continue
            push = servers.push(_inner(line, openid, api))
            url = f"{rasa}/webhooks/wechat/webhook?{urllib.parse.urlencode(push.query)}"
            request = urllib.request.Request(  # noqa: S310 - the local Rasa URL
                url, data=push.body, headers={"Content-Type": "text/xml"}
            )
            try:
                with urllib.request.urlopen(request, timeout=15) as reply:  # noqa: S310
                    text = servers.reply_text(reply.read())
            except (urllib.error.URLError, OSError) as error:
                print(
                    f"cannot reach the assistant at {rasa} ({error}); is `make run` running "
                    "with the simulator settings?"
                )
                return 1
            if text:
                print(f"助手> {text}")


if __name__ == "__main__":
    sys.exit(main())
