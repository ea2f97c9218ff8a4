"""The deadline engine: when a case must be accepted, handled, answered or met, per profile.

Deadlines are configuration: the running services read `deadline_profiles.yml` beside this
module (or the file `DEADLINE_PROFILES_FILE` names) with `configured_profiles()`, so the
bureau's edits take effect at the next start. `default_profiles()` holds the shipped values
built in, and tests check that the shipped file still says the same. The file's `calendar`
section declares holidays and make-up working days over the chinesecalendar package. All dates
are Shanghai dates whatever the server's time zone, and a deadline is the end of its day.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]  # the package ships no type hints
import yaml

logger = logging.getLogger(__name__)

SHANGHAI = "Asia/Shanghai"
DEFAULT_PROFILE_NAME = "520"
# Profiles the services file cases under by name: sensitive cases and first-time meetings.
GREEN_PROFILE = "green"
MEETING_PROFILE = "first_time_meeting"
# Only a path: the file is read when `load_profiles` is called, never at import.
PROFILES_FILE = Path(__file__).with_name("deadline_profiles.yml")

# The last second of a deadline's day: a deadline is met by anything done on that day.
_END_OF_DAY = time(23, 59, 59)

# Years that chinese_calendar had no data for and that were already warned about, so that the
# fallback is logged once per year rather than on every day counted.
_warned_years: set[int] = set()


class StartConvention(str, Enum):
    """Whether the day a period starts on counts as its first day."""

    # The usual legal convention: the starting day is not counted, day 1 is the next day.
    NEXT_DAY = "next_day"
    # The starting day itself is day 1 (for working-day rules: if it is a working day).
    SAME_DAY = "same_day"


class StartsFrom(str, Enum):
    """The moment a rule's period is counted from."""

    RECEIPT = "receipt"
    ACCEPTANCE = "acceptance"
    REPLY = "reply"
    # The (unextended) handle deadline: an extension adds its days to the handling period.
    HANDLE_DEADLINE = "handle_deadline"


class DeadlineKind(str, Enum):
    """What must be done by a deadline."""

    ACCEPT = "accept"
    HANDLE = "handle"
    EXTENSION = "extension"
    FIRST_FEEDBACK = "first_feedback"
    CLOSE = "close"
    MEETING = "meeting"
    REVIEW_REQUEST = "review_request"


class ProfileError(ValueError):
    """A deadline profile (built in or read from the YAML file) is malformed."""


@dataclass(frozen=True)
class Rule:
    """One deadline: `days` calendar or working days counted from `starts_from`."""

    kind: DeadlineKind
    days: int
    working_days: bool
    starts_from: StartsFrom

    def __post_init__(self) -> None:
        """Refuses periods that cannot be counted."""
        # bool is an int subclass: `days: true` in the YAML file must not mean one day.
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ProfileError(f"rule '{self.kind.value}': days must be a whole number >= 1")
        if self.starts_from is StartsFrom.HANDLE_DEADLINE and self.kind is DeadlineKind.HANDLE:
            raise ProfileError("rule 'handle' cannot start from the handle deadline itself")


@dataclass(frozen=True)
class WorkCalendar:
    """Days the bureau declares itself, over the chinesecalendar package.

    The State Council publishes each year's holidays in the autumn before, and the package
    needs a new release to know them. Until then, the bureau lists that year's days off and
    make-up working days (调休上班) here; its other days are Monday to Friday. Declared days
    also correct the package where it is wrong.
    """

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        """Refuses a day declared both off and working."""
        both = sorted(self.days_off & self.working_days)
        if both:
            listed = ", ".join(day.isoformat() for day in both)
            raise ProfileError(f"calendar: {listed} declared both a day off and a working day")

    @cached_property
    def years(self) -> frozenset[int]:
        """The years the bureau has declared days in (asked for every day counted)."""
        return frozenset(day.year for day in self.days_off | self.working_days)

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day: the bureau's declaration, else the package's."""
        if day in self.days_off:
            return False
        if day in self.working_days:
            return True
        return is_workday(day, declared=day.year in self.years)


@dataclass(frozen=True)
class DeadlineProfile:
    """A named set of rules with its start-day convention and holiday roll-over."""

    name: str
    rules: tuple[Rule, ...]
    start: StartConvention = StartConvention.NEXT_DAY
    # When a calendar-day deadline lands on a day off (public holiday or weekend), move it to
    # the next working day, as the legal convention on periods does.
    roll_to_workday: bool = False
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    def __post_init__(self) -> None:
        """Refuses duplicate kinds and an extension without a handle rule to extend."""
        kinds = [rule.kind for rule in self.rules]
        duplicates = sorted({kind.value for kind in kinds if kinds.count(kind) > 1})
        if duplicates:
            raise ProfileError(f"profile '{self.name}': duplicate rules {duplicates}")
        chained = any(rule.starts_from is StartsFrom.HANDLE_DEADLINE for rule in self.rules)
        if chained and DeadlineKind.HANDLE not in kinds:
            raise ProfileError(
                f"profile '{self.name}': a rule starts from the handle deadline"
                " but the profile has no handle rule"
            )

    def rule(self, kind: DeadlineKind) -> Rule | None:
        """The profile's rule for `kind`, or None if it has none."""
        return next((rule for rule in self.rules if rule.kind is kind), None)


