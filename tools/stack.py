"""Starts and stops the three processes: Rasa server, action server, case service.

Used by `make run` (in the foreground, logs prefixed) and by the end-to-end tests (on free
ports, with a temporary database). Standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ("CASES_API_TOKEN", "RASA_TOKEN", "PII_KEY")
# Referenced as ${VAR} in bot/credentials.yml: empty (the channel disabled) when unset.
CHANNEL_VARIABLES = (
    "WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_AES_KEY",
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN",
)  # fmt: skip


class StackError(RuntimeError):
    """A process failed to start or to become ready."""


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_secret(name: str) -> str:
    """A fresh value for the secret `name`: a Fernet key for PII_KEY, else a random token."""
    if name == "PII_KEY":
        # What cryptography's Fernet.generate_key() returns: 32 random bytes, url-safe base64.
        return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
    return secrets.token_urlsafe(32)


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """Local secrets kept in `path` (mode 600), generated on first use."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() in SECRETS:
                values[key.strip()] = value.strip()
    missing = [key for key in SECRETS if not values.get(key)]
    if missing:
        for key in missing:
            values[key] = new_secret(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{key}={values[key]}\n" for key in SECRETS), encoding="utf-8")
        path.chmod(0o600)
    return values


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Where things are and which ports to use."""

    root: Path = ROOT
    var_dir: Path = ROOT / "var"
    model: Path = ROOT / "models" / "petition.tar.gz"
    rasa_port: int = 5005
    action_port: int = 5055
    cases_port: int = 8000
    host: str = "127.0.0.1"
    base_env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def bot_python(self) -> Path:
        """The bot environment's interpreter (Rasa)."""
        return self.root / ".venv" / "bot" / "bin" / "python"

    @property
    def cases_python(self) -> Path:
        """The cases environment's interpreter (rasa-sdk, SQLAlchemy 2)."""
        return self.root / ".venv" / "cases" / "bin" / "python"

    def environment(self) -> dict[str, str]:
        """The processes' environment: the caller's, plus local defaults for what is unset."""
        env = dict(self.base_env)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        env.setdefault("DATABASE_URL", f"sqlite:///{self.var_dir / 'cases.db'}")
        env.setdefault("TRACKER_DIALECT", "sqlite")
        env.setdefault("TRACKER_DB", str(self.var_dir / "tracker.db"))
        # Rasa handles messages on one core per worker process; the conversation locks are
        # shared through the database (bot/endpoints.yml), so two workers use both cores.
        env.setdefault("SANIC_WORKERS", "2")
        for key in CHANNEL_VARIABLES:
            env.setdefault(key, "")
        if not all(env.get(key) for key in SECRETS):
            generated = load_or_create_secrets(self.var_dir / "secrets.env")
            for key in SECRETS:
                env[key] = env.get(key) or generated[key]
        env["RASA_PORT"] = str(self.rasa_port)
        env["ACTION_PORT"] = str(self.action_port)
        env["CASES_PORT"] = str(self.cases_port)
        env["RASA_URL"] = f"http://{self.host}:{self.rasa_port}"
        env["ACTION_ENDPOINT_URL"] = f"http://{self.host}:{self.action_port}/webhook"
        env["PYTHONPATH"] = str(self.root)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
        return env

    def commands(self, env: dict[str, str]) -> dict[str, list[str]]:
        """The command line of each process, by name."""
        return {
            "rasa": [
                str(self.bot_python), "-m", "rasa", "run",
                # One argument: a token may start with "-", which argparse would take for a flag.
                "--enable-api", f"--auth-token={env['RASA_TOKEN']}",
                "--interface", self.host, "--port", str(self.rasa_port),
                "--model", str(self.model),
                "--endpoints", str(self.root / "bot" / "endpoints.yml"),
                "--credentials", str(self.root / "bot" / "credentials.yml"),
            ],
            "actions": [
                str(self.cases_python), "-m", "rasa_sdk", "--actions", "actions",
                "--port", str(self.action_port),
            ],
            "cases": [
                str(self.cases_python), "-m", "cases", "serve",
                "--host", self.host, "--port", str(self.cases_port),
            ],
        }  # fmt: skip

    def health_checks(self, env: dict[str, str]) -> dict[str, str]:
        """A URL per process that answers 200 once the process is ready."""
        return {
            "rasa": f"http://{self.host}:{self.rasa_port}/status?token={env['RASA_TOKEN']}",
            "actions": f"http://{self.host}:{self.action_port}/health",
            "cases": f"http://{self.host}:{self.cases_port}/healthz",
        }


def _pump(name: str, stream: IO[bytes], sink: Callable[[str], None]) -> None:
    width = len("actions")
    for raw in iter(stream.readline, b""):
        sink(f"{name:<{width}} | {raw.decode('utf-8', 'replace').rstrip()}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - local URL
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Stack:
    """The running processes; a context manager that always stops them."""

    def __init__(self, config: StackConfig, sink: Callable[[str], None] | None = None) -> None:
        """Prepares to run; nothing starts until `start()`."""
        self.config = config
        self.env = config.environment()
        self._sink = sink or (lambda line: print(line, flush=True))
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._pumps: list[threading.Thread] = []

    def migrate(self) -> None:
        """Brings the case database to the newest schema."""
        subprocess.run(
            [str(self.config.cases_python), "-m", "cases", "migrate"],
            env=self.env,
            cwd=self.config.root,
            check=True,
        )

    def start(self) -> None:
        """Starts every process (without waiting for readiness)."""
        for name, command in self.config.commands(self.env).items():
            process = subprocess.Popen(
                command,
                cwd=self.config.root,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._processes[name] = process
            assert process.stdout is not None
            pump = threading.Thread(
                target=_pump, args=(name, process.stdout, self._sink), daemon=True
            )
            pump.start()
            self._pumps.append(pump)

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Waits until every process answers its health check; raises if one dies."""
        pending = dict(self.config.health_checks(self.env))
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                process = self._processes[name]
                if process.poll() is not None:
                    raise StackError(f"{name} exited with status {process.returncode}")
                if _http_ok(pending[name]):
                    del pending[name]
            if time.monotonic() > deadline:
                raise StackError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)

    def wait(self) -> int:
        """Blocks until a process exits; returns its status."""
        while True:
            for name, process in self._processes.items():
                if process.poll() is not None:
                    self._sink(f"{name} exited with status {process.returncode}")
                    return process.returncode or 1
            time.sleep(0.5)

    def stop(self, grace: float = 15.0) -> None:
        """Asks every process to stop (SIGTERM), then kills what is left after `grace`."""
        for process in self._processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self._processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pump in self._pumps:
            pump.join(timeout=2)

    def __enter__(self) -> Stack:
        """Starts the stack."""
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stops the stack, whatever happened."""
        self.stop()


def describe(config: StackConfig, env: dict[str, str]) -> str:
    """Where to talk to the running assistant."""
    lines = [
        "The petition intake assistant is running:",
        f"  chat in the terminal:  make shell   (REST: POST http://{config.host}:"
        f"{config.rasa_port}/webhooks/rest/webhook)",
        f"  Rasa HTTP API:         http://{config.host}:{config.rasa_port}  (token: RASA_TOKEN)",
        f"  action server:         http://{config.host}:{config.action_port}/health",
        f"  staff API:             http://{config.host}:{config.cases_port}/docs"
        "  (Authorization: Bearer $CASES_API_TOKEN)",
    ]
    if "CASES_API_TOKEN" not in config.base_env:
        lines.append(f"  local tokens are in    {config.var_dir / 'secrets.env'}")
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


def rest_message(
    rasa_url: str, sender: str, text: str, timeout: float = 60.0
) -> list[dict[str, object]]:
    """Sends one message through the REST channel; returns the bot's messages."""
    request = urllib.request.Request(  # noqa: S310 - the local Rasa URL
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - local URL
        messages: list[dict[str, object]] = json.loads(reply.read())
    return messages


def main() -> int:
    """`make run`: migrate, start all three, print where to talk, stop all on a signal."""
    config = StackConfig(
        rasa_port=int(os.environ.get("RASA_PORT", "5005")),
        action_port=int(os.environ.get("ACTION_PORT", "5055")),
        cases_port=int(os.environ.get("CASES_PORT", "8000")),
    )
    stack = Stack(config)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.migrate()
        stack.start()
        stack.wait_ready()
        print(describe(config, stack.env), flush=True)
        return stack.wait()
    except KeyboardInterrupt:
        print("stopping…", flush=True)
        return 0
    except (StackError, subprocess.CalledProcessError) as error:
        print(f"could not start: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
