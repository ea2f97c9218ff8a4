"""Tests of filing and reading cases."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.channels import Channel
from cases.lifecycle import CaseStatus
from cases.models import HandoffReason
from cases.views import case_status


def new_case(key: str = "rest:a:1", user_id: str = "a") -> repository.NewCase:
    """A complaint as the intake dialogue would hand it over."""
    return repository.NewCase(
        channel=Channel.REST,
        user_id=user_id,
        submission_key=key,
        name="王建国",
        phone="13800138000",
        fields={"facts": "自来水停了一个多月", "place": "寒亭区", "demand": "恢复供水"},
    )


class TestFileCase:
    """file_case."""

    def test_reference_uses_prefix_shanghai_year_and_id(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A case received at 17:00 UTC on 31 Dec is numbered in the next Shanghai year."""
        received = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)
        with sessions.begin() as session:
            case, created = repository.file_case(
                session, new_case(), reference_prefix="WF", deadline_profile="520", now=received
            )
            assert created
            assert case.reference == "WF-2027-000001"

    def test_same_submission_twice_files_once(self, sessions: sessionmaker[Session]) -> None:
        """A repeated submission returns the first case and creates no second one."""
        with sessions.begin() as session:
            first, _ = repository.file_case(
                session, new_case(), reference_prefix="XF", deadline_profile="520"
            )
        with sessions.begin() as session:
            again, created = repository.file_case(
                session, new_case(), reference_prefix="XF", deadline_profile="520"
            )
            assert not created
            assert again.reference == first.reference
        with sessions() as session:
            assert len(repository.cases_of(session, Channel.REST, "a")) == 1

    def test_new_case_is_received(self, sessions: sessionmaker[Session]) -> None:
        """A filed case starts in status received, from its first event."""
        with sessions.begin() as session:
            repository.file_case(session, new_case(), reference_prefix="XF", deadline_profile="520")
        with sessions() as session:
            (case,) = repository.cases_of(session, Channel.REST, "a")
            assert case_status(case) is CaseStatus.RECEIVED

    def test_cases_of_sees_only_that_account(self, sessions: sessionmaker[Session]) -> None:
        """Another account's cases, and the same id on another channel, are not listed."""
        with sessions.begin() as session:
            repository.file_case(
                session, new_case("k1", "a"), reference_prefix="XF", deadline_profile="520"
            )
            repository.file_case(
                session, new_case("k2", "b"), reference_prefix="XF", deadline_profile="520"
            )
        with sessions() as session:
            assert len(repository.cases_of(session, Channel.REST, "a")) == 1
            assert repository.cases_of(session, Channel.WECHAT, "a") == []

    def test_same_account_is_one_petitioner(self, sessions: sessionmaker[Session]) -> None:
        """Two petitions from one account belong to one petitioner."""
        with sessions.begin() as session:
            one, _ = repository.file_case(
                session, new_case("k1"), reference_prefix="XF", deadline_profile="520"
            )
            two, _ = repository.file_case(
                session, new_case("k2"), reference_prefix="XF", deadline_profile="520"
            )
            assert one.petitioner_id == two.petitioner_id


def test_handoff_recorded_and_listed(sessions: sessionmaker[Session]) -> None:
    """A handoff request is stored and shows among the open ones."""
    with sessions.begin() as session:
        repository.record_handoff(session, Channel.REST, "a", HandoffReason.ASKED)
    with sessions() as session:
        (item,) = repository.open_handoffs(session)
        assert (item.channel, item.user_id, item.reason) == ("rest", "a", "asked")
