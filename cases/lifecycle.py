"""The case status machine: which event may follow which status, and the status events lead to.

A case's status is never stored on its own: it is derived by folding its events, oldest first,
through `next_status`. The rules mirror the bureau's workflow (信访工作条例 2022 and local
practice); each transition below carries a short note on why it is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import Enum


class CaseStatus(str, Enum):
    """Where a case stands in the bureau's workflow."""

    LETTER = "letter"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    TRANSFERRED = "transferred"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    CLOSED = "closed"
    REOPENED = "reopened"


class EventType(str, Enum):
    """Something that happened to a case; some events move its status, others only record."""

    REGISTERED_LETTER = "registered_letter"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    TRANSFERRED = "transferred"
    ASSIGNED = "assigned"
    EXTENDED = "extended"
    REPLIED = "replied"
    CLOSED = "closed"
    REOPENED = "reopened"
    NOTE = "note"
    SURVEY_ANSWERED = "survey_answered"
    HANDOFF_REQUESTED = "handoff_requested"
    NOTIFIED = "notified"


# Events that only record something (a staff note, a satisfaction survey, a request for a
# person, a message sent): allowed at any time once the case exists, never moving its status,
# so that a late survey answer or a note on a closed file is never refused.
NON_STATUS_EVENTS: frozenset[EventType] = frozenset(
    {
        EventType.NOTE,
        EventType.SURVEY_ANSWERED,
        EventType.HANDOFF_REQUESTED,
        EventType.NOTIFIED,
    }
)

_S = CaseStatus
_E = EventType

# The transition table: status -> {event: next status}. The None row is a case with no
# events yet. Statuses absent as keys of a row refuse that event.
_TRANSITIONS: Mapping[CaseStatus | None, Mapping[EventType, CaseStatus]] = {
    # A case starts either online (received) or as a paper letter registered at the counter,
    # which is not yet in the online system.
    None: {_E.RECEIVED: _S.RECEIVED, _E.REGISTERED_LETTER: _S.LETTER},
    # A paper letter joins the online workflow only by being converted, i.e. received.
    _S.LETTER: {_E.RECEIVED: _S.RECEIVED},
    # On receipt the bureau decides: accept it, refuse it (不予受理), or transfer it to the
    # competent body with a written notice (告知单).
    _S.RECEIVED: {
        _E.ACCEPTED: _S.ACCEPTED,
        _E.NOT_ACCEPTED: _S.NOT_ACCEPTED,
        _E.TRANSFERRED: _S.TRANSFERRED,
    },
    # An accepted case is assigned to a responsible unit, or answered directly by the bureau,
    # or found to belong to another body after all. One extension may be granted while the
    # case is being handled (checked against the history, see `next_status`).
    _S.ACCEPTED: {
        _E.ASSIGNED: _S.IN_PROGRESS,
        _E.REPLIED: _S.REPLIED,
        _E.TRANSFERRED: _S.TRANSFERRED,
        _E.EXTENDED: _S.ACCEPTED,
    },
    # The responsible unit answers, or the case turns out to belong elsewhere.
    _S.IN_PROGRESS: {
        _E.REPLIED: _S.REPLIED,
        _E.TRANSFERRED: _S.TRANSFERRED,
        _E.EXTENDED: _S.IN_PROGRESS,
    },
    # A transferred case has left this bureau: the competent body handles it from here, so the
    # only thing left is to close (archive) the file here. It is never reopened here.
    _S.TRANSFERRED: {_E.CLOSED: _S.CLOSED},
    # After the reply the file is closed, or reopened at once on a dissatisfied rating.
    _S.REPLIED: {_E.CLOSED: _S.CLOSED, _E.REOPENED: _S.REOPENED},
    # A closed file is reopened on a review request (复查) or a late dissatisfied rating.
    _S.CLOSED: {_E.REOPENED: _S.REOPENED},
    # A reopened case is handled again: assigned to a unit or answered directly.
    _S.REOPENED: {_E.ASSIGNED: _S.IN_PROGRESS, _E.REPLIED: _S.REPLIED},
    # A refusal is filed away (closed), or reconsidered when the petitioner contests it.
    _S.NOT_ACCEPTED: {_E.CLOSED: _S.CLOSED, _E.REOPENED: _S.REOPENED},
}


class TransitionError(ValueError):
    """An event that the case's status (or history) does not allow."""

    def __init__(
        self, status: CaseStatus | None, event: EventType, reason: str | None = None
    ) -> None:
        self.status = status
        self.event = event
        if reason is None:
            if status is None:
                reason = f"event '{event.value}' may not start a case"
            else:
                reason = f"event '{event.value}' may not follow status '{status.value}'"
        super().__init__(reason)


def _history_refusal(event: EventType, history: Sequence[EventType]) -> str | None:
    """The reason the earlier events forbid `event`, or None when they do not."""
    # The regulation allows a single extension of the handling period per case.
    if event is EventType.EXTENDED and EventType.EXTENDED in history:
        return "event 'extended' may occur only once per case"
    # Once transferred, a case belongs to the competent body: a review request goes there,
    # so this bureau never reopens it, even after closing its own file.
    if event is EventType.REOPENED and EventType.TRANSFERRED in history:
        return "event 'reopened' may not follow a transfer"
    return None


def next_status(
    status: CaseStatus | None, event: EventType, *, history: Sequence[EventType] = ()
) -> CaseStatus:
    """The status after `event`; `history` holds the earlier events for the once-only rules.

    `status` None means the case has no events yet. Two rules depend on more than the status:
    only one `extended` per case, and no `reopened` after a `transferred`. They are checked
    against `history`, so a caller that has the case's events must pass them (`derive_status`
    does). Raises TransitionError when the event is not allowed.
    """
    if event in NON_STATUS_EVENTS:
        if status is None:
            raise TransitionError(status, event)
        return status
    reason = _history_refusal(event, history)
    if reason is not None:
        raise TransitionError(status, event, reason)
    target = _TRANSITIONS.get(status, {}).get(event)
    if target is None:
        raise TransitionError(status, event)
    return target


def derive_status(events: Iterable[EventType]) -> CaseStatus:
    """The status that a case's events, oldest first, lead to; raises on an invalid history."""
    seen: list[EventType] = []
    status: CaseStatus | None = None
    for event in events:
        status = next_status(status, event, history=seen)
        seen.append(event)
    if status is None:
        raise ValueError("a case needs at least one event to have a status")
    return status


def allowed_events(
    status: CaseStatus | None, *, history: Sequence[EventType] = ()
) -> frozenset[EventType]:
    """The events that may come next, e.g. to offer staff only the valid actions."""
    allowed = set(_TRANSITIONS.get(status, {}))
    if status is not None:
        allowed |= NON_STATUS_EVENTS
    return frozenset(event for event in allowed if _history_refusal(event, history) is None)
