"""Tests of filing and reading cases."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.channels import Channel
from cases.db import make_engine, make_sessionmaker
from cases.deadlines import default_profiles
from cases.lifecycle import CaseStatus, EventType, TransitionError
from cases.models import (
    Case,
    CaseEvent,
    ChannelIdentity,
    ConsentPurpose,
    Grade,
    HandoffReason,
    OutboxKind,
    Petitioner,
    PetitionKind,
)
from cases.pii import PiiCipher, PiiKeyError, Sealed
from cases.views import CaseView, case_status
from tests.casedb import TEST_PII_KEY


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


ID_NUMBER = "11010519491231002X"
CONSENT_AT = datetime(2026, 3, 2, 0, 55, tzinfo=timezone.utc)


def id_consent(given: bool = True) -> repository.NewConsent:
    """The petitioner's answer to the ID-number consent question."""
    return repository.NewConsent(
        purpose=ConsentPurpose.ID_NUMBER, text_version="id-2026-01", given=given, at=CONSENT_AT
    )


def file(sessions: sessionmaker[Session], new: repository.NewCase, profile: str = "520") -> str:
    """Files `new` in its own transaction; returns the reference."""
    with sessions.begin() as session:
        case, _ = repository.file_case(
            session, new, reference_prefix="XF", deadline_profile=profile, now=RECEIVED
        )
        return str(case.reference)


RECEIVED = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


