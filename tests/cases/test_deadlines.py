"""Tests of the deadline engine (cases/deadlines.py).

Every expected date was worked out by hand from the State Council holiday notices, which
chinesecalendar carries: in 2025 National Day ran 10-01..10-08 with the Sundays/Saturdays
09-28 and 10-11 as make-up working days; the Dragon Boat holiday was 05-31..06-02; in 2024
Spring Festival ran 02-10..02-17. Years without data (2098 and 2099 here) count Monday to
Friday, unless the bureau declares their days in the calendar section.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cases import deadlines
from cases.deadlines import (
    DEFAULT_PROFILE_NAME,
    PROFILES_FILE,
    DeadlineKind,
    DeadlineProfile,
    ProfileError,
    Rule,
    StartConvention,
    StartsFrom,
    WorkCalendar,
    add_days,
    compute,
    configured_profiles,
    default_profiles,
    end_of_day,
    is_overdue,
    is_workday,
    load_profiles,
    shanghai_date,
)

SH = ZoneInfo("Asia/Shanghai")
NEXT = StartConvention.NEXT_DAY
SAME = StartConvention.SAME_DAY
K = DeadlineKind


def at(day: str, clock: str = "10:00") -> datetime:
    """An aware Shanghai datetime from 'YYYY-MM-DD' and 'HH:MM'."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SH)


def due(day: str) -> datetime:
    """The deadline moment for a date: 23:59:59 Shanghai time."""
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=SH)


@pytest.fixture
def profiles() -> dict[str, DeadlineProfile]:
    """The built-in profiles."""
    return default_profiles()


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """An empty record of warned-about years, so a fallback warning is logged again."""
    warned: set[int] = set()
    monkeypatch.setattr(deadlines, "_warned_years", warned)
    return warned


