"""Tests of the staff API, through FastAPI's test client on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.api import create_app
from cases.channels import Channel
from cases.settings import Settings

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(database_url: str, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    """An API client with one filed case, WF-2026-000001."""
    with sessions.begin() as session:
        repository.file_case(
            session,
            repository.NewCase(
                channel=Channel.WECHAT,
                user_id="openid-1",
                submission_key="k1",
                name="王建国",
                phone="13800138000",
                fields={"facts": "停水一个多月", "place": "寒亭区", "demand": "恢复供水"},
            ),
            reference_prefix="WF",
            deadline_profile="520",
            now=datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc),
        )
    settings = Settings(database_url=database_url, api_token=TOKEN)
    with TestClient(create_app(settings, sessions)) as test_client:
        yield test_client


class TestAuthentication:
    """The bearer token."""

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": "Basic x"},
        ],
    )
    def test_refused_without_the_right_token(
        self, client: TestClient, headers: dict[str, str]
    ) -> None:
        """Missing, wrong or malformed credentials get 401 and no case data."""
        for path in ("/api/cases/WF-2026-000001", "/api/cases?channel=wechat&user_id=openid-1"):
            reply = client.get(path, headers=headers)
            assert reply.status_code == 401
            assert "WF-2026" not in reply.text and "寒亭" not in reply.text

    def test_health_needs_no_token(self, client: TestClient) -> None:
        """/healthz answers without credentials."""
        assert client.get("/healthz").json() == {"status": "ok"}


class TestReadCases:
    """GET /api/cases."""

    def test_one_case_with_fields_deadlines_events(self, client: TestClient) -> None:
        """The case shows its fields (phone masked), 520 deadlines and its history."""
        body = client.get("/api/cases/WF-2026-000001", headers=AUTH).json()
        assert body["reference"] == "WF-2026-000001"
        assert body["status"] == "received"
        assert body["channel"] == "wechat"
        assert body["fields"] == {
            "facts": "停水一个多月",
            "place": "寒亭区",
            "demand": "恢复供水",
            "name": "王建国",
            "phone": "138****8000",
        }
        # Received 2 March (Shanghai): five days counted from the next day.
        assert body["deadlines"]["accept"].startswith("2026-03-07T23:59:59")
        assert [event["type"] for event in body["events"]] == ["received"]

    def test_unknown_reference_is_404(self, client: TestClient) -> None:
        """An unknown reference is a 404, not an empty object."""
        assert client.get("/api/cases/WF-2026-999999", headers=AUTH).status_code == 404

    def test_list_by_channel_account(self, client: TestClient) -> None:
        """The list holds that account's cases and nobody else's."""
        mine = client.get("/api/cases?channel=wechat&user_id=openid-1", headers=AUTH).json()
        assert [case["reference"] for case in mine] == ["WF-2026-000001"]
        other = client.get("/api/cases?channel=telegram&user_id=openid-1", headers=AUTH).json()
        assert other == []

    def test_unknown_channel_is_422_without_echo(self, client: TestClient) -> None:
        """A bad query parameter is refused with the field name, not the value."""
        reply = client.get("/api/cases?channel=fax&user_id=secret-value", headers=AUTH)
        assert reply.status_code == 422
        assert "secret-value" not in reply.text