def shanghai_tz() -> ZoneInfo:
    """The bureau's time zone (looked up on use: building it reads the tz database)."""
    return ZoneInfo(SHANGHAI)


def shanghai_date(moment: datetime) -> date:
    """The Shanghai calendar date of an aware datetime; naive datetimes raise ValueError."""
    _require_aware(moment, "moment")
    return moment.astimezone(shanghai_tz()).date()


def end_of_day(day: date) -> datetime:
    """23:59:59 Shanghai time on `day`: the moment a deadline on that day expires."""
    return datetime.combine(day, _END_OF_DAY, tzinfo=shanghai_tz())


def is_workday(day: date, *, declared: bool = False) -> bool:
    """Whether `day` is a working day in mainland China (holidays and make-up days included).

    For a year the package has no data for, Monday to Friday; `declared` says the bureau has
    listed that year's holidays in its calendar, so that is right rather than a guess."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # chinesecalendar 1.11.0 knows 2004..2026. Without data and without the bureau's
        # declaration, Monday to Friday is a guess, and the warning says what to do.
        if not declared and day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "chinese_calendar has no holiday data for %d; counting Monday to Friday as"
                " working days (upgrade chinesecalendar, or declare the year's holidays in"
                " the calendar section of the deadline profiles)",
                day.year,
            )
        return day.weekday() < 5


def add_days(
    start: datetime,
    days: int,
    *,
    working_days: bool,
    start_convention: StartConvention,
    roll_to_workday: bool = False,
    calendar: WorkCalendar | None = None,
) -> date:
    """The Shanghai date that ends a period of `days` days beginning at `start`."""
    if isinstance(days, bool) or days < 1:
        raise ValueError("days must be a whole number >= 1")
    calendar = calendar or WorkCalendar()
    last = _count(shanghai_date(start), days, working_days, start_convention, calendar)
    return _roll(last, calendar) if roll_to_workday else last


def compute(
    profile: DeadlineProfile,
    *,
    received_at: datetime,
    accepted_at: datetime | None = None,
    replied_at: datetime | None = None,
) -> dict[DeadlineKind, datetime]:
    """The profile's deadlines (end of day, Shanghai) whose starting point is known.

    The extension deadline is the handle deadline once the single extension is granted; it is
    returned whenever the handle deadline is, and applies only to a case with an `extended`
    event.
    """
    _require_aware(received_at, "received_at")
    moments = {StartsFrom.RECEIPT: received_at}
    if accepted_at is not None:
        _require_aware(accepted_at, "accepted_at")
        if accepted_at < received_at:
            raise ValueError("accepted_at is before received_at")
        moments[StartsFrom.ACCEPTANCE] = accepted_at
    if replied_at is not None:
        _require_aware(replied_at, "replied_at")
        if replied_at < (accepted_at or received_at):
            raise ValueError("replied_at is before the case was received or accepted")
        moments[StartsFrom.REPLY] = replied_at

    # Unrolled last days, kept so that an extension counts on from the real end of the
    # handling period rather than from a day already pushed past a holiday.
    raw: dict[DeadlineKind, date] = {}
    for rule in profile.rules:
        moment = moments.get(rule.starts_from)
        if moment is not None:
            raw[rule.kind] = _count(
                shanghai_date(moment), rule.days, rule.working_days, profile.start, profile.calendar
            )
    handle_end = raw.get(DeadlineKind.HANDLE)
    for rule in profile.rules:
        if rule.starts_from is StartsFrom.HANDLE_DEADLINE and handle_end is not None:
            # The handle deadline's own day is already used up, so the added days start on
            # the next day whatever the profile's convention.
            raw[rule.kind] = _count(
                handle_end,
                rule.days,
                rule.working_days,
                StartConvention.NEXT_DAY,
                profile.calendar,
            )

    deadlines: dict[DeadlineKind, datetime] = {}
    for rule in profile.rules:
        if rule.kind in raw:
            last = raw[rule.kind]
            if profile.roll_to_workday and not rule.working_days:
                last = _roll(last, profile.calendar)
            deadlines[rule.kind] = end_of_day(last)
    return deadlines


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """Whether `now` is past `deadline`; both must be timezone-aware."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return now > deadline


