"""Tests of how a case is shown: deadlines that follow the lifecycle, masking, the survey."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.__main__ import main as cases_command
from cases.channels import Channel
from cases.deadlines import PROFILES_FILE, ProfileError, default_profiles
from cases.lifecycle import EventType
from cases.models import ConsentPurpose, Grade
from cases.settings import Settings, SettingsError
from cases.views import CaseView

# Monday 2 March 2026, 09:00 in Shanghai.
RECEIVED = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
ID_NUMBER = "11010519491231002X"


def day(text: str) -> str:
    """The ISO form of the end of that Shanghai day, as the deadlines show it."""
    return f"{text}T23:59:59+08:00"


class Scenario:
    """One case filed on RECEIVED, moved along by events on given days."""

    def __init__(
        self, sessions: sessionmaker[Session], profile: str = "520", **changes: object
    ) -> None:
        """Files the case (a returning petitioner unless `previous_reference` is dropped)."""
        self.sessions = sessions
        new = repository.NewCase(
            channel=Channel.REST,
            user_id="a",
            submission_key="k1",
            name="王建国",
            phone="13800138000",
            previous_reference="XF-2025-000001",
            fields={"facts": "自来水停了一个多月"},
        )
        with sessions.begin() as session:
            case, _ = repository.file_case(
                session,
                replace(new, **changes),  # type: ignore[arg-type]
                reference_prefix="XF",
                deadline_profile=profile,
                now=RECEIVED,
            )
            self.reference = str(case.reference)

    def then(self, event: EventType, days_later: int, **data: str) -> Scenario:
        """Records `event` that many days after receipt."""
        with self.sessions.begin() as session:
            repository.add_event(
                session,
                self.reference,
                repository.NewEvent(type=event, data=data),
                now=RECEIVED + timedelta(days=days_later),
            )
        return self

    def rendered(self) -> dict[str, object]:
        """The case as the staff API shows it."""
        with self.sessions() as session:
            case = repository.get_case(session, self.reference)
            assert case is not None
            return CaseView(default_profiles()).render(case)

    def deadlines(self) -> object:
        """The case's deadlines as the staff API shows them."""
        return self.rendered()["deadlines"]


class TestDeadlinesFollowTheLifecycle:
    """Which deadlines a case shows in each status."""

    def test_received_shows_only_acceptance(self, sessions: sessionmaker[Session]) -> None:
        """Received on 03-02: accept by 03-07 (520), nothing about handling yet."""
        assert Scenario(sessions).deadlines() == {"accept": day("2026-03-07")}

    def test_accepted_shows_the_handle_deadline(self, sessions: sessionmaker[Session]) -> None:
        """Accepted on 03-03: handled by 03-23; the acceptance deadline is behind it."""
        scenario = Scenario(sessions).then(EventType.ACCEPTED, 1)
        assert scenario.deadlines() == {"handle": day("2026-03-23")}
        scenario.then(EventType.ASSIGNED, 2, unit="区水务局")
        assert scenario.deadlines() == {"handle": day("2026-03-23")}

    def test_extension_moves_the_handle_deadline(self, sessions: sessionmaker[Session]) -> None:
        """Once extended, the handle deadline is 30 days after the original one."""
        scenario = Scenario(sessions).then(EventType.ACCEPTED, 1)
        scenario.then(EventType.EXTENDED, 15, reason="需现场核查")
        assert scenario.deadlines() == {"handle": day("2026-04-22")}

    def test_extension_only_with_the_event(self, sessions: sessionmaker[Session]) -> None:
        """Under "regulation" the handle deadline moves only once the extended event exists."""
        scenario = Scenario(sessions, profile="regulation").then(EventType.ACCEPTED, 1)
        before = scenario.deadlines()
        assert isinstance(before, dict) and set(before) == {"handle"}
        after = scenario.then(EventType.EXTENDED, 20, reason="案情复杂").deadlines()
        assert isinstance(after, dict) and set(after) == {"handle"}
        assert after["handle"] > before["handle"]

    def test_reopening_restarts_the_handling_period(self, sessions: sessionmaker[Session]) -> None:
        """Reopened on 04-01 (day 30), the case is to be handled again by 04-21."""
        scenario = (
            Scenario(sessions)
            .then(EventType.ACCEPTED, 1)
            .then(EventType.REPLIED, 10, text="已恢复供水")
            .then(EventType.CLOSED, 12)
            .then(EventType.REOPENED, 30, reason="复查申请")
        )
        assert scenario.deadlines() == {"handle": day("2026-04-21")}

    @pytest.mark.parametrize(
        ("event", "data"),
        [
            (EventType.NOT_ACCEPTED, {"reason": "不属于信访事项"}),
            (EventType.TRANSFERRED, {"to": "区法院", "notice": "请向法院起诉"}),
        ],
    )
    def test_nothing_left_after_refusal_or_transfer(
        self, sessions: sessionmaker[Session], event: EventType, data: dict[str, str]
    ) -> None:
        """A refused or transferred case has no deadline left here."""
        assert Scenario(sessions).then(event, 1, **data).deadlines() == {}

    def test_green_channel_for_sensitive_cases(self, sessions: sessionmaker[Session]) -> None:
        """A sensitive case: first feedback by 03-09, then closed by 03-22 after acceptance."""
        scenario = Scenario(sessions, grade=Grade.SENSITIVE)
        assert scenario.rendered()["deadline_profile"] == "green"
        assert scenario.deadlines() == {"first_feedback": day("2026-03-09")}
        assert scenario.then(EventType.ACCEPTED, 1).deadlines() == {"close": day("2026-03-22")}