class TestPersonalDataAtRest:
    """Phone and ID number are sealed in the database and masked for display."""

    def test_no_plaintext_in_the_database_file(
        self, sessions: sessionmaker[Session], database_url: str
    ) -> None:
        """Neither the phone nor the ID number appears anywhere in the SQLite file's bytes."""
        file(sessions, replace(new_case(), id_number=ID_NUMBER, consents=(id_consent(),)))
        sessions.kw["bind"].dispose()  # checkpoints the WAL into the main file
        path = database_url.removeprefix("sqlite:///")
        raw = b"".join(
            open(name, "rb").read() for name in (path, f"{path}-wal") if os.path.exists(name)
        )
        assert b"13800138000" not in raw and ID_NUMBER.encode() not in raw
        assert b"138****8000" in raw and b"110105********002X" in raw

    def test_raw_columns_hold_tokens_that_open_with_the_key(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Read with plain SQL, the columns hold Fernet tokens that open to the values."""
        file(sessions, replace(new_case(), id_number=ID_NUMBER, consents=(id_consent(),)))
        with sessions() as session:
            phone, id_number, phone_hash = session.execute(
                text("SELECT phone, id_number, phone_hash FROM petitioners")
            ).one()
            cipher = PiiCipher(TEST_PII_KEY)
            assert cipher.open(Sealed(phone)) == "13800138000"
            assert cipher.open(Sealed(id_number)) == ID_NUMBER
            assert phone_hash == cipher.lookup_hash("13800138000")

    def test_clear_values_only_through_the_cipher(self, sessions: sessionmaker[Session]) -> None:
        """phone_of and id_number_of open the sealed values for the steps that need them."""
        reference = file(
            sessions, replace(new_case(), id_number=ID_NUMBER, consents=(id_consent(),))
        )
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None
            assert repository.phone_of(session, case.petitioner) == "13800138000"
            assert repository.id_number_of(session, case.petitioner) == ID_NUMBER
            assert case.petitioner.phone_masked == "138****8000"
            assert case.petitioner.id_number_masked == "110105********002X"

    def test_plaintext_cannot_be_written(self, sessions: sessionmaker[Session]) -> None:
        """Assigning a plain string to a sealed column fails on flush; nothing is stored."""
        with pytest.raises(StatementError, match="plaintext refused"):
            with sessions.begin() as session:
                session.add(Petitioner(phone="13800138000"))  # type: ignore[arg-type]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Petitioner)) == 0

    def test_no_key_no_filing(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without any key, a case with a phone is refused rather than stored in clear."""
        monkeypatch.delenv("PII_KEY", raising=False)
        engine = make_engine(database_url)
        keyless = make_sessionmaker(engine)
        with pytest.raises(PiiKeyError):
            file(keyless, new_case())
        with keyless() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 0
        engine.dispose()


class TestConsentsAndIdNumbers:
    """The ID number needs its own consent; consents are stored with their channel."""

    def test_consent_stored(self, sessions: sessionmaker[Session]) -> None:
        """Each consent is stored with purpose, text version, answer, time and channel."""
        letter = repository.NewConsent(
            purpose=ConsentPurpose.LETTER_CONVERSION,
            text_version="letter-v2",
            given=True,
            at=CONSENT_AT,
        )
        reference = file(
            sessions, replace(new_case(), id_number=ID_NUMBER, consents=(id_consent(), letter))
        )
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None
            stored = [
                (c.purpose, c.text_version, c.given, c.at, c.channel, c.petitioner_id)
                for c in case.consents
            ]
            assert stored == [
                (
                    ConsentPurpose.ID_NUMBER,
                    "id-2026-01",
                    True,
                    CONSENT_AT,
                    "rest",
                    case.petitioner_id,
                ),
                (
                    ConsentPurpose.LETTER_CONVERSION,
                    "letter-v2",
                    True,
                    CONSENT_AT,
                    "rest",
                    case.petitioner_id,
                ),
            ]

    @pytest.mark.parametrize("consents", [(), "refused"])
    def test_id_number_without_consent_refused(
        self, sessions: sessionmaker[Session], consents: object
    ) -> None:
        """No consent, or a refused one: ConsentRequiredError and no case."""
        given = (id_consent(given=False),) if consents == "refused" else ()
        with pytest.raises(repository.ConsentRequiredError):
            file(sessions, replace(new_case(), id_number=ID_NUMBER, consents=given))
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 0

    def test_latest_answer_counts(self) -> None:
        """A consent withdrawn after it was given counts as not given."""
        later = replace(id_consent(given=False), at=CONSENT_AT + timedelta(minutes=1))
        new = replace(new_case(), consents=(id_consent(), later))
        assert not new.consented(ConsentPurpose.ID_NUMBER)

    def test_bad_check_digit_refused(self) -> None:
        """An ID number with a wrong GB 11643 check character is refused at once."""
        with pytest.raises(ValueError, match="GB 11643"):
            replace(new_case(), id_number="110105194912310021")

    def test_naive_consent_time_refused(self) -> None:
        """A consent time without a zone is refused."""
        with pytest.raises(ValueError, match="aware"):
            repository.NewConsent(
                purpose=ConsentPurpose.ID_NUMBER,
                text_version="v1",
                given=True,
                at=datetime(2026, 3, 2, 9, 0),
            )


class TestAnonymousAndFirstTime:
    """Anonymous petitions, earlier references and first-time petitioners."""

    def test_anonymous_case_stores_no_contact(self, sessions: sessionmaker[Session]) -> None:
        """Name, phone and ID number are not stored; the case stays with the channel account."""
        reference = file(
            sessions,
            replace(
                new_case(),
                anonymous=True,
                kind=PetitionKind.REPORT,
                address="寒亭区某街道",
                id_number=ID_NUMBER,
            ),
        )
        with sessions() as session:
            row = session.execute(
                text("SELECT name, phone, phone_hash, address, id_number FROM petitioners")
            ).one()
            assert tuple(row) == (None, None, None, None, None)
            case = repository.case_for_petitioner(session, reference, Channel.REST, "a")
            assert case is not None and case.anonymous

    def test_anonymous_case_keeps_earlier_contact_hidden(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A named petitioner's later anonymous case neither changes nor shows the contact."""
        file(sessions, new_case("k1"))
        reference = file(sessions, replace(new_case("k2"), anonymous=True, name="别人"))
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None
            assert case.petitioner.name == "王建国"
            fields = CaseView(default_profiles()).render(case)["fields"]
            assert fields["name"] is None and fields["phone"] is None

    def test_first_case_is_first_time_and_the_next_is_not(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """The petitioner's first case is first-time; their second is not."""
        first = file(sessions, new_case("k1"))
        second = file(sessions, new_case("k2"))
        with sessions() as session:
            flags = []
            for reference in (first, second):
                case = repository.get_case(session, reference)
                assert case is not None
                flags.append(case.first_time)
            assert flags == [True, False]

    def test_previous_reference_means_not_first_time(self, sessions: sessionmaker[Session]) -> None:
        """A petitioner naming an earlier reference is not first-time; the reference is kept."""
        reference = file(sessions, replace(new_case(), previous_reference="XF-2025-000042"))
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None
            assert not case.first_time
            assert case.fields["previous_reference"] == "XF-2025-000042"

    def test_same_phone_on_another_account_is_not_first_time(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """The keyed phone hash finds the earlier case filed from another account and format."""
        file(sessions, new_case("k1", "a"))
        other = file(
            sessions,
            replace(new_case("k2", "b"), channel=Channel.WECHAT, phone="+86 138 0013 8000"),
        )
        with sessions() as session:
            case = repository.get_case(session, other)
            assert case is not None and not case.first_time


class TestDeadlineProfileAtFiling:
    """Which deadline profile a new case is filed under."""

    @pytest.mark.parametrize(
        ("grade", "profile"),
        [(Grade.NORMAL, "regulation"), (Grade.SENSITIVE, "green"), (Grade.EMERGENCY, "green")],
    )
    def test_green_channel_for_sensitive_and_emergency(
        self, sessions: sessionmaker[Session], grade: Grade, profile: str
    ) -> None:
        """Sensitive and emergency cases take "green"; others the configured profile."""
        reference = file(sessions, replace(new_case(), grade=grade), profile="regulation")
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None and case.deadline_profile == profile


class TestCaseForPetitioner:
    """case_for_petitioner: a petitioner reads only their own case."""

    def test_only_the_owner_gets_the_case(self, sessions: sessionmaker[Session]) -> None:
        """The owner's account gets the case; another account and a wrong reference get None."""
        reference = file(sessions, new_case("k1", "a"))
        file(sessions, new_case("k2", "b"))
        with sessions() as session:
            mine = repository.case_for_petitioner(session, reference, Channel.REST, "a")
            assert mine is not None and mine.reference == reference
            assert repository.case_for_petitioner(session, reference, Channel.REST, "b") is None
            assert repository.case_for_petitioner(session, reference, Channel.WECHAT, "a") is None
            assert (
                repository.case_for_petitioner(session, "XF-2026-999999", Channel.REST, "a") is None
            )

    def test_linked_account_of_the_same_petitioner(self, sessions: sessionmaker[Session]) -> None:
        """Another channel account linked to the same petitioner may read the case."""
        reference = file(sessions, new_case("k1", "a"))
        with sessions.begin() as session:
            petitioner = repository.petitioner_for(session, Channel.REST, "a")
            session.add(ChannelIdentity(petitioner=petitioner, channel="wechat", user_id="wx-a"))
        with sessions() as session:
            case = repository.case_for_petitioner(session, reference, Channel.WECHAT, "wx-a")
            assert case is not None and case.reference == reference


def accepted() -> repository.NewEvent:
    """Staff accept the case."""
    return repository.NewEvent(type=EventType.ACCEPTED)


class TestAddEvent:
    """add_event: the lifecycle enforced, the outbox fed, idempotency kept."""

    def test_event_appended_with_next_seq_and_outbox_row(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """An allowed event is stored after the last one and queues one status message."""
        reference = file(sessions, new_case())
        with sessions.begin() as session:
            case = repository.add_event(session, reference, accepted())
            assert case_status(case) is CaseStatus.ACCEPTED
        with sessions() as session:
            events = session.execute(
                text("SELECT seq, type, actor FROM case_events ORDER BY id")
            ).all()
            assert [tuple(row) for row in events] == [
                (1, "received", "rest"),
                (2, "accepted", "staff"),
            ]
            (message,) = repository.pending_outbox(session)
            event_id = session.scalar(text("SELECT id FROM case_events WHERE seq = 2"))
            assert message.kind is OutboxKind.STATUS_CHANGED
            assert (message.channel, message.user_id) == ("rest", "a")
            assert message.payload == {
                "reference": reference,
                "status": "accepted",
                "event": "accepted",
            }
            assert message.idempotency_key == f"{message.case_id}:{event_id}"
            assert message.attempts == 0 and message.sent_at is None

    def test_transfer_message_carries_body_and_notice(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """The petitioner's message for a transfer names the body and holds the notice."""
        reference = file(sessions, new_case())
        event = repository.NewEvent(
            type=EventType.TRANSFERRED, data={"to": "区住建局", "notice": "您反映的问题已转交"}
        )
        with sessions.begin() as session:
            repository.add_event(session, reference, event)
        with sessions() as session:
            (message,) = repository.pending_outbox(session)
            assert message.payload == {
                "reference": reference,
                "status": "transferred",
                "event": "transferred",
                "to": "区住建局",
                "notice": "您反映的问题已转交",
            }

    def test_refused_transition_writes_nothing(self, sessions: sessionmaker[Session]) -> None:
        """Closing a case that was only received raises TransitionError; nothing is stored."""
        reference = file(sessions, new_case())
        with pytest.raises(TransitionError, match="'closed' may not follow status 'received'"):
            with sessions.begin() as session:
                repository.add_event(session, reference, repository.NewEvent(type=EventType.CLOSED))
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(CaseEvent)) == 1
            assert repository.pending_outbox(session) == []

    def test_second_extension_refused(self, sessions: sessionmaker[Session]) -> None:
        """The handling period is extended once only."""
        reference = file(sessions, new_case())
        extend = repository.NewEvent(type=EventType.EXTENDED, data={"reason": "需现场核查"})
        with sessions.begin() as session:
            repository.add_event(session, reference, accepted())
            repository.add_event(session, reference, extend)
        with pytest.raises(TransitionError, match="only once"):
            with sessions.begin() as session:
                repository.add_event(session, reference, extend)

    def test_unknown_reference(self, sessions: sessionmaker[Session]) -> None:
        """An unknown reference raises CaseNotFoundError."""
        with pytest.raises(repository.CaseNotFoundError):
            with sessions.begin() as session:
                repository.add_event(session, "XF-2026-999999", accepted())

    def test_idempotency_key_records_once(self, sessions: sessionmaker[Session]) -> None:
        """The same key twice records one event and one outbox row."""
        reference = file(sessions, new_case())
        for _ in range(2):
            with sessions.begin() as session:
                case = repository.add_event(session, reference, accepted(), idempotency_key="req-1")
                assert case_status(case) is CaseStatus.ACCEPTED
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(CaseEvent)) == 2
            assert len(repository.pending_outbox(session)) == 1

    def test_idempotency_key_reused_for_another_event(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A key already used for a different event raises instead of answering wrongly."""
        reference = file(sessions, new_case())
        with sessions.begin() as session:
            repository.add_event(session, reference, accepted(), idempotency_key="req-1")
        other = repository.NewEvent(type=EventType.ASSIGNED, data={"unit": "区水务局"})
        with pytest.raises(repository.IdempotencyKeyReusedError):
            with sessions.begin() as session:
                repository.add_event(session, reference, other, idempotency_key="req-1")

    def test_concurrent_append_refused_by_the_database(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Two writers that read the same history cannot both append: the second fails."""
        reference = file(sessions, new_case())
        with sessions() as first, sessions() as second:
            repository.add_event(first, reference, accepted())
            refuse = repository.NewEvent(type=EventType.NOT_ACCEPTED, data={"reason": "重复"})
            case = repository.get_case(second, reference)
            assert case is not None and len(case.events) == 1
            first.commit()
            with pytest.raises(IntegrityError):
                repository.add_event(second, reference, refuse)
            second.rollback()
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None
            assert [event.type for event in case.events] == ["received", "accepted"]

    def test_event_time_never_before_the_last(self, sessions: sessionmaker[Session]) -> None:
        """An event stamped before the previous one is recorded at the previous one's time."""
        reference = file(sessions, new_case())
        with sessions.begin() as session:
            case = repository.add_event(
                session, reference, accepted(), now=RECEIVED - timedelta(hours=1)
            )
            assert case.events[-1].at == RECEIVED

    def test_note_queues_no_message(self, sessions: sessionmaker[Session]) -> None:
        """An event that does not move the status sends the petitioner nothing."""
        reference = file(sessions, new_case())
        with sessions.begin() as session:
            repository.add_event(session, reference, repository.NewEvent(type=EventType.NOTE))
        with sessions() as session:
            assert repository.pending_outbox(session) == []


class TestSurvey:
    """record_survey."""

    def test_survey_stored_and_noted_in_history(self, sessions: sessionmaker[Session]) -> None:
        """The ratings are stored and a survey_answered event joins the history."""
        reference = file(sessions, new_case())
        with sessions.begin() as session:
            repository.record_survey(
                session, reference, bureau_rating=5, unit_rating=3, comment="还行"
            )
        with sessions() as session:
            case = repository.get_case(session, reference)
            assert case is not None
            (survey,) = case.surveys
            assert (survey.bureau_rating, survey.unit_rating, survey.comment) == (5, 3, "还行")
            assert case.events[-1].type == "survey_answered"

    @pytest.mark.parametrize("rating", [0, 6, True])
    def test_ratings_out_of_range_refused(
        self, sessions: sessionmaker[Session], rating: int
    ) -> None:
        """Ratings outside 1..5 (or booleans) are refused."""
        reference = file(sessions, new_case())
        with pytest.raises(ValueError, match="1 to 5"):
            with sessions.begin() as session:
                repository.record_survey(session, reference, bureau_rating=rating, unit_rating=3)
