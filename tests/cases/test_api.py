"""Tests of the staff API, through FastAPI's test client on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.api import create_app
from cases.channels import Channel
from cases.models import CaseEvent, Outbox
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


CASE = "/api/cases/WF-2026-000001"
EVENTS = f"{CASE}/events"


def written(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """How many case events and outbox rows the database holds."""
    with sessions() as session:
        events = session.scalar(select(func.count()).select_from(CaseEvent))
        outbox = session.scalar(select(func.count()).select_from(Outbox))
        return int(events or 0), int(outbox or 0)


def post(client: TestClient, body: object, **headers: str) -> Any:
    """Posts an event to the fixture's case with the staff token."""
    return client.post(EVENTS, json=body, headers={**AUTH, **headers})


# One valid body per event type, and a status in which that event is allowed.
VALID: dict[str, dict[str, str]] = {
    "accepted": {"type": "accepted"},
    "not_accepted": {"type": "not_accepted", "reason": "不属于信访事项"},
    "transferred": {"type": "transferred", "to": "寒亭区人民法院", "notice": "请依法向法院起诉"},
    "assigned": {"type": "assigned", "unit": "寒亭区水务局"},
    "extended": {"type": "extended", "reason": "需要现场核查"},
    "replied": {"type": "replied", "text": "经核查，已于3月10日恢复供水。"},
    "closed": {"type": "closed"},
    "reopened": {"type": "reopened", "reason": "申请人对答复不满意，申请复查"},
}
# The path of types that leads to each one (from received).
PATH: dict[str, list[str]] = {
    "accepted": [],
    "not_accepted": [],
    "transferred": [],
    "assigned": ["accepted"],
    "extended": ["accepted"],
    "replied": ["accepted"],
    "closed": ["accepted", "replied"],
    "reopened": ["accepted", "replied"],
}
# Required fields per type, each of which must be present.
REQUIRED = [(kind, key) for kind, body in VALID.items() for key in body if key != "type"]