class TestTheBureausFile:
    """The running service shows deadlines from the file DEADLINE_PROFILES_FILE names."""

    def test_edited_periods_and_declared_holidays(
        self, sessions: sessionmaker[Session], tmp_path: Path
    ) -> None:
        """Acceptance within 3 days instead of 5, and 03-05 declared a day off: a first-time
        petition received on Monday 03-02 is met by 03-06 instead of 03-05."""
        text = PROFILES_FILE.read_text("utf-8")
        text = text.replace("{kind: accept, days: 5,", "{kind: accept, days: 3,")
        text = text.replace("  days_off: []", "  days_off: [2026-03-05]")
        path = tmp_path / "bureau.yml"
        path.write_text(text, encoding="utf-8")
        settings = Settings.from_env({"DEADLINE_PROFILES_FILE": str(path)})
        assert settings.deadline_profiles_file == str(path)
        assert Settings.from_env({}).deadline_profiles_file == str(PROFILES_FILE)
        scenario = Scenario(sessions, previous_reference=None)
        with sessions() as session:
            case = repository.get_case(session, scenario.reference)
            assert case is not None
            shipped = CaseView.from_settings(Settings.from_env({})).render(case)
            edited = CaseView.from_settings(settings).render(case)
        assert shipped["deadlines"] == {"accept": day("2026-03-07"), "meeting": day("2026-03-05")}
        assert edited["deadlines"] == {"accept": day("2026-03-05"), "meeting": day("2026-03-06")}

    def test_a_bad_file_or_profile_stops_the_service(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """DEADLINE_PROFILE must name a profile of a readable file: refused with the settings,
        and `python -m cases serve` says so and exits 2."""
        with pytest.raises(SettingsError, match="no profile named 530"):
            Settings.from_env({"DEADLINE_PROFILE": "530"})
        missing = tmp_path / "nowhere.yml"
        with pytest.raises(SettingsError, match="cannot be read"):
            Settings.from_env({"DEADLINE_PROFILES_FILE": str(missing)})
        with pytest.raises(ProfileError, match="no profile named 530"):
            CaseView.from_settings(replace(Settings(), deadline_profile="530"))
        monkeypatch.setenv("DEADLINE_PROFILE", "530")
        monkeypatch.setenv("CASES_API_TOKEN", "t")
        assert cases_command(["serve"]) == 2
        assert "configuration error:" in capsys.readouterr().err


class TestMeetingDeadline:
    """First-time petitions are due a meeting within 3 working days."""

    def test_first_time_petition_gets_a_meeting(self, sessions: sessionmaker[Session]) -> None:
        """Received Monday 03-02 from a new petitioner: meeting by Thursday 03-05."""
        scenario = Scenario(sessions, previous_reference=None)
        assert scenario.rendered()["first_time"] is True
        assert scenario.deadlines() == {"accept": day("2026-03-07"), "meeting": day("2026-03-05")}
        scenario.then(EventType.ACCEPTED, 1)
        assert scenario.deadlines() == {"handle": day("2026-03-23"), "meeting": day("2026-03-05")}

    def test_meeting_skips_the_weekend(self, sessions: sessionmaker[Session]) -> None:
        """Received Friday 03-06: the three working days end on Wednesday 03-11."""
        with sessions.begin() as session:
            case, _ = repository.file_case(
                session,
                repository.NewCase(channel=Channel.REST, user_id="b", submission_key="k9"),
                reference_prefix="XF",
                deadline_profile="520",
                now=RECEIVED + timedelta(days=4),
            )
            deadlines = CaseView(default_profiles()).deadlines(case)
        assert deadlines["meeting"] == day("2026-03-11")

    def test_no_meeting_for_returning_petitioners(self, sessions: sessionmaker[Session]) -> None:
        """A petitioner who gave an earlier reference has no meeting deadline."""
        assert "meeting" not in Scenario(sessions).deadlines()  # type: ignore[operator]

    def test_no_meeting_once_replied(self, sessions: sessionmaker[Session]) -> None:
        """After the reply the meeting deadline is no longer shown."""
        scenario = Scenario(sessions, previous_reference=None).then(EventType.ACCEPTED, 1)
        scenario.then(EventType.REPLIED, 2, text="已答复")
        assert "meeting" not in scenario.deadlines()  # type: ignore[operator]

    def test_no_meeting_for_anonymous_petitions(self, sessions: sessionmaker[Session]) -> None:
        """Nobody can be met about an anonymous petition."""
        scenario = Scenario(sessions, previous_reference=None, anonymous=True)
        assert "meeting" not in scenario.deadlines()  # type: ignore[operator]


class TestRender:
    """The staff API's JSON for a case."""

    def test_personal_data_masked(self, sessions: sessionmaker[Session]) -> None:
        """Phone and ID number appear masked, the address in full, no plaintext anywhere."""
        consent = repository.NewConsent(
            purpose=ConsentPurpose.ID_NUMBER, text_version="id-v1", given=True, at=RECEIVED
        )
        scenario = Scenario(
            sessions, id_number=ID_NUMBER, address="寒亭区固堤街道东村", consents=(consent,)
        )
        body = scenario.rendered()
        assert body["fields"] == {
            "facts": "自来水停了一个多月",
            "previous_reference": "XF-2025-000001",
            "name": "王建国",
            "phone": "138****8000",
            "address": "寒亭区固堤街道东村",
            "id_number": "110105********002X",
        }
        assert "13800138000" not in str(body) and ID_NUMBER not in str(body)
        assert body["consents"] == [
            {
                "purpose": "id_number",
                "given": True,
                "text_version": "id-v1",
                "at": RECEIVED.isoformat(),
                "channel": "rest",
            }
        ]

    def test_anonymous_case_shows_no_contact(self, sessions: sessionmaker[Session]) -> None:
        """An anonymous case shows neither name nor phone."""
        body = Scenario(sessions, anonymous=True).rendered()
        assert body["anonymous"] is True
        fields = body["fields"]
        assert isinstance(fields, dict)
        assert fields["name"] is None and fields["phone"] is None

    def test_survey_shown_once_answered(self, sessions: sessionmaker[Session]) -> None:
        """No survey is null; an answered one shows both ratings, the comment and the time."""
        scenario = Scenario(sessions)
        assert scenario.rendered()["survey"] is None
        at = RECEIVED + timedelta(days=12)
        with sessions.begin() as session:
            repository.record_survey(
                session, scenario.reference, bureau_rating=4, unit_rating=2, comment="慢", now=at
            )
        assert scenario.rendered()["survey"] == {
            "bureau": 4,
            "unit": 2,
            "comment": "慢",
            "at": at.isoformat(),
        }

    def test_event_fields_cannot_mask_type_or_time(self, sessions: sessionmaker[Session]) -> None:
        """Event data named like the fixed keys never replaces the event's type, time or actor."""
        scenario = Scenario(sessions).then(EventType.ACCEPTED, 1, type="closed", actor="x")
        events = scenario.rendered()["events"]
        assert isinstance(events, list)
        assert (events[-1]["type"], events[-1]["actor"]) == ("accepted", "staff")