@pytest.fixture
def utc_process() -> Iterator[None]:
    """The process's local time zone set to UTC, as on a default server; restored afterwards."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


class TestIsWorkday:
    """is_workday: the official calendar, and Monday to Friday where it has no data."""

    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2025, 9, 30), True),  # Tuesday before National Day
            (date(2025, 10, 1), False),  # National Day
            (date(2025, 10, 8), False),  # last day of the holiday
            (date(2025, 10, 9), True),  # Thursday after it
            (date(2025, 9, 28), True),  # Sunday, make-up working day
            (date(2025, 10, 11), True),  # Saturday, make-up working day
            (date(2025, 10, 12), False),  # ordinary Sunday
            (date(2024, 2, 29), True),  # leap day, a Thursday
        ],
        ids=str,
    )
    def test_official_calendar(self, day: date, expected: bool) -> None:
        """Holidays are days off and make-up weekend days are working days."""
        assert is_workday(day) is expected

    def test_fallback_without_data(
        self, fresh_warnings: set[int], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A year without data counts Monday to Friday and warns once for that year."""
        caplog.set_level(logging.WARNING, logger="cases.deadlines")
        # 2099-01-01 is a Thursday: a real holiday, but unknown to the package.
        assert is_workday(date(2099, 1, 1)) is True
        assert is_workday(date(2099, 1, 3)) is False  # Saturday
        assert is_workday(date(2099, 1, 5)) is True  # Monday
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "2099" in warnings[0].getMessage()
        assert fresh_warnings == {2099}

    def test_fallback_warns_per_year(
        self, fresh_warnings: set[int], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each year without data is warned about once, independently of the others."""
        caplog.set_level(logging.WARNING, logger="cases.deadlines")
        for day in (
            date(2098, 3, 2),
            date(2099, 3, 2),
            date(2098, 3, 3),
            date(2099, 3, 3),
        ):
            is_workday(day)
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2
        assert "2098" in messages[0]
        assert "2099" in messages[1]

    def test_known_year_does_not_warn(
        self, fresh_warnings: set[int], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A year the package knows logs nothing."""
        caplog.set_level(logging.WARNING, logger="cases.deadlines")
        is_workday(date(2025, 10, 1))
        assert caplog.records == []


class TestBureauCalendar:
    """Days the bureau declares over the package: a year it does not know yet, or a fix."""

    # 2099-01-01 is a Thursday; 01-03 and 01-04 are Saturday and Sunday.
    MEETING = Rule(K.MEETING, 3, True, StartsFrom.RECEIPT)

    def meeting(self, calendar: WorkCalendar) -> date:
        """The first-time meeting deadline of a letter received on 2099-01-01."""
        profile = DeadlineProfile("m", (self.MEETING,), calendar=calendar)
        return compute(profile, received_at=at("2099-01-01"))[K.MEETING].date()

    def test_declared_days_off_and_make_up_days(self, fresh_warnings: set[int]) -> None:
        """Declared days off are skipped; a declared working Saturday is counted."""
        assert self.meeting(WorkCalendar()) == date(2099, 1, 6)  # 01-02, 01-05, 01-06
        off = WorkCalendar(days_off=frozenset({date(2099, 1, 1), date(2099, 1, 2)}))
        assert self.meeting(off) == date(2099, 1, 7)  # 01-05, 01-06, 01-07
        make_up = WorkCalendar(working_days=frozenset({date(2099, 1, 3)}))
        assert self.meeting(make_up) == date(2099, 1, 5)  # 01-02, 01-03, 01-05

    def test_declared_year_does_not_warn(
        self, fresh_warnings: set[int], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A year with declared days is no guess: no warning; an undeclared one still warns."""
        caplog.set_level(logging.WARNING, logger="cases.deadlines")
        calendar = WorkCalendar(days_off=frozenset({date(2099, 1, 1)}))
        assert calendar.is_workday(date(2099, 1, 1)) is False
        assert calendar.is_workday(date(2099, 1, 5)) is True
        assert calendar.is_workday(date(2099, 1, 10)) is False  # a Saturday
        assert caplog.records == []
        assert calendar.is_workday(date(2098, 1, 6)) is True
        assert [r.getMessage().split(";")[0] for r in caplog.records] == [
            "chinese_calendar has no holiday data for 2098"
        ]

    def test_declaration_corrects_a_known_year(self) -> None:
        """A declared day wins over the package's data, both ways."""
        calendar = WorkCalendar(
            days_off=frozenset({date(2025, 9, 30)}), working_days=frozenset({date(2025, 10, 2)})
        )
        assert (calendar.is_workday(date(2025, 9, 30)), is_workday(date(2025, 9, 30))) == (
            False,
            True,
        )
        assert (calendar.is_workday(date(2025, 10, 2)), is_workday(date(2025, 10, 2))) == (
            True,
            False,
        )
        assert calendar.is_workday(date(2025, 10, 3)) is False  # the package still decides

    def test_roll_over_a_declared_day_off(self, fresh_warnings: set[int]) -> None:
        """A calendar-day deadline on a declared day off rolls to the next working day."""
        rule = Rule(K.ACCEPT, 15, False, StartsFrom.RECEIPT)
        calendar = WorkCalendar(days_off=frozenset({date(2099, 1, 16)}))  # a Friday
        plain = DeadlineProfile("r", (rule,), roll_to_workday=True)
        declared = replace(plain, calendar=calendar)
        assert compute(plain, received_at=at("2099-01-01"))[K.ACCEPT] == due("2099-01-16")
        assert compute(declared, received_at=at("2099-01-01"))[K.ACCEPT] == due("2099-01-19")
        assert add_days(
            at("2099-01-01"), 15, working_days=False, start_convention=NEXT, roll_to_workday=True
        ) == date(2099, 1, 16)
        assert add_days(
            at("2099-01-01"),
            15,
            working_days=False,
            start_convention=NEXT,
            roll_to_workday=True,
            calendar=calendar,
        ) == date(2099, 1, 19)

    def test_a_day_both_off_and_working_is_refused(self) -> None:
        """One day cannot be both."""
        day = frozenset({date(2099, 1, 1)})
        with pytest.raises(ProfileError, match="2099-01-01 declared both"):
            WorkCalendar(days_off=day, working_days=day)

    def test_calendar_section_of_the_file(self, tmp_path: Path, fresh_warnings: set[int]) -> None:
        """The file's calendar applies to every profile; quoted dates are read too."""
        path = tmp_path / "profiles.yml"
        path.write_text(
            "calendar:\n"
            "  days_off: [2099-01-01, '2099-01-02']\n"
            "  working_days: []\n"
            "profiles:\n"
            "  m: {rules: [{kind: meeting, days: 3, working_days: true, starts_from: receipt}]}\n"
            "  n: {rules: [{kind: accept, days: 1, working_days: true, starts_from: receipt}]}\n",
            encoding="utf-8",
        )
        loaded = load_profiles(path)
        expected = WorkCalendar(days_off=frozenset({date(2099, 1, 1), date(2099, 1, 2)}))
        assert loaded["m"].calendar == loaded["n"].calendar == expected
        got = compute(loaded["m"], received_at=at("2099-01-01"))
        assert got == {K.MEETING: due("2099-01-07")}

    @pytest.mark.parametrize(
        ("section", "message"),
        [
            ("days_off: 2099-01-01", "must be a list of dates"),
            ("days_off: ['2099-02-30']", "'2099-02-30' is not a date"),
            ("days_off: [tomorrow]", "'tomorrow' is not a date"),
            ("holidays: [2099-01-01]", "unknown keys"),
            ("days_off: [2099-01-01]\n  working_days: [2099-01-01]", "declared both"),
        ],
        ids=["not-a-list", "no-such-day", "not-a-date", "unknown-key", "both"],
    )
    def test_malformed_calendar(self, tmp_path: Path, section: str, message: str) -> None:
        """A malformed calendar is refused with the file's name and the problem."""
        path = tmp_path / "profiles.yml"
        path.write_text(
            f"calendar:\n  {section}\n"
            "profiles:\n"
            "  m: {rules: [{kind: meeting, days: 3, working_days: true, starts_from: receipt}]}\n",
            encoding="utf-8",
        )
        with pytest.raises(ProfileError, match=message) as caught:
            load_profiles(path)
        assert str(path) in str(caught.value)


class TestConfiguredProfiles:
    """What the services read at start: the bureau's file, complete."""

    def test_shipped_file(self) -> None:
        """The shipped file has everything the services need."""
        assert configured_profiles(PROFILES_FILE) == default_profiles()

    def test_a_missing_needed_profile(self, tmp_path: Path) -> None:
        """The default profile, green and first_time_meeting are needed by name."""
        text = PROFILES_FILE.read_text("utf-8")
        path = tmp_path / "profiles.yml"
        path.write_text(text.replace('"green":', '"greenish":'), encoding="utf-8")
        with pytest.raises(ProfileError, match="no profile named green$"):
            configured_profiles(path)
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ProfileError, match="no profile named 530"):
            configured_profiles(path, "530")
        assert configured_profiles(path, "regulation")["regulation"].rule(K.HANDLE) is not None

    def test_unreadable_and_invalid_files(self, tmp_path: Path) -> None:
        """A missing file or broken YAML is a ProfileError naming the file."""
        missing = tmp_path / "nowhere.yml"
        with pytest.raises(ProfileError, match="cannot be read") as caught:
            configured_profiles(missing)
        assert str(missing) in str(caught.value)
        broken = tmp_path / "broken.yml"
        broken.write_text("profiles: [unclosed\n", encoding="utf-8")
        with pytest.raises(ProfileError, match="not valid YAML"):
            configured_profiles(broken)


class TestAddDays:
    """add_days: counting calendar or working days under each convention."""

    def test_five_calendar_days_from_a_tuesday(self) -> None:
        """Five calendar days from Tuesday 2025-03-04 end on Sunday 03-09."""
        got = add_days(at("2025-03-04"), 5, working_days=False, start_convention=NEXT)
        assert got == date(2025, 3, 9)

    def test_five_calendar_days_same_day(self) -> None:
        """With the day of receipt as day 1, five days from Tuesday end on Saturday 03-08."""
        got = add_days(at("2025-03-04"), 5, working_days=False, start_convention=SAME)
        assert got == date(2025, 3, 8)

    def test_three_working_days_across_a_weekend(self) -> None:
        """From Thursday 2025-06-05: Fri 06, Mon 09, Tue 10."""
        got = add_days(at("2025-06-05"), 3, working_days=True, start_convention=NEXT)
        assert got == date(2025, 6, 10)

    def test_three_working_days_across_a_weekend_same_day(self) -> None:
        """From Thursday 2025-06-05 counted as day 1: Thu 05, Fri 06, Mon 09."""
        got = add_days(at("2025-06-05"), 3, working_days=True, start_convention=SAME)
        assert got == date(2025, 6, 9)

    def test_three_working_days_before_national_day(self) -> None:
        """From Tuesday 2025-09-30: Thu 10-09, Fri 10-10 and the make-up Saturday 10-11."""
        got = add_days(at("2025-09-30"), 3, working_days=True, start_convention=NEXT)
        assert got == date(2025, 10, 11)

    def test_three_working_days_before_national_day_same_day(self) -> None:
        """From Tuesday 2025-09-30 counted as day 1: Tue 09-30, Thu 10-09, Fri 10-10."""
        got = add_days(at("2025-09-30"), 3, working_days=True, start_convention=SAME)
        assert got == date(2025, 10, 10)

    def test_same_day_on_a_day_off(self) -> None:
        """Received on Saturday 2025-06-07, the Saturday is not a working day to count."""
        same = add_days(at("2025-06-07"), 3, working_days=True, start_convention=SAME)
        following = add_days(at("2025-06-07"), 3, working_days=True, start_convention=NEXT)
        assert same == following == date(2025, 6, 11)

    def test_make_up_sunday_counts(self) -> None:
        """Received on the working Sunday 2025-09-28: it counts as day 1 under SAME_DAY."""
        same = add_days(at("2025-09-28"), 3, working_days=True, start_convention=SAME)
        following = add_days(at("2025-09-28"), 3, working_days=True, start_convention=NEXT)
        assert same == date(2025, 9, 30)
        assert following == date(2025, 10, 9)

    def test_roll_out_of_national_day(self) -> None:
        """Fifteen days from 2025-09-18 land on 10-03, rolled to the first working day 10-09."""
        start = at("2025-09-18")
        plain = add_days(start, 15, working_days=False, start_convention=NEXT)
        rolled = add_days(
            start, 15, working_days=False, start_convention=NEXT, roll_to_workday=True
        )
        assert plain == date(2025, 10, 3)
        assert rolled == date(2025, 10, 9)

    def test_no_roll_from_make_up_sunday(self) -> None:
        """Fifteen days from 2025-09-13 land on the working Sunday 09-28, which stands."""
        got = add_days(
            at("2025-09-13"),
            15,
            working_days=False,
            start_convention=NEXT,
            roll_to_workday=True,
        )
        assert got == date(2025, 9, 28)

    def test_roll_over_an_ordinary_weekend(self) -> None:
        """Fifteen days from 2025-03-01 land on Sunday 03-16, rolled to Monday 03-17."""
        got = add_days(
            at("2025-03-01"),
            15,
            working_days=False,
            start_convention=NEXT,
            roll_to_workday=True,
        )
        assert got == date(2025, 3, 17)

    def test_leap_day_calendar(self) -> None:
        """2024-02-29 exists: one day after 02-28 is 02-29, twenty after 02-10 is 03-01."""
        assert add_days(at("2024-02-28"), 1, working_days=False, start_convention=NEXT) == date(
            2024, 2, 29
        )
        assert add_days(at("2024-02-10"), 20, working_days=False, start_convention=NEXT) == date(
            2024, 3, 1
        )
        # The same count in a common year ends a day later.
        assert add_days(at("2025-02-10"), 20, working_days=False, start_convention=NEXT) == date(
            2025, 3, 2
        )

    def test_leap_day_working(self) -> None:
        """Three working days from Wednesday 2024-02-28: Thu 02-29, Fri 03-01, Mon 03-04."""
        got = add_days(at("2024-02-28"), 3, working_days=True, start_convention=NEXT)
        assert got == date(2024, 3, 4)

    def test_leap_day_as_day_one(self) -> None:
        """Received on 2024-02-29 with SAME_DAY, five calendar days end on 03-04."""
        got = add_days(at("2024-02-29"), 5, working_days=False, start_convention=SAME)
        assert got == date(2024, 3, 4)

    def test_leap_day_2028(self) -> None:
        """Three working days from Monday 2028-02-28: Tue 02-29, Wed 03-01, Thu 03-02."""
        got = add_days(at("2028-02-28"), 3, working_days=True, start_convention=NEXT)
        assert got == date(2028, 3, 2)

    def test_fallback_count(self, fresh_warnings: set[int]) -> None:
        """Without data, three working days from Friday 2099-01-02 end on Wednesday 01-07."""
        got = add_days(at("2099-01-02"), 3, working_days=True, start_convention=NEXT)
        assert got == date(2099, 1, 7)

    def test_naive_start_rejected(self) -> None:
        """A naive datetime is refused: its day would depend on the server's time zone."""
        with pytest.raises(ValueError, match="timezone-aware"):
            add_days(
                datetime(2025, 3, 4, 10, 0),
                5,
                working_days=False,
                start_convention=NEXT,
            )

    @pytest.mark.parametrize("days", [0, -1])
    def test_non_positive_days_rejected(self, days: int) -> None:
        """A period must be at least one day long."""
        with pytest.raises(ValueError, match=">= 1"):
            add_days(at("2025-03-04"), days, working_days=False, start_convention=NEXT)


class TestShanghaiTime:
    """Dates are Shanghai dates whatever the server's zone."""

    def test_late_evening_counts_on_the_shanghai_date(self, utc_process: None) -> None:
        """23:30 in Shanghai (15:30 UTC) on a UTC server counts as that Shanghai day."""
        received = datetime(2025, 6, 5, 15, 30, tzinfo=timezone.utc)
        assert time.strftime("%Z") == "UTC"
        assert shanghai_date(received) == date(2025, 6, 5)
        got = add_days(received, 3, working_days=True, start_convention=NEXT)
        assert got == date(2025, 6, 10)

    def test_after_midnight_counts_on_the_next_shanghai_date(self, utc_process: None) -> None:
        """00:30 in Shanghai (16:30 UTC the day before) counts as the Shanghai day, not UTC's."""
        received = datetime(2025, 6, 5, 16, 30, tzinfo=timezone.utc)
        assert received.date() == date(2025, 6, 5)
        assert shanghai_date(received) == date(2025, 6, 6)
        got = add_days(received, 3, working_days=True, start_convention=NEXT)
        assert got == date(2025, 6, 11)

    def test_other_zones_convert(self) -> None:
        """A New York timestamp is converted to Shanghai before taking its date."""
        new_york = datetime(2025, 6, 5, 12, 30, tzinfo=ZoneInfo("America/New_York"))
        assert shanghai_date(new_york) == date(2025, 6, 6)

    def test_end_of_day(self, utc_process: None) -> None:
        """A deadline is 23:59:59 Shanghai time, i.e. 15:59:59 UTC."""
        moment = end_of_day(date(2025, 6, 10))
        assert moment == due("2025-06-10")
        assert moment.tzinfo == SH
        assert moment.astimezone(timezone.utc) == datetime(
            2025, 6, 10, 15, 59, 59, tzinfo=timezone.utc
        )

    def test_naive_rejected(self) -> None:
        """shanghai_date refuses a naive datetime."""
        with pytest.raises(ValueError, match="timezone-aware"):
            shanghai_date(datetime(2025, 6, 5, 23, 30))


class TestCompute:
    """compute: a profile's deadlines for a case."""

    def test_520_on_receipt(self, profiles: dict[str, DeadlineProfile]) -> None:
        """Before acceptance only the accept deadline is known: 5 days after Tuesday 03-04."""
        got = compute(profiles["520"], received_at=at("2025-03-04"))
        assert got == {K.ACCEPT: due("2025-03-09")}

    def test_520_after_acceptance(self, profiles: dict[str, DeadlineProfile]) -> None:
        """Accepted on 03-05, the case must be handled by 03-25, or 04-24 once extended."""
        got = compute(profiles["520"], received_at=at("2025-03-04"), accepted_at=at("2025-03-05"))
        assert got == {
            K.ACCEPT: due("2025-03-09"),
            K.HANDLE: due("2025-03-25"),
            K.EXTENSION: due("2025-04-24"),
        }

    def test_520_does_not_roll(self, profiles: dict[str, DeadlineProfile]) -> None:
        """The local profile keeps a deadline on a holiday: 2025-09-26 + 5 is 10-01."""
        got = compute(profiles["520"], received_at=at("2025-09-26"))
        assert got[K.ACCEPT] == due("2025-10-01")

    def test_regulation_rolls_out_of_national_day(
        self, profiles: dict[str, DeadlineProfile]
    ) -> None:
        """15 days from 2025-09-18 land on 10-03 and roll to 10-09."""
        got = compute(profiles["regulation"], received_at=at("2025-09-18"))
        assert got == {K.ACCEPT: due("2025-10-09")}

    def test_regulation_make_up_sunday(self, profiles: dict[str, DeadlineProfile]) -> None:
        """15 days from 2025-09-13 land on the working Sunday 09-28, which stands."""
        got = compute(profiles["regulation"], received_at=at("2025-09-13"))
        assert got[K.ACCEPT] == due("2025-09-28")

    def test_regulation_handle_and_extension(self, profiles: dict[str, DeadlineProfile]) -> None:
        """Accepted 2025-08-01: handle by 09-30 (60 days), extended by 10-30 (30 more)."""
        got = compute(
            profiles["regulation"],
            received_at=at("2025-07-25"),
            accepted_at=at("2025-08-01"),
        )
        assert got == {
            K.ACCEPT: due("2025-08-11"),  # 07-25 + 15 = Saturday 08-09, rolled to Monday
            K.HANDLE: due("2025-09-30"),
            K.EXTENSION: due("2025-10-30"),
        }

    def test_extension_counts_from_the_unrolled_handle_day(
        self, profiles: dict[str, DeadlineProfile]
    ) -> None:
        """Handle day 10-03 rolls to 10-09, but the extension counts 30 days on from 10-03."""
        # 10-03 + 30 = Sunday 11-02, rolled to Monday 11-03; from 10-09 it would be 11-10.
        got = compute(
            profiles["regulation"],
            received_at=at("2025-08-01"),
            accepted_at=at("2025-08-04"),
        )
        assert got[K.HANDLE] == due("2025-10-09")
        assert got[K.EXTENSION] == due("2025-11-03")

    def test_extension_ignores_same_day_convention(
        self, profiles: dict[str, DeadlineProfile]
    ) -> None:
        """Under SAME_DAY, handle is day 60 counting acceptance (09-29) and extension 30 more."""
        profile = replace(profiles["regulation"], start=SAME, roll_to_workday=False)
        got = compute(profile, received_at=at("2025-07-25"), accepted_at=at("2025-08-01"))
        assert got[K.HANDLE] == due("2025-09-29")
        assert got[K.EXTENSION] == due("2025-10-29")

    def test_regulation_review_request(self, profiles: dict[str, DeadlineProfile]) -> None:
        """A reply on 2025-09-01 may be contested until 10-01, rolled to 10-09."""
        got = compute(
            profiles["regulation"],
            received_at=at("2025-07-01"),
            accepted_at=at("2025-07-02"),
            replied_at=at("2025-09-01"),
        )
        assert got[K.REVIEW_REQUEST] == due("2025-10-09")
        assert set(got) == {K.ACCEPT, K.HANDLE, K.EXTENSION, K.REVIEW_REQUEST}

    def test_green(self, profiles: dict[str, DeadlineProfile]) -> None:
        """Green channel from Tuesday 2025-03-04: feedback by 03-11, closed by 03-24."""
        got = compute(profiles["green"], received_at=at("2025-03-04"))
        assert got == {K.FIRST_FEEDBACK: due("2025-03-11"), K.CLOSE: due("2025-03-24")}

    def test_first_time_meeting_before_national_day(
        self, profiles: dict[str, DeadlineProfile]
    ) -> None:
        """A first-time petition received 2025-09-30 needs a meeting by Saturday 10-11."""
        got = compute(profiles["first_time_meeting"], received_at=at("2025-09-30"))
        assert got == {K.MEETING: due("2025-10-11")}

    def test_same_day_profile(self, profiles: dict[str, DeadlineProfile]) -> None:
        """A SAME_DAY meeting profile counts 09-30 itself: meeting by Friday 10-10."""
        profile = replace(profiles["first_time_meeting"], start=SAME)
        got = compute(profile, received_at=at("2025-09-30"))
        assert got == {K.MEETING: due("2025-10-10")}

    def test_utc_input_on_utc_server(
        self, profiles: dict[str, DeadlineProfile], utc_process: None
    ) -> None:
        """15:30 UTC is 23:30 in Shanghai: the 520 accept deadline counts from that Shanghai day."""
        got = compute(
            profiles["520"],
            received_at=datetime(2025, 6, 5, 15, 30, tzinfo=timezone.utc),
        )
        assert got[K.ACCEPT] == due("2025-06-10")
        assert got[K.ACCEPT].tzinfo == SH

    def test_naive_received_rejected(self, profiles: dict[str, DeadlineProfile]) -> None:
        """A naive receipt time is refused."""
        with pytest.raises(ValueError, match="received_at"):
            compute(profiles["520"], received_at=datetime(2025, 3, 4, 10, 0))

    def test_naive_accepted_rejected(self, profiles: dict[str, DeadlineProfile]) -> None:
        """A naive acceptance time is refused."""
        with pytest.raises(ValueError, match="accepted_at"):
            compute(
                profiles["520"],
                received_at=at("2025-03-04"),
                accepted_at=datetime(2025, 3, 5, 10, 0),
            )

    def test_acceptance_before_receipt_rejected(self, profiles: dict[str, DeadlineProfile]) -> None:
        """Swapped timestamps are refused rather than giving an early deadline."""
        with pytest.raises(ValueError, match="before"):
            compute(
                profiles["520"],
                received_at=at("2025-03-05"),
                accepted_at=at("2025-03-04"),
            )


class TestIsOverdue:
    """is_overdue: a deadline holds until the end of its day."""

    def test_last_second_is_in_time(self) -> None:
        """At 23:59:59 Shanghai time on the deadline day the case is not overdue."""
        assert is_overdue(due("2025-06-10"), due("2025-06-10")) is False

    def test_next_second_is_late(self) -> None:
        """At midnight after the deadline day the case is overdue."""
        assert is_overdue(due("2025-06-10"), at("2025-06-11", "00:00")) is True

    def test_compares_across_zones(self) -> None:
        """16:00 UTC on the deadline day is already the next day in Shanghai: overdue."""
        assert is_overdue(due("2025-06-10"), datetime(2025, 6, 10, 16, 0, tzinfo=timezone.utc))
        assert not is_overdue(due("2025-06-10"), datetime(2025, 6, 10, 15, 59, tzinfo=timezone.utc))

    def test_naive_rejected(self) -> None:
        """A naive 'now' is refused."""
        with pytest.raises(ValueError, match="now"):
            is_overdue(due("2025-06-10"), datetime(2025, 6, 10, 12, 0))


class TestProfiles:
    """default_profiles and load_profiles: the configuration."""

    def test_file_equals_defaults(self) -> None:
        """The shipped YAML file holds exactly the built-in values."""
        assert load_profiles(PROFILES_FILE) == default_profiles()

    def test_default_values(self, profiles: dict[str, DeadlineProfile]) -> None:
        """The built-in profiles hold the documented rules."""
        assert DEFAULT_PROFILE_NAME == "520"
        assert list(profiles) == ["520", "regulation", "green", "first_time_meeting"]
        summary = {
            name: (
                profile.start,
                profile.roll_to_workday,
                [(r.kind, r.days, r.working_days, r.starts_from) for r in profile.rules],
            )
            for name, profile in profiles.items()
        }
        assert summary == {
            "520": (
                NEXT,
                False,
                [
                    (K.ACCEPT, 5, False, StartsFrom.RECEIPT),
                    (K.HANDLE, 20, False, StartsFrom.ACCEPTANCE),
                    (K.EXTENSION, 30, False, StartsFrom.HANDLE_DEADLINE),
                ],
            ),
            "regulation": (
                NEXT,
                True,
                [
                    (K.ACCEPT, 15, False, StartsFrom.RECEIPT),
                    (K.HANDLE, 60, False, StartsFrom.ACCEPTANCE),
                    (K.EXTENSION, 30, False, StartsFrom.HANDLE_DEADLINE),
                    (K.REVIEW_REQUEST, 30, False, StartsFrom.REPLY),
                ],
            ),
            "green": (
                NEXT,
                False,
                [
                    (K.FIRST_FEEDBACK, 7, False, StartsFrom.RECEIPT),
                    (K.CLOSE, 20, False, StartsFrom.RECEIPT),
                ],
            ),
            "first_time_meeting": (
                NEXT,
                False,
                [(K.MEETING, 3, True, StartsFrom.RECEIPT)],
            ),
        }

    def test_rule_lookup(self, profiles: dict[str, DeadlineProfile]) -> None:
        """A profile finds its rule by kind and answers None for a kind it lacks."""
        rule = profiles["regulation"].rule(K.HANDLE)
        assert rule is not None
        assert rule.days == 60
        assert profiles["520"].rule(K.MEETING) is None

    def test_global_and_per_profile_convention(self, tmp_path: Path) -> None:
        """File-wide defaults apply to profiles that do not set their own start or roll flag."""
        path = tmp_path / "profiles.yml"
        path.write_text(
            "defaults: {start: same_day, roll_to_workday: true}\n"
            "profiles:\n"
            "  inherits:\n"
            "    rules: [{kind: accept, days: 5, working_days: false, starts_from: receipt}]\n"
            "  overrides:\n"
            "    start: next_day\n"
            "    roll_to_workday: false\n"
            "    rules: [{kind: meeting, days: 3, working_days: true, starts_from: receipt}]\n",
            encoding="utf-8",
        )
        loaded = load_profiles(path)
        assert (loaded["inherits"].start, loaded["inherits"].roll_to_workday) == (
            SAME,
            True,
        )
        assert (loaded["overrides"].start, loaded["overrides"].roll_to_workday) == (
            NEXT,
            False,
        )
        got = compute(loaded["inherits"], received_at=at("2025-03-04"))
        assert got == {K.ACCEPT: due("2025-03-10")}  # 03-04 + 4 = Saturday 03-08, rolled

    def test_missing_defaults_mean_next_day_without_roll(self, tmp_path: Path) -> None:
        """Without a defaults section a profile counts from the next day and does not roll."""
        path = tmp_path / "profiles.yml"
        path.write_text(
            "profiles:\n"
            "  p:\n"
            "    rules: [{kind: accept, days: 5, working_days: false, starts_from: receipt}]\n",
            encoding="utf-8",
        )
        assert load_profiles(path)["p"] == DeadlineProfile(
            name="p",
            rules=(Rule(K.ACCEPT, 5, False, StartsFrom.RECEIPT),),
            start=NEXT,
            roll_to_workday=False,
        )

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "profiles:\n  520:\n    rules: [{kind: accept, days: 5, working_days: false,"
                " starts_from: receipt}]\n",
                "must be a quoted string",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: accept, days: 5, working_day: false,"
                " starts_from: receipt}]\n",
                "unknown keys",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: accept, days: 5, starts_from: receipt}]\n",
                "missing",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: soon, days: 5, working_days: false,"
                " starts_from: receipt}]\n",
                "is not one of",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: accept, days: 0, working_days: false,"
                " starts_from: receipt}]\n",
                ">= 1",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: accept, days: 5, working_days: 'no',"
                " starts_from: receipt}]\n",
                "true or false",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: accept, days: 5.5, working_days: false,"
                " starts_from: receipt}]\n",
                "whole number",
            ),
            (
                "profiles:\n  p:\n    start: tomorrow\n    rules: [{kind: accept, days: 5,"
                " working_days: false, starts_from: receipt}]\n",
                "is not one of",
            ),
            (
                "profiles:\n  p:\n    rules: [{kind: extension, days: 30, working_days: false,"
                " starts_from: handle_deadline}]\n",
                "no handle rule",
            ),
            (
                "profiles:\n  p:\n    rules:\n"
                "      - {kind: accept, days: 5, working_days: false, starts_from: receipt}\n"
                "      - {kind: accept, days: 6, working_days: false, starts_from: receipt}\n",
                "duplicate",
            ),
            ("profiles:\n  p:\n    rules: []\n", "non-empty list"),
            ("profiles: {}\n", "no profiles"),
            ("defaults: {start: next_day}\n", "profiles must be a mapping"),
        ],
        ids=[
            "unquoted-name",
            "typo-key",
            "missing-key",
            "bad-kind",
            "zero-days",
            "string-bool",
            "fraction-days",
            "bad-start",
            "extension-alone",
            "duplicate-kind",
            "no-rules",
            "no-profiles",
            "no-profiles-section",
        ],
    )
    def test_malformed_file(self, tmp_path: Path, text: str, message: str) -> None:
        """A malformed file raises ProfileError naming the file and the problem."""
        path = tmp_path / "profiles.yml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ProfileError, match=message) as caught:
            load_profiles(path)
        assert str(path) in str(caught.value)

    def test_rule_validates_days(self) -> None:
        """A rule built in code refuses a zero-day period too."""
        with pytest.raises(ProfileError, match=">= 1"):
            Rule(K.ACCEPT, 0, False, StartsFrom.RECEIPT)

    def test_defaults_are_fresh_and_immutable(self) -> None:
        """Each call builds equal profiles, and a profile cannot be altered in place."""
        first, second = default_profiles(), default_profiles()
        assert first == second
        assert first is not second
        with pytest.raises(AttributeError):
            first["520"].roll_to_workday = True  # type: ignore[misc]

    def test_deadline_one_day_later_with_each_day_of_delay(
        self, profiles: dict[str, DeadlineProfile]
    ) -> None:
        """Across a plain week of March 2025, each later receipt day moves the 520 deadline too."""
        days = [at("2025-03-03") + timedelta(days=n) for n in range(5)]
        got = [compute(profiles["520"], received_at=d)[K.ACCEPT].date() for d in days]
        assert got == [date(2025, 3, 8) + timedelta(days=n) for n in range(5)]
