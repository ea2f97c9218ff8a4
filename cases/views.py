"""How a case is shown outside the database: the staff API's JSON, masked personal data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cases.deadlines import (
    MEETING_PROFILE,
    DeadlineKind,
    DeadlineProfile,
    compute,
)
from cases.lifecycle import CaseStatus, EventType, derive_status
from cases.models import Case
from cases.settings import Settings

_K = DeadlineKind
_S = CaseStatus
# The deadlines that still matter in each status: those of the step the case waits for.
# Statuses not listed (not accepted, transferred) have nothing left to meet here.
SHOWN_DEADLINES: Mapping[CaseStatus, frozenset[DeadlineKind]] = {
    _S.LETTER: frozenset({_K.ACCEPT, _K.FIRST_FEEDBACK}),
    _S.RECEIVED: frozenset({_K.ACCEPT, _K.FIRST_FEEDBACK}),
    _S.ACCEPTED: frozenset({_K.HANDLE, _K.CLOSE}),
    _S.IN_PROGRESS: frozenset({_K.HANDLE, _K.CLOSE}),
    _S.REOPENED: frozenset({_K.HANDLE, _K.CLOSE}),
    _S.REPLIED: frozenset({_K.CLOSE, _K.REVIEW_REQUEST}),
    _S.CLOSED: frozenset({_K.REVIEW_REQUEST}),
}
# A first-time petitioner is to be met until the case is answered.
MEETING_STATUSES = frozenset({_S.LETTER, _S.RECEIVED, _S.ACCEPTED, _S.IN_PROGRESS})


def case_status(case: Case) -> CaseStatus:
    """The status a case is in, derived from its event history."""
    return derive_status(EventType(event.type) for event in case.events)


def first_event_at(case: Case, event_type: EventType) -> datetime | None:
    """When `event_type` first happened to `case`, if it did."""
    return next((event.at for event in case.events if event.type == event_type.value), None)


def last_event_at(case: Case, *event_types: EventType) -> datetime | None:
    """When the latest of `event_types` happened to `case`, if any did."""
    values = {event_type.value for event_type in event_types}
    return next((event.at for event in reversed(case.events) if event.type in values), None)


@dataclass(frozen=True)
class CaseView:
    """Renders cases with the bureau's deadline profiles."""

    profiles: dict[str, DeadlineProfile]

    @classmethod
    def from_settings(cls, settings: Settings) -> CaseView:
        """The view used by the running service: the bureau's deadline profiles file."""
        return cls(profiles=settings.deadline_profiles)

    def deadline_moments(self, case: Case) -> dict[DeadlineKind, datetime]:
        """The deadlines the case must still meet in its current status, by kind.

        The handling period runs from acceptance, or from the latest reopening; once the
        single extension is granted after that start, the handle deadline is the extension's.
        """
        status = case_status(case)
        due: dict[DeadlineKind, datetime] = {}
        profile = self.profiles.get(case.deadline_profile)
        if profile is not None:
            handling_from = last_event_at(case, EventType.ACCEPTED, EventType.REOPENED)
            replied_at = None
            if status in (CaseStatus.REPLIED, CaseStatus.CLOSED):
                replied_at = last_event_at(case, EventType.REPLIED)
            computed = compute(
                profile,
                received_at=case.received_at,
                accepted_at=handling_from,
                replied_at=replied_at,
            )
            extended_at = last_event_at(case, EventType.EXTENDED)
            extended = (
                extended_at is not None
                and handling_from is not None
                and extended_at >= handling_from
            )
            if extended and _K.HANDLE in computed and _K.EXTENSION in computed:
                computed[_K.HANDLE] = computed[_K.EXTENSION]
            shown = SHOWN_DEADLINES.get(status, frozenset())
            due = {kind: moment for kind, moment in computed.items() if kind in shown}
        meeting = self.profiles.get(MEETING_PROFILE)
        # Nobody can be met about an anonymous petition.
        if case.first_time and not case.anonymous and meeting and status in MEETING_STATUSES:
            met_by = compute(meeting, received_at=case.received_at).get(_K.MEETING)
            if met_by is not None:
                due[_K.MEETING] = met_by
        return due

    def deadlines(self, case: Case) -> dict[str, str]:
        """The case's deadlines as ISO timestamps (Asia/Shanghai), keyed by kind."""
        return {
            kind.value: moment.isoformat() for kind, moment in self.deadline_moments(case).items()
        }

    def render(self, case: Case) -> dict[str, Any]:
        """The staff API's JSON object for one case; phone and ID number only masked."""
        petitioner = case.petitioner
        fields = dict(case.fields)
        if case.anonymous:
            fields["name"] = None
            fields["phone"] = None
        else:
            fields["name"] = petitioner.name
            fields["phone"] = petitioner.phone_masked
            # Shown only when known, so that the common case keeps its short shape.
            if petitioner.address:
                fields["address"] = petitioner.address
            if petitioner.id_number_masked:
                fields["id_number"] = petitioner.id_number_masked
        survey = case.surveys[-1] if case.surveys else None
        return {
            "reference": case.reference,
            "status": case_status(case).value,
            "category": case.category,
            "kind": case.kind,
            "channel": case.channel,
            "user_id": case.user_id,
            "grade": case.grade,
            "anonymous": case.anonymous,
            "first_time": case.first_time,
            "deadline_profile": case.deadline_profile,
            "received_at": case.received_at.isoformat(),
            "fields": fields,
            "deadlines": self.deadlines(case),
            "events": [
                # The event's own fields first: they can never overwrite type, time or actor.
                {**event.data, "type": event.type, "at": event.at.isoformat(), "actor": event.actor}
                for event in case.events
            ],
            "consents": [
                {
                    "purpose": consent.purpose.value,
                    "given": consent.given,
                    "text_version": consent.text_version,
                    "at": consent.at.isoformat(),
                    "channel": consent.channel,
                }
                for consent in case.consents
            ],
            "survey": None
            if survey is None
            else {
                "bureau": survey.bureau_rating,
                "unit": survey.unit_rating,
                "comment": survey.comment,
                "at": survey.at.isoformat(),
            },
        }