def default_profiles() -> dict[str, DeadlineProfile]:
    """The built-in profiles; `deadline_profiles.yml` must hold exactly the same values."""
    calendar, working = False, True
    return {
        # Local practice ("5-20"): accept within 5 days of receipt, handle within 20 days of
        # acceptance, both calendar days. The default profile. Local practice sets no
        # extension of its own, so the regulation's single extension of at most 30 days
        # applies (used only once a case has an `extended` event).
        "520": DeadlineProfile(
            name="520",
            rules=(
                Rule(DeadlineKind.ACCEPT, 5, calendar, StartsFrom.RECEIPT),
                Rule(DeadlineKind.HANDLE, 20, calendar, StartsFrom.ACCEPTANCE),
                Rule(DeadlineKind.EXTENSION, 30, calendar, StartsFrom.HANDLE_DEADLINE),
            ),
            start=StartConvention.NEXT_DAY,
            roll_to_workday=False,
        ),
        # 信访工作条例 (2022): 15 days to decide on acceptance, 60 days to handle, one extension
        # of at most 30 days, and 30 days after the written reply to request a review (复查).
        # Statutory periods, so a deadline on a day off rolls to the next working day.
        "regulation": DeadlineProfile(
            name="regulation",
            rules=(
                Rule(DeadlineKind.ACCEPT, 15, calendar, StartsFrom.RECEIPT),
                Rule(DeadlineKind.HANDLE, 60, calendar, StartsFrom.ACCEPTANCE),
                Rule(DeadlineKind.EXTENSION, 30, calendar, StartsFrom.HANDLE_DEADLINE),
                Rule(DeadlineKind.REVIEW_REQUEST, 30, calendar, StartsFrom.REPLY),
            ),
            start=StartConvention.NEXT_DAY,
            roll_to_workday=True,
        ),
        # Green channel for sensitive cases: first feedback within 7 days and the case closed
        # within 20 days, both counted from receipt.
        "green": DeadlineProfile(
            name="green",
            rules=(
                Rule(DeadlineKind.FIRST_FEEDBACK, 7, calendar, StartsFrom.RECEIPT),
                Rule(DeadlineKind.CLOSE, 20, calendar, StartsFrom.RECEIPT),
            ),
            start=StartConvention.NEXT_DAY,
            roll_to_workday=False,
        ),
        # First-time petitions: a meeting with the petitioner within 3 working days of receipt.
        "first_time_meeting": DeadlineProfile(
            name="first_time_meeting",
            rules=(Rule(DeadlineKind.MEETING, 3, working, StartsFrom.RECEIPT),),
            start=StartConvention.NEXT_DAY,
            roll_to_workday=False,
        ),
    }


def load_profiles(path: str | os.PathLike[str]) -> dict[str, DeadlineProfile]:
    """Reads the profiles from a YAML file (see `deadline_profiles.yml` for the format)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document: object = yaml.safe_load(handle)
    except OSError as error:
        raise ProfileError(f"{path}: cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML ({error})") from error
    try:
        return _parse_document(document)
    except ProfileError as error:
        raise ProfileError(f"{path}: {error}") from error


def configured_profiles(
    path: str | os.PathLike[str], default_name: str = DEFAULT_PROFILE_NAME
) -> dict[str, DeadlineProfile]:
    """The profiles the services use, from `path`; refuses a file that lacks a profile they
    file cases under (the default, the green channel, the first-time meeting)."""
    profiles = load_profiles(path)
    needed = (default_name, GREEN_PROFILE, MEETING_PROFILE)
    missing = sorted({name for name in needed if name not in profiles})
    if missing:
        raise ProfileError(f"{path}: no profile named {', '.join(missing)}")
    return profiles


# --- internals ---------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> None:
    """Raises ValueError for a naive datetime, whose day would depend on the server's zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def _count(
    first: date,
    days: int,
    working_days: bool,
    convention: StartConvention,
    calendar: WorkCalendar,
) -> date:
    """The last day of a period of `days` days that starts on `first`."""
    if not working_days:
        return first + timedelta(days=days if convention is StartConvention.NEXT_DAY else days - 1)
    day = first if convention is StartConvention.SAME_DAY else first + timedelta(days=1)
    counted = 0
    while True:
        # A day off is never counted, even as the starting day under SAME_DAY.
        if calendar.is_workday(day):
            counted += 1
            if counted == days:
                return day
        day += timedelta(days=1)


def _roll(day: date, calendar: WorkCalendar) -> date:
    """`day` if it is a working day, else the next working day."""
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


_EnumT = TypeVar("_EnumT", bound=Enum)

