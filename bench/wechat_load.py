"""WeChat path vs REST path under load, against the running assistant (`make run`).

N simulated users (default 1, 10, 50) each send encrypted WeChat text messages back to back
for a fixed time (or with pauses averaging `--think` seconds after each reply), then
the same through Rasa's REST channel; prints median and p99
round-trip latency, messages per second, and the WeChat/REST ratios.

Users join one after another over the first `--ramp` seconds (default 2), as a load test
ramps up: with `--ramp 0` all N open a new conversation in the same instant, a burst of
session starts that no steady state has.

Start the assistant with the simulator's settings (see README), then:
    .venv/bot/bin/python bench/wechat_load.py [--seconds 20] [--users 1 10 50]
The WeChat API stand-in runs here on WECHAT_API_BASE's port (for the access_token and any
customer-service message sent when a reply misses the passive-reply budget).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.fakes.wechat_api import FakeWeChatApi
from connectors.fakes.wechat_push import WeChatServers, text_xml
from connectors.simulator import ENV_FILE
from connectors.wechat_protocol import WeChatConfig

MESSAGES = ["你好", "谢谢", "你是谁", "再见"]


@dataclass
class Result:
    """Latencies of one run."""

    path: str
    users: int
    latencies: list[float]
    seconds: float
    late: int = 0
    errors: int = 0

    def row(self) -> str:
        """One line of the table."""
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000 if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
        rate = len(lat) / self.seconds
        return (
            f"{self.path:<7} N={self.users:<3} n={len(lat):<6} median={p50:7.1f} ms  "
            f"p99={p99:7.1f} ms  {rate:6.1f} msg/s  late={self.late} errors={self.errors}"
        )

    def p(self, q: float) -> float:
        """The q-quantile latency in ms."""
        lat = sorted(self.latencies)
        if q == 0.5:
            return statistics.median(lat) * 1000
        return lat[min(len(lat) - 1, int(len(lat) * q))] * 1000


async def run(
    path: str,
    users: int,
    seconds: float,
    rasa: str,
    wx: WeChatServers,
    run_id: str,
    think: float = 0.0,
    ramp: float = 0.0,
) -> Result:
    """`users` concurrent senders for `seconds`."""
    result = Result(path, users, [], seconds)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=users + 5, max_keepalive_connections=users + 5)
    async with httpx.AsyncClient(timeout=30, limits=limits, trust_env=False) as client:

        async def user(number: int) -> None:
            sender = f"bench{run_id}{path}{users}u{number}"
            if think:
                await asyncio.sleep(random.uniform(0, think))  # noqa: S311 - not a secret
            elif ramp:
                await asyncio.sleep(ramp * number / users)
            for text in itertools.cycle(MESSAGES):
                if time.monotonic() > deadline:
                    return
                started = time.monotonic()
                try:
                    if path == "wechat":
                        push = wx.push(text_xml(sender, text))
                        url = (
                            f"{rasa}/webhooks/wechat/webhook?"
                            f"{urllib.parse.urlencode(push.query)}"
                        )
                        reply = await client.post(url, content=push.body)
                        ok = reply.status_code == 200
                        if ok and wx.reply_text(reply.content) is None:
                            result.late += 1
                    else:
                        reply = await client.post(
                            f"{rasa}/webhooks/rest/webhook",
                            json={"sender": sender, "message": text},
                        )
                        ok = reply.status_code == 200 and isinstance(reply.json(), list)
                except httpx.HTTPError:
                    ok = False
                if ok:
                    result.latencies.append(time.monotonic() - started)
                else:
                    result.errors += 1
                if think:
                    # Exponential pauses: users write independently (Poisson arrivals), as
                    # petitioners do; equal pauses would keep them marching in lockstep.
                    await asyncio.sleep(random.expovariate(1 / think))

        await asyncio.gather(*(user(n) for n in range(users)))
    return result


def settings() -> dict[str, str]:
    """WECHAT_* from the environment, else from the simulator's env file."""
    env = dict(os.environ)
    if not env.get("WECHAT_TOKEN") and ENV_FILE.exists():
        for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
            key, _sep, value = line.partition("=")
            env.setdefault(key.strip(), value.strip())
    return env


def main() -> int:
    """Runs every (users, path) pair and prints the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds each user pauses after a reply (0: back to back)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=2.0,
        help="seconds over which back-to-back users join (0: all at once)",
    )
    args = parser.parse_args()
    env = settings()
    config = WeChatConfig.from_env(env)
    if config is None:
        print("WECHAT_* settings needed (see README: WeChat simulator)", file=sys.stderr)
        return 2
    rasa = env.get("RASA_URL") or f"http://127.0.0.1:{env.get('RASA_PORT', '5005')}"
    wx = WeChatServers(config, safe=config.aes_key is not None)
    port = urllib.parse.urlsplit(config.api_base).port
    run_id = str(int(time.time()))
    rows: list[dict[str, object]] = []
    with FakeWeChatApi(config.appid, config.appsecret, port=port or 0) as api:
        asyncio.run(run("wechat", 2, 3, rasa, wx, run_id + "w"))  # warm up both paths
        asyncio.run(run("rest", 2, 3, rasa, wx, run_id + "w"))
        print(
            f"Rasa at {rasa}, {args.seconds:.0f} s per run, "
            f"{'safe' if wx.safe else 'plain'} mode, {os.cpu_count()} CPUs, "
            + (f"think {args.think:g} s" if args.think else f"ramp {args.ramp:g} s")
        )
        for users in args.users:
            paced = (args.seconds, rasa, wx, run_id, args.think, args.ramp)
            wechat = asyncio.run(run("wechat", users, *paced))
            rest = asyncio.run(run("rest", users, *paced))
            print(wechat.row())
            print(rest.row())
            ratio50 = wechat.p(0.5) / rest.p(0.5)
            ratio99 = wechat.p(0.99) / rest.p(0.99)
            print(
                f"        N={users:<3} WeChat/REST: median ×{ratio50:.2f}  p99 ×{ratio99:.2f}"
                f"  throughput ×{len(wechat.latencies) / max(1, len(rest.latencies)):.2f}"
            )
            rows.append(
                {
                    "users": users,
                    "wechat_p50_ms": round(wechat.p(0.5), 1),
                    "wechat_p99_ms": round(wechat.p(0.99), 1),
                    "rest_p50_ms": round(rest.p(0.5), 1),
                    "rest_p99_ms": round(rest.p(0.99), 1),
                    "wechat_msg_s": round(len(wechat.latencies) / args.seconds, 1),
                    "rest_msg_s": round(len(rest.latencies) / args.seconds, 1),
                    "p99_ratio": round(ratio99, 2),
                    "wechat_late": wechat.late,
                }
            )
        print(f"customer-service messages pushed during the runs: " f"{len(api.custom_messages())}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
