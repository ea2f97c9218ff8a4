"""Progress queries: a petitioner sees the cases filed from their own channel account."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.answers import find_reference
from actions.intake import format_date
from actions.services import Services, UsesServices
from actions.texts import render
from cases import repository
from cases.channels import SenderError, parse_sender
from cases.deadlines import DeadlineKind
from cases.lifecycle import CaseStatus
from cases.models import Case
from cases.views import CaseView, case_status

logger = logging.getLogger(__name__)

MAX_LISTED = 5
# Which deadline the petitioner is waiting for in each status.
NEXT_DEADLINE = {
    CaseStatus.RECEIVED: (DeadlineKind.ACCEPT, DeadlineKind.FIRST_FEEDBACK),
    CaseStatus.ACCEPTED: (DeadlineKind.HANDLE, DeadlineKind.CLOSE),
    CaseStatus.IN_PROGRESS: (DeadlineKind.HANDLE, DeadlineKind.CLOSE),
    CaseStatus.REOPENED: (DeadlineKind.HANDLE, DeadlineKind.CLOSE),
}


class ActionQueryCases(UsesServices, Action):
    """Lists the sender's own cases with status and next deadline, in one message."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_query_cases"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Reads the cases of this channel account only; never anyone else's.

        With a reference in the message only that case is shown, and only when it is the
        sender's own; someone else's reference gets the same answer as a wrong one.
        """
        services = self.services
        try:
            channel, user_id = parse_sender(tracker.sender_id)
        except SenderError:
            dispatcher.utter_message(response="utter_no_cases")
            return []
        reference = find_reference(str((tracker.latest_message or {}).get("text") or ""))
        try:
            with services.sessions() as session:
                cases = repository.cases_of(session, channel, user_id)
                if reference is not None:
                    cases = [case for case in cases if case.reference == reference]
                    if not cases:
                        dispatcher.utter_message(response="utter_case_not_found")
                        return []
                lines = [self._line(services, domain, case) for case in cases[:MAX_LISTED]]
        except SQLAlchemyError as error:
            logger.error("cases could not be read: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        if not cases:
            dispatcher.utter_message(response="utter_no_cases")
            return []
        text = [render(domain, "utter_case_list_header", count=len(cases)), *lines]
        if len(cases) > MAX_LISTED:
            text.append(render(domain, "utter_case_list_more", count=len(cases) - MAX_LISTED))
        dispatcher.utter_message(text="\n".join(text))
        return []

    @staticmethod
    def _line(services: Services, domain: DomainDict, case: Case) -> str:
        status = case_status(case)
        category = case.category or render(domain, "utter_category_unknown")
        return render(
            domain,
            "utter_case_list_item",
            reference=case.reference,
            category=category,
            status=render(domain, f"utter_status_{status.value}"),
            deadline=next_deadline_text(services, domain, case, status),
        )


def next_deadline_text(
    services: Services, domain: DomainDict, case: Case, status: CaseStatus
) -> str:
    """ "受理期限12月2日"-style text for the deadline the case is waiting on, if any."""
    due = CaseView(profiles=services.profiles).deadline_moments(case)
    for kind in NEXT_DEADLINE.get(status, ()):
        if kind in due:
            return render(
                domain,
                "utter_case_deadline",
                kind=render(domain, f"utter_deadline_{kind.value}"),
                date=format_date(domain, due[kind]),
            )
    return render(domain, "utter_case_no_deadline")
