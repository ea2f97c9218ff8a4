"""Tests of the outbox notifier when Rasa cannot be reached."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.channels import Channel
from cases.lifecycle import EventType
from cases.models import Outbox
from cases.notifier import Notifier, NotifierConfig
from tools.stack import free_port


def test_unreachable_rasa_keeps_the_message_and_counts_the_attempt(
    sessions: sessionmaker[Session],
) -> None:
    """Nothing is marked sent when the push fails; attempts and the error are recorded."""
    with sessions.begin() as session:
        case, _ = repository.file_case(
            session,
            repository.NewCase(channel=Channel.WECHAT, user_id="o1", submission_key="k"),
            reference_prefix="WF",
            deadline_profile="520",
        )
        repository.add_event(
            session, str(case.reference), repository.NewEvent(type=EventType.ACCEPTED)
        )
    config = NotifierConfig(
        rasa_url=f"http://127.0.0.1:{free_port()}", rasa_token="t", timeout=2, max_attempts=2
    )
    notifier = Notifier(sessions, config)
    assert notifier.drain_once() == 0
    assert notifier.drain_once() == 0
    assert notifier.drain_once() == 0  # two attempts is the limit: not tried a third time
    with sessions() as session:
        (row,) = session.query(Outbox).all()
        assert row.sent_at is None
        assert row.attempts == 2
        assert row.last_error == "ConnectError"
    notifier.stop()