class TestPostEvents:
    """POST /api/cases/{reference}/events."""

    @pytest.mark.parametrize("kind", list(VALID))
    def test_every_type_accepted_where_allowed(
        self, client: TestClient, sessions: sessionmaker[Session], kind: str
    ) -> None:
        """Each type, posted where the lifecycle allows it, answers 201 with the updated case."""
        for step in PATH[kind]:
            assert post(client, VALID[step]).status_code == 201
        reply = post(client, VALID[kind])
        assert reply.status_code == 201, reply.text
        body = reply.json()
        assert body["reference"] == "WF-2026-000001"
        assert body["events"][-1]["type"] == kind
        assert body["events"][-1]["actor"] == "staff"
        extra = {key: value for key, value in VALID[kind].items() if key != "type"}
        assert {key: body["events"][-1][key] for key in extra} == extra
        assert written(sessions) == (len(PATH[kind]) + 2, len(PATH[kind]) + 1)

    def test_status_follows_and_is_read_back(self, client: TestClient) -> None:
        """Accepted, then assigned: the case reads back in progress with the unit recorded."""
        post(client, VALID["accepted"])
        body = post(client, {**VALID["assigned"], "actor": "李科员"}).json()
        assert body["status"] == "in_progress"
        again = client.get(CASE, headers=AUTH).json()
        assert again["status"] == "in_progress"
        assert again["events"][-1] == {
            "type": "assigned",
            "at": again["events"][-1]["at"],
            "actor": "李科员",
            "unit": "寒亭区水务局",
        }

    @pytest.mark.parametrize(
        ("steps", "body", "message"),
        [
            ([], VALID["closed"], "event 'closed' may not follow status 'received'"),
            ([], VALID["replied"], "event 'replied' may not follow status 'received'"),
            (["accepted"], VALID["accepted"], "event 'accepted' may not follow status 'accepted'"),
            (["accepted", "extended"], VALID["extended"], "event 'extended' may occur only once"),
            (["transferred", "closed"], VALID["reopened"], "'reopened' may not follow a transfer"),
        ],
    )
    def test_lifecycle_refusal_is_409_and_writes_nothing(
        self,
        client: TestClient,
        sessions: sessionmaker[Session],
        steps: list[str],
        body: dict[str, str],
        message: str,
    ) -> None:
        """An event the status forbids is a 409 with the reason; no event, no outbox row."""
        for step in steps:
            assert post(client, VALID[step]).status_code == 201
        before = written(sessions)
        reply = post(client, body)
        assert reply.status_code == 409
        assert message in reply.json()["detail"]
        assert written(sessions) == before

    def test_outbox_row_per_event(
        self, client: TestClient, sessions: sessionmaker[Session]
    ) -> None:
        """Each accepted event queues one status message with its own idempotency key."""
        for kind in ("accepted", "replied"):
            post(client, VALID[kind])
        with sessions() as session:
            rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
            event_ids = list(session.scalars(select(CaseEvent.id).order_by(CaseEvent.id)))
        assert [row.payload for row in rows] == [
            {"reference": "WF-2026-000001", "status": "accepted", "event": "accepted"},
            {
                "reference": "WF-2026-000001",
                "status": "replied",
                "event": "replied",
                "text": VALID["replied"]["text"],
            },
        ]
        assert [row.idempotency_key for row in rows] == [
            f"{rows[0].case_id}:{event_ids[1]}",
            f"{rows[0].case_id}:{event_ids[2]}",
        ]
        assert all((row.channel, row.user_id) == ("wechat", "openid-1") for row in rows)

    def test_deadlines_follow_the_events(self, client: TestClient) -> None:
        """Received: accept deadline; accepted: handle deadline; extended: a later one."""
        assert "accept" in client.get(CASE, headers=AUTH).json()["deadlines"]
        accepted = post(client, VALID["accepted"]).json()["deadlines"]
        assert "accept" not in accepted and "handle" in accepted
        extended = post(client, VALID["extended"]).json()["deadlines"]
        assert extended["handle"] > accepted["handle"]

    def test_unknown_case_is_404(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        """Posting to an unknown reference is a 404 and writes nothing."""
        reply = client.post(
            "/api/cases/WF-2026-999999/events", json=VALID["accepted"], headers=AUTH
        )
        assert reply.status_code == 404
        assert written(sessions) == (1, 0)

    def test_refused_without_the_token(
        self, client: TestClient, sessions: sessionmaker[Session]
    ) -> None:
        """Without the bearer token nothing is written."""
        assert client.post(EVENTS, json=VALID["accepted"]).status_code == 401
        assert written(sessions) == (1, 0)


class TestEventValidation:
    """Malformed events are refused with 422, a message, and nothing written."""

    def assert_refused(
        self, client: TestClient, sessions: sessionmaker[Session], body: object, field: str
    ) -> list[dict[str, str]]:
        """Posts `body`; checks the 422 names `field` and the database is unchanged."""
        reply = post(client, body)
        assert reply.status_code == 422, reply.text
        problems: list[dict[str, str]] = reply.json()["detail"]
        assert any(field in problem["field"] for problem in problems), problems
        assert all(problem["reason"] for problem in problems)
        assert written(sessions) == (1, 0)
        return problems

    def test_unknown_type(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        """An unknown type is refused with the list of known ones."""
        (problem,) = self.assert_refused(client, sessions, {"type": "approved"}, "body")
        assert "unknown event type" in problem["reason"] and "'accepted'" in problem["reason"]

    @pytest.mark.parametrize("body", [{}, {"reason": "x"}, [], "accepted", None])
    def test_missing_type_or_not_an_object(
        self, client: TestClient, sessions: sessionmaker[Session], body: object
    ) -> None:
        """A body without a type, or not a JSON object, is refused."""
        self.assert_refused(client, sessions, body, "body")

    @pytest.mark.parametrize(("kind", "key"), REQUIRED)
    def test_missing_field(
        self, client: TestClient, sessions: sessionmaker[Session], kind: str, key: str
    ) -> None:
        """Each type's required field, left out, is named in the refusal."""
        body = {name: value for name, value in VALID[kind].items() if name != key}
        (problem,) = self.assert_refused(client, sessions, body, f"{kind}.{key}")
        assert problem["reason"] == "Field required"

    @pytest.mark.parametrize(("kind", "key"), REQUIRED)
    def test_blank_field(
        self, client: TestClient, sessions: sessionmaker[Session], kind: str, key: str
    ) -> None:
        """A required field holding only blanks counts as missing."""
        self.assert_refused(client, sessions, {**VALID[kind], key: "   "}, f"{kind}.{key}")

    @pytest.mark.parametrize(("kind", "key"), REQUIRED)
    def test_oversized_field(
        self, client: TestClient, sessions: sessionmaker[Session], kind: str, key: str
    ) -> None:
        """Texts over 5,000 characters and names over 100 are refused, value not echoed."""
        limit = 100 if key in ("to", "unit") else 5000
        value = "长" * limit + "尾"
        problems = self.assert_refused(client, sessions, {**VALID[kind], key: value}, key)
        assert str(limit) in problems[0]["reason"]
        assert "长长长" not in str(problems)

    def test_longest_allowed_text_accepted(self, client: TestClient) -> None:
        """Exactly 5,000 characters is still accepted."""
        post(client, VALID["accepted"])
        assert post(client, {"type": "replied", "text": "字" * 5000}).status_code == 201

    @pytest.mark.parametrize("kind", list(VALID))
    def test_extra_field(
        self, client: TestClient, sessions: sessionmaker[Session], kind: str
    ) -> None:
        """A field the type does not have is refused rather than stored."""
        self.assert_refused(client, sessions, {**VALID[kind], "phone": "13800138000"}, "phone")

    def test_wrong_field_type(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        """A number where text is expected is refused."""
        self.assert_refused(client, sessions, {"type": "assigned", "unit": 42}, "unit")

    def test_actor_too_long(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        """The optional actor is capped too."""
        self.assert_refused(client, sessions, {"type": "accepted", "actor": "x" * 65}, "actor")

    def test_malformed_json(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        """A body that is not JSON is a 422, not a 500."""
        reply = client.post(
            EVENTS, content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
        )
        assert reply.status_code == 422
        assert written(sessions) == (1, 0)

    def test_huge_body_refused_unread(
        self, client: TestClient, sessions: sessionmaker[Session]
    ) -> None:
        """A body over 64 KiB is refused with 413 before it is parsed."""
        body = {"type": "replied", "text": "x" * 70_000}
        assert post(client, body).status_code == 413
        assert written(sessions) == (1, 0)


class TestIdempotencyKey:
    """The Idempotency-Key header."""

    def test_same_key_twice_records_once(
        self, client: TestClient, sessions: sessionmaker[Session]
    ) -> None:
        """The repeat answers like the first and writes no second event or message."""
        first = post(client, VALID["accepted"], **{"Idempotency-Key": "req-1"})
        again = post(client, VALID["accepted"], **{"Idempotency-Key": "req-1"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert written(sessions) == (2, 1)

    def test_without_key_a_repeat_is_a_conflict(self, client: TestClient) -> None:
        """Without the header, repeating an accept is refused by the lifecycle."""
        assert post(client, VALID["accepted"]).status_code == 201
        assert post(client, VALID["accepted"]).status_code == 409

    def test_key_reused_for_another_event(
        self, client: TestClient, sessions: sessionmaker[Session]
    ) -> None:
        """A key already used for a different event is refused; nothing more is written."""
        post(client, VALID["accepted"], **{"Idempotency-Key": "req-1"})
        reply = post(client, VALID["assigned"], **{"Idempotency-Key": "req-1"})
        assert reply.status_code == 422
        assert "Idempotency-Key" in reply.json()["detail"]
        assert written(sessions) == (2, 1)

    def test_oversized_key_refused(
        self, client: TestClient, sessions: sessionmaker[Session]
    ) -> None:
        """A key over 128 characters is refused."""
        reply = post(client, VALID["accepted"], **{"Idempotency-Key": "k" * 129})
        assert reply.status_code == 422
        assert written(sessions) == (1, 0)


class TestMaskedAtTheApi:
    """Personal data in the staff API."""

    def test_phone_masked_and_not_in_clear_anywhere(self, client: TestClient) -> None:
        """Case and list show 138****8000, never the full number."""
        for path in (CASE, "/api/cases?channel=wechat&user_id=openid-1"):
            reply = client.get(path, headers=AUTH)
            assert "138****8000" in reply.text and "13800138000" not in reply.text


class TestConcurrentWriters:
    """What a request sees when another one appended to the same case at the same moment."""

    @staticmethod
    def lose_the_race(monkeypatch: pytest.MonkeyPatch) -> None:
        """Makes add_event fail as a flush does when another writer took the same place."""

        def raced(*_args: object, **_kwargs: object) -> None:
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

        monkeypatch.setattr(repository, "add_event", raced)

    def test_race_without_key_is_409(
        self, client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The loser is told to reload and retry; nothing of its event is written."""
        self.lose_the_race(monkeypatch)
        reply = post(client, VALID["accepted"])
        assert reply.status_code == 409
        assert "retry" in reply.json()["detail"]
        assert written(sessions) == (1, 0)

    def test_race_on_the_same_key_answers_the_winner(
        self, client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the winner recorded the same Idempotency-Key, the loser gets the recorded case."""
        first = post(client, VALID["accepted"], **{"Idempotency-Key": "req-1"})
        self.lose_the_race(monkeypatch)
        again = post(client, VALID["accepted"], **{"Idempotency-Key": "req-1"})
        assert again.status_code == 201
        assert again.json() == first.json()
        assert written(sessions) == (2, 1)
