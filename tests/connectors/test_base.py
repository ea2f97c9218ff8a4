"""Tests of what every channel does before Rasa sees a message."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from connectors.base import (
    MAX_MESSAGE_CHARS,
    button_payloads,
    neutralise,
    prepare,
    render_response,
    worker_count,
)
from connectors.rest import RestChannel
from tests.connectors.harness import ChannelServer, FakeAgent

DOMAIN = SimpleNamespace(
    responses={
        "utter_confirm": [{"text": "确认吗？", "buttons": [{"title": "是", "payload": "/affirm"}]}],
        "utter_truncated": [{"text": "已保存前{limit}个字。"}],
    }
)


class TestNeutralise:
    """Slash syntax can't reach Rasa's intent parser."""

    def test_command_becomes_plain_text(self) -> None:
        """/restart keeps its words but loses its leading solidus."""
        assert neutralise("/restart") == "\uff0frestart"

    def test_entities_syntax_neutralised_after_blanks(self) -> None:
        """Leading blanks don't hide the syntax (Rasa strips them before parsing)."""
        assert neutralise('  /inform{"phone":"1"}') == '  \uff0finform{"phone":"1"}'

    def test_our_button_payload_passes(self) -> None:
        """Exactly one of the domain's button payloads is let through."""
        allowed = button_payloads(DOMAIN)
        assert allowed == frozenset({"/affirm"})
        assert neutralise("/affirm", allowed) == "/affirm"
        assert neutralise('/affirm{"phone":"1"}', allowed).startswith("\uff0f")

    def test_ordinary_text_untouched(self) -> None:
        """A slash inside the text is not syntax."""
        assert neutralise("停水/停电一个月") == "停水/停电一个月"


class TestPrepare:
    """Length cap."""

    def test_long_text_cut_and_flagged(self) -> None:
        """Text beyond the cap is cut to the cap and marked truncated."""
        prepared = prepare("字" * (MAX_MESSAGE_CHARS + 10))
        assert len(prepared.text) == MAX_MESSAGE_CHARS
        assert prepared.truncated

    def test_text_at_the_cap_untouched(self) -> None:
        """Exactly the cap is not truncated."""
        prepared = prepare("字" * MAX_MESSAGE_CHARS)
        assert not prepared.truncated


def test_render_response_fills_values() -> None:
    """Domain text is filled with values; unknown responses give None."""
    assert render_response(DOMAIN, "utter_truncated", limit=5000) == "已保存前5000个字。"
    assert render_response(DOMAIN, "utter_missing") is None


@pytest.mark.parametrize(("workers", "connection"), [("2", "close"), ("1", "keep-alive")])
def test_webhook_connections_close_when_several_workers_share_the_port(
    monkeypatch: pytest.MonkeyPatch, workers: str, connection: str
) -> None:
    """With several workers, each answer closes its connection so the next message goes to
    whichever worker is free; with one worker, connections are kept alive."""
    monkeypatch.setenv("SANIC_WORKERS", workers)
    server = ChannelServer(RestChannel(), FakeAgent()).start()
    try:
        with httpx.Client(trust_env=False) as client:
            reply = client.post(
                f"{server.url}/webhooks/rest/webhook", json={"sender": "a", "message": "你好"}
            )
            health = client.get(f"{server.url}/webhooks/rest/")
    finally:
        server.stop()
    assert reply.status_code == 200 and reply.json()[0]["text"] == "收到"
    assert reply.headers["connection"] == connection
    assert health.headers["connection"] == connection


def test_worker_count_reads_sanic_workers() -> None:
    assert worker_count({}) == 1
    assert worker_count({"SANIC_WORKERS": "3"}) == 3
    assert worker_count({"SANIC_WORKERS": "many"}) == 1
    assert worker_count({"SANIC_WORKERS": "0"}) == 1
