"""How a case is shown outside the database: the staff API's JSON, masked personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cases.deadlines import DeadlineProfile, compute, default_profiles
from cases.lifecycle import CaseStatus, EventType, derive_status
from cases.models import Case
from cases.settings import Settings
from common.identifiers import mask_phone


def case_status(case: Case) -> CaseStatus:
    """The status a case is in, derived from its event history."""
    return derive_status(EventType(event.type) for event in case.events)


def first_event_at(case: Case, event_type: EventType) -> datetime | None:
    """When `event_type` first happened to `case`, if it did."""
    return next((event.at for event in case.events if event.type == event_type.value), None)


@dataclass(frozen=True)
class CaseView:
    """Renders cases with the bureau's deadline profiles."""

    profiles: dict[str, DeadlineProfile]

    @classmethod
    def from_settings(cls, _settings: Settings) -> CaseView:
        """The view used by the running service."""
        return cls(profiles=default_profiles())

    def deadlines(self, case: Case) -> dict[str, str]:
        """The case's deadlines as ISO timestamps (Asia/Shanghai), keyed by kind."""
        profile = self.profiles.get(case.deadline_profile)
        if profile is None:
            return {}
        due = compute(
            profile,
            received_at=case.received_at,
            accepted_at=first_event_at(case, EventType.ACCEPTED),
            replied_at=first_event_at(case, EventType.REPLIED),
        )
        return {kind.value: moment.isoformat() for kind, moment in due.items()}

    def render(self, case: Case) -> dict[str, Any]:
        """The staff API's JSON object for one case."""
        petitioner = case.petitioner
        fields = dict(case.fields)
        fields["name"] = petitioner.name
        fields["phone"] = mask_phone(petitioner.phone)
        return {
            "reference": case.reference,
            "status": case_status(case).value,
            "category": case.category,
            "kind": case.kind,
            "channel": case.channel,
            "user_id": case.user_id,
            "grade": case.grade,
            "received_at": case.received_at.isoformat(),
            "fields": fields,
            "deadlines": self.deadlines(case),
            "events": [
                {"type": event.type, "at": event.at.isoformat(), "actor": event.actor, **event.data}
                for event in case.events
            ],
            "survey": None,
        }