_RULE_KEYS = frozenset({"kind", "days", "working_days", "starts_from"})
_PROFILE_KEYS = frozenset({"rules", "start", "roll_to_workday"})
_DEFAULT_KEYS = frozenset({"start", "roll_to_workday"})
_DOCUMENT_KEYS = frozenset({"defaults", "profiles", "calendar"})
_CALENDAR_KEYS = frozenset({"days_off", "working_days"})


def _parse_document(document: object) -> dict[str, DeadlineProfile]:
    """Profiles from the parsed YAML document; the file-wide defaults apply to each profile."""
    top = _mapping(document, "the file", _DOCUMENT_KEYS)
    defaults = _mapping(top.get("defaults", {}), "defaults", _DEFAULT_KEYS)
    start = _enum(StartConvention, defaults.get("start", "next_day"), "defaults.start")
    roll = _flag(defaults.get("roll_to_workday", False), "defaults.roll_to_workday")
    calendar = _parse_calendar(top.get("calendar") or {})
    profiles = _mapping(top.get("profiles"), "profiles", None)
    if not profiles:
        raise ProfileError("no profiles defined")
    parsed: dict[str, DeadlineProfile] = {}
    for name, body in profiles.items():
        # YAML reads an unquoted 520 as a number; refuse it rather than guess.
        if not isinstance(name, str):
            raise ProfileError(f"profile name {name!r} must be a quoted string")
        parsed[name] = _parse_profile(name, body, start, roll, calendar)
    return parsed


def _parse_calendar(value: object) -> WorkCalendar:
    """The `calendar` section: lists of dates written 2027-01-01."""
    fields = _mapping(value, "calendar", _CALENDAR_KEYS)
    return WorkCalendar(
        days_off=_dates(fields.get("days_off") or [], "calendar.days_off"),
        working_days=_dates(fields.get("working_days") or [], "calendar.working_days"),
    )


def _dates(value: object, where: str) -> frozenset[date]:
    """A YAML list of dates (YAML reads 2027-01-01 as a date; quoted, it is parsed here)."""
    if not isinstance(value, list):
        raise ProfileError(f"{where} must be a list of dates such as 2027-01-01")
    days: set[date] = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            raise ProfileError(f"{where}: {item!r} is not a date such as 2027-01-01") from None
    return frozenset(days)


def _parse_profile(
    name: str, body: object, start: StartConvention, roll: bool, calendar: WorkCalendar
) -> DeadlineProfile:
    """One profile, falling back to the file-wide defaults for its convention and roll flag."""
    where = f"profile '{name}'"
    fields = _mapping(body, where, _PROFILE_KEYS)
    rules = fields.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ProfileError(f"{where}: rules must be a non-empty list")
    return DeadlineProfile(
        name=name,
        rules=tuple(
            _parse_rule(item, f"{where}, rule {index}") for index, item in enumerate(rules, 1)
        ),
        start=_enum(StartConvention, fields.get("start", start.value), f"{where}: start"),
        roll_to_workday=_flag(fields.get("roll_to_workday", roll), f"{where}: roll_to_workday"),
        calendar=calendar,
    )


def _parse_rule(item: object, where: str) -> Rule:
    """One rule; every key is required so that a missing one is never silently defaulted."""
    fields = _mapping(item, where, _RULE_KEYS)
    missing = sorted(_RULE_KEYS - fields.keys())
    if missing:
        raise ProfileError(f"{where}: missing {missing}")
    days = fields["days"]
    if isinstance(days, bool) or not isinstance(days, int):
        raise ProfileError(f"{where}: days must be a whole number")
    try:
        return Rule(
            kind=_enum(DeadlineKind, fields["kind"], f"{where}: kind"),
            days=days,
            working_days=_flag(fields["working_days"], f"{where}: working_days"),
            starts_from=_enum(StartsFrom, fields["starts_from"], f"{where}: starts_from"),
        )
    except ProfileError as error:
        raise ProfileError(f"{where}: {error}") from error


def _mapping(value: object, where: str, keys: frozenset[str] | None) -> Mapping[object, object]:
    """`value` as a mapping, refusing unknown keys (a typo would otherwise be ignored)."""
    if not isinstance(value, Mapping):
        raise ProfileError(f"{where} must be a mapping")
    if keys is not None:
        unknown = sorted(str(key) for key in value if key not in keys)
        if unknown:
            raise ProfileError(f"{where}: unknown keys {unknown}")
    return value


def _flag(value: object, where: str) -> bool:
    """A YAML boolean; strings such as "no" are refused rather than read as true."""
    if not isinstance(value, bool):
        raise ProfileError(f"{where} must be true or false")
    return value


def _enum(kind: type[_EnumT], value: object, where: str) -> _EnumT:
    """The member of `kind` whose value is `value`, e.g. "next_day"."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in kind)
        raise ProfileError(f"{where}: {value!r} is not one of {choices}") from None
