"""Tests of the process supervisor's configuration (no processes started)."""

from __future__ import annotations

import stat
from pathlib import Path

from cases.pii import PiiCipher
from tools.stack import StackConfig, load_or_create_secrets


class TestSecrets:
    """Local tokens in var/secrets.env."""

    def test_generated_once_and_private(self, tmp_path: Path) -> None:
        """Tokens are created on first use with mode 600 and reused afterwards."""
        path = tmp_path / "secrets.env"
        first = load_or_create_secrets(path)
        assert set(first) == {"CASES_API_TOKEN", "RASA_TOKEN", "PII_KEY"}
        assert all(len(value) >= 32 for value in first.values())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_or_create_secrets(path) == first

    def test_pii_key_is_a_fernet_key(self, tmp_path: Path) -> None:
        """The generated PII_KEY seals and opens a value, and differs from file to file."""
        key = load_or_create_secrets(tmp_path / "one.env")["PII_KEY"]
        cipher = PiiCipher(key)
        assert cipher.open(cipher.seal("13800138000")) == "13800138000"
        assert load_or_create_secrets(tmp_path / "two.env")["PII_KEY"] != key

    def test_missing_pii_key_added_to_an_older_file(self, tmp_path: Path) -> None:
        """A secrets file written before PII_KEY existed keeps its tokens and gains the key."""
        path = tmp_path / "secrets.env"
        path.write_text("CASES_API_TOKEN=" + "a" * 32 + "\nRASA_TOKEN=" + "b" * 32 + "\n")
        values = load_or_create_secrets(path)
        assert values["CASES_API_TOKEN"] == "a" * 32 and values["RASA_TOKEN"] == "b" * 32
        assert "PII_KEY=" + values["PII_KEY"] in path.read_text()
        PiiCipher(values["PII_KEY"])


class TestEnvironment:
    """What the processes are started with."""

    def test_local_defaults_under_var(self, tmp_path: Path) -> None:
        """With nothing set, databases and tokens live under the var directory."""
        config = StackConfig(var_dir=tmp_path, base_env={})
        env = config.environment()
        assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'cases.db'}"
        assert env["TRACKER_DB"] == str(tmp_path / "tracker.db")
        assert (tmp_path / "secrets.env").exists()
        assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"

    def test_given_settings_win(self, tmp_path: Path) -> None:
        """Settings from the environment are kept and no secrets file is written."""
        given = {
            "DATABASE_URL": "postgresql+psycopg://db/cases",
            "CASES_API_TOKEN": "a" * 32,
            "RASA_TOKEN": "b" * 32,
            "PII_KEY": "c" * 43 + "=",
        }
        env = StackConfig(var_dir=tmp_path, base_env=given).environment()
        assert env["DATABASE_URL"] == given["DATABASE_URL"]
        assert env["CASES_API_TOKEN"] == "a" * 32
        assert not (tmp_path / "secrets.env").exists()

    def test_ports_reach_every_process(self, tmp_path: Path) -> None:
        """Chosen ports appear in the commands and the action endpoint."""
        config = StackConfig(
            var_dir=tmp_path, base_env={}, rasa_port=1, action_port=2, cases_port=3
        )
        env = config.environment()
        commands = config.commands(env)
        assert "1" in commands["rasa"] and "2" in commands["actions"] and "3" in commands["cases"]
        assert env["ACTION_ENDPOINT_URL"].endswith(":2/webhook")


def test_a_token_starting_with_a_dash_stays_one_argument(tmp_path: Path) -> None:
    """Rasa's argparse would take "-abc" for a flag: the token is passed as --auth-token=…."""
    env = StackConfig(
        var_dir=tmp_path,
        base_env={"RASA_TOKEN": "-abc", "CASES_API_TOKEN": "x" * 32, "PII_KEY": ""},
    ).environment()
    command = StackConfig(var_dir=tmp_path, base_env={}).commands(env)["rasa"]
    assert "--auth-token=-abc" in command
