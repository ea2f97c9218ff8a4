"""Tests of the case status machine (cases/lifecycle.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cases.lifecycle import (
    NON_STATUS_EVENTS,
    CaseStatus,
    EventType,
    TransitionError,
    allowed_events,
    derive_status,
    next_status,
)

S = CaseStatus
E = EventType

# The bureau's rules written out independently of the module's table: every pair not listed
# here must be refused (non-status events aside).
EXPECTED: dict[CaseStatus | None, dict[EventType, CaseStatus]] = {
    None: {E.RECEIVED: S.RECEIVED, E.REGISTERED_LETTER: S.LETTER},
    S.LETTER: {E.RECEIVED: S.RECEIVED},
    S.RECEIVED: {
        E.ACCEPTED: S.ACCEPTED,
        E.NOT_ACCEPTED: S.NOT_ACCEPTED,
        E.TRANSFERRED: S.TRANSFERRED,
    },
    S.ACCEPTED: {
        E.ASSIGNED: S.IN_PROGRESS,
        E.REPLIED: S.REPLIED,
        E.TRANSFERRED: S.TRANSFERRED,
        E.EXTENDED: S.ACCEPTED,
    },
    S.IN_PROGRESS: {
        E.REPLIED: S.REPLIED,
        E.TRANSFERRED: S.TRANSFERRED,
        E.EXTENDED: S.IN_PROGRESS,
    },
    S.TRANSFERRED: {E.CLOSED: S.CLOSED},
    S.REPLIED: {E.CLOSED: S.CLOSED, E.REOPENED: S.REOPENED},
    S.CLOSED: {E.REOPENED: S.REOPENED},
    S.REOPENED: {E.ASSIGNED: S.IN_PROGRESS, E.REPLIED: S.REPLIED},
    S.NOT_ACCEPTED: {E.CLOSED: S.CLOSED, E.REOPENED: S.REOPENED},
}
ALL_STATES: list[CaseStatus | None] = [None, *CaseStatus]
STATUS_EVENTS = [event for event in EventType if event not in NON_STATUS_EVENTS]


class TestEnums:
    """The string values that are stored in the database and sent over the API."""

    def test_status_values(self) -> None:
        """Every status is stored as its lower-case name."""
        assert [status.value for status in CaseStatus] == [
            "letter",
            "received",
            "accepted",
            "not_accepted",
            "transferred",
            "in_progress",
            "replied",
            "closed",
            "reopened",
        ]

    def test_event_values(self) -> None:
        """Every event type is stored as its lower-case name and is a str subclass."""
        assert {event.value for event in EventType} == {
            "registered_letter",
            "received",
            "accepted",
            "not_accepted",
            "transferred",
            "assigned",
            "extended",
            "replied",
            "closed",
            "reopened",
            "note",
            "survey_answered",
            "handoff_requested",
            "notified",
        }
        assert EventType("survey_answered") is EventType.SURVEY_ANSWERED
        assert isinstance(EventType.NOTE, str)

    def test_non_status_events(self) -> None:
        """Exactly the four recording events are non-status events."""
        assert (
            frozenset({E.NOTE, E.SURVEY_ANSWERED, E.HANDOFF_REQUESTED, E.NOTIFIED})
            == NON_STATUS_EVENTS
        )


class TestNextStatus:
    """next_status: one step of the machine."""

    @pytest.mark.parametrize("status", ALL_STATES, ids=str)
    @pytest.mark.parametrize("event", STATUS_EVENTS, ids=str)
    def test_every_pair_follows_the_rules(
        self, status: CaseStatus | None, event: EventType
    ) -> None:
        """Each (status, status event) pair gives the documented status or is refused."""
        expected = EXPECTED[status].get(event)
        if expected is None:
            with pytest.raises(TransitionError):
                next_status(status, event)
        else:
            assert next_status(status, event) is expected

    @pytest.mark.parametrize("status", list(CaseStatus), ids=str)
    @pytest.mark.parametrize("event", sorted(NON_STATUS_EVENTS), ids=str)
    def test_non_status_events_keep_the_status(self, status: CaseStatus, event: EventType) -> None:
        """A note, survey answer, handoff request or notification never moves the status."""
        assert next_status(status, event) is status

    @pytest.mark.parametrize("event", sorted(NON_STATUS_EVENTS), ids=str)
    def test_non_status_events_cannot_start_a_case(self, event: EventType) -> None:
        """A recording event before the case exists is refused."""
        with pytest.raises(TransitionError, match="may not start a case"):
            next_status(None, event)

    def test_letter_converts_online(self) -> None:
        """A registered paper letter becomes an online case by being received."""
        assert next_status(S.LETTER, E.RECEIVED) is S.RECEIVED

    def test_second_extension_refused_with_history(self) -> None:
        """With an earlier extension in the history, another one is refused."""
        history = [E.RECEIVED, E.ACCEPTED, E.EXTENDED, E.ASSIGNED]
        with pytest.raises(TransitionError, match="only once per case"):
            next_status(S.IN_PROGRESS, E.EXTENDED, history=history)

    def test_first_extension_allowed_with_history(self) -> None:
        """An extension with none before it keeps the status."""
        history = [E.RECEIVED, E.ACCEPTED, E.ASSIGNED]
        assert next_status(S.IN_PROGRESS, E.EXTENDED, history=history) is S.IN_PROGRESS

    def test_reopen_after_transfer_refused_with_history(self) -> None:
        """A closed file of a transferred case is never reopened by this bureau."""
        history = [E.RECEIVED, E.TRANSFERRED, E.CLOSED]
        with pytest.raises(TransitionError, match="may not follow a transfer"):
            next_status(S.CLOSED, E.REOPENED, history=history)


class TestTransitionError:
    """TransitionError: what a refused event reports."""

    def test_attributes_and_message(self) -> None:
        """The error carries the status and event and says which event may not follow which."""
        with pytest.raises(TransitionError) as caught:
            next_status(S.RECEIVED, E.REPLIED)
        assert caught.value.status is S.RECEIVED
        assert caught.value.event is E.REPLIED
        assert str(caught.value) == "event 'replied' may not follow status 'received'"

    def test_start_message(self) -> None:
        """An event that cannot open a case has status None and says so."""
        with pytest.raises(TransitionError) as caught:
            next_status(None, E.ACCEPTED)
        assert caught.value.status is None
        assert str(caught.value) == "event 'accepted' may not start a case"

    def test_is_a_value_error(self) -> None:
        """Callers that catch ValueError also catch a refused transition."""
        assert issubclass(TransitionError, ValueError)


class TestDeriveStatus:
    """derive_status: folding a whole history."""

    def test_full_online_case(self) -> None:
        """A case accepted, assigned, extended, answered, rated and closed ends closed."""
        events = [
            E.RECEIVED,
            E.NOTIFIED,
            E.ACCEPTED,
            E.ASSIGNED,
            E.EXTENDED,
            E.NOTE,
            E.REPLIED,
            E.SURVEY_ANSWERED,
            E.CLOSED,
        ]
        assert derive_status(events) is S.CLOSED

    def test_each_prefix(self) -> None:
        """Each prefix of a history gives the status reached at that point."""
        events = [
            E.REGISTERED_LETTER,
            E.RECEIVED,
            E.ACCEPTED,
            E.ASSIGNED,
            E.REPLIED,
            E.REOPENED,
        ]
        statuses = [derive_status(events[: n + 1]) for n in range(len(events))]
        assert statuses == [
            S.LETTER,
            S.RECEIVED,
            S.ACCEPTED,
            S.IN_PROGRESS,
            S.REPLIED,
            S.REOPENED,
        ]

    def test_reopened_case_is_handled_again(self) -> None:
        """A case reopened after closing is assigned, answered and closed again."""
        events = [
            E.RECEIVED,
            E.ACCEPTED,
            E.REPLIED,
            E.CLOSED,
            E.REOPENED,
            E.ASSIGNED,
            E.REPLIED,
        ]
        assert derive_status(events) is S.REPLIED

    def test_refused_then_contested(self) -> None:
        """A refused case that is contested becomes reopened."""
        assert derive_status([E.RECEIVED, E.NOT_ACCEPTED, E.REOPENED]) is S.REOPENED

    def test_transferred_then_closed(self) -> None:
        """A transferred case may only be closed here."""
        assert derive_status([E.RECEIVED, E.TRANSFERRED, E.CLOSED]) is S.CLOSED

    def test_reopen_after_transfer_refused(self) -> None:
        """Closing a transferred case does not open the way to reopening it."""
        with pytest.raises(TransitionError) as caught:
            derive_status([E.RECEIVED, E.ACCEPTED, E.TRANSFERRED, E.CLOSED, E.REOPENED])
        assert caught.value.status is S.CLOSED
        assert caught.value.event is E.REOPENED

    def test_second_extension_refused(self) -> None:
        """A second extension is refused even with other events and a status change between."""
        events = [E.RECEIVED, E.ACCEPTED, E.EXTENDED, E.NOTE, E.ASSIGNED, E.EXTENDED]
        with pytest.raises(TransitionError, match="only once per case") as caught:
            derive_status(events)
        assert caught.value.status is S.IN_PROGRESS

    def test_extension_after_reopen_refused(self) -> None:
        """A reopened case cannot be extended (only accepted or in-progress cases can)."""
        with pytest.raises(TransitionError):
            derive_status([E.RECEIVED, E.ACCEPTED, E.REPLIED, E.REOPENED, E.EXTENDED])

    def test_invalid_history(self) -> None:
        """A reply straight after receipt is refused, naming the status it broke at."""
        with pytest.raises(TransitionError) as caught:
            derive_status([E.RECEIVED, E.NOTE, E.REPLIED])
        assert caught.value.status is S.RECEIVED
        assert caught.value.event is E.REPLIED

    def test_empty_history(self) -> None:
        """No events is a plain ValueError, not a refused transition."""
        with pytest.raises(ValueError, match="at least one event") as caught:
            derive_status([])
        assert not isinstance(caught.value, TransitionError)

    def test_accepts_any_iterable(self) -> None:
        """A generator of events is folded like a list."""

        def events() -> Iterator[EventType]:
            yield E.RECEIVED
            yield E.ACCEPTED

        assert derive_status(events()) is S.ACCEPTED


class TestAllowedEvents:
    """allowed_events: the actions to offer for a status."""

    def test_before_the_case_exists(self) -> None:
        """Only receipt or a registered letter may start a case."""
        assert allowed_events(None) == frozenset({E.RECEIVED, E.REGISTERED_LETTER})

    def test_accepted(self) -> None:
        """An accepted case may be assigned, answered, transferred, extended or annotated."""
        assert allowed_events(S.ACCEPTED) == frozenset(
            {E.ASSIGNED, E.REPLIED, E.TRANSFERRED, E.EXTENDED} | NON_STATUS_EVENTS
        )

    @pytest.mark.parametrize("status", ALL_STATES, ids=str)
    def test_agrees_with_next_status(self, status: CaseStatus | None) -> None:
        """Every event listed is accepted by next_status and every other one refused."""
        allowed = allowed_events(status)
        for event in EventType:
            if event in allowed:
                next_status(status, event)
            else:
                with pytest.raises(TransitionError):
                    next_status(status, event)

    def test_extension_used_up(self) -> None:
        """Once the case was extended, extension is no longer offered."""
        history = [E.RECEIVED, E.ACCEPTED, E.EXTENDED, E.ASSIGNED]
        assert E.EXTENDED in allowed_events(S.IN_PROGRESS)
        assert allowed_events(S.IN_PROGRESS, history=history) == frozenset(
            {E.REPLIED, E.TRANSFERRED} | NON_STATUS_EVENTS
        )

    def test_transferred_case_not_reopened(self) -> None:
        """A closed file of a transferred case offers only recording events."""
        history = [E.RECEIVED, E.TRANSFERRED, E.CLOSED]
        assert allowed_events(S.CLOSED, history=history) == NON_STATUS_EVENTS
