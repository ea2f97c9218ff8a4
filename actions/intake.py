"""The intake form: validation of each field, the summary, submission and discarding."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from actions.services import Services, UsesServices
from actions.texts import render
from cases import repository
from cases.channels import SenderError, parse_sender
from cases.deadlines import DeadlineKind, compute, shanghai_date
from cases.models import PetitionKind
from common.identifiers import PhoneProblem, check_mobile, mask_phone

logger = logging.getLogger(__name__)

FORM = "petition_form"
MAX_ATTEMPTS = 3
MIN_FACTS_CHARS = 6
SUMMARY_FACTS_CHARS = 200
# Intents that answer something else than the question the form asked.
NOT_AN_ANSWER = frozenset(
    {
        "ask_human",
        "cancel",
        "ask_progress",
        "out_of_scope",
        "chitchat",
        "greet",
        "goodbye",
        "empty_message",
        "ask_process",
    }
)
# Slots that belong to one petition; name and phone stay for the next one.
PETITION_SLOTS = ("facts", "place", "demand", "submission_id")

_PHONE_PROBLEM_RESPONSE = {
    PhoneProblem.NO_DIGITS: "utter_invalid_phone_no_digits",
    PhoneProblem.TOO_SHORT: "utter_invalid_phone_short",
    PhoneProblem.TOO_LONG: "utter_invalid_phone_long",
    PhoneProblem.BAD_PREFIX: "utter_invalid_phone_prefix",
}
# Opening phrases that announce a petition without saying what it is about.
_OPENERS = re.compile(
    r"^(?:你好|您好|领导|请问)?[，,。！!\s]*"
    r"(?:我|我们)?(?:要|想|想要|需要)?(?:投诉|反映|举报|检举|求助|咨询|提个?|提出|反应)"
    r"(?:一下|一个|个)?(?:问题|情况|事情|建议|事)?[：:，,。！!\s]*"
)
_NAME_PREFIX = re.compile(r"^(?:我叫|我是|我姓|本人|姓名[是为:：]?|名字[是叫:：]?)\s*")
_KIND_CUES = (
    (PetitionKind.REPORT, re.compile(r"举报|检举|揭发")),
    (PetitionKind.SUGGESTION, re.compile(r"建议|提议")),
    (PetitionKind.HELP, re.compile(r"求助|救助|帮帮|帮忙")),
)


def content_length(text: str) -> int:
    """Letters and digits in `text` (punctuation, emoji and blanks don't count)."""
    return sum(1 for char in text if char.isalnum())


def petition_kind(text: str) -> PetitionKind:
    """Complaint unless the petitioner's words say suggestion, report or help."""
    for kind, cue in _KIND_CUES:
        if cue.search(text):
            return kind
    return PetitionKind.COMPLAINT


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the petitioner's latest message."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return name if isinstance(name, str) else None


def reset_petition() -> list[EventType]:
    """Events that forget the current petition (but not who the petitioner is)."""
    events: list[EventType] = [SlotSet(slot, None) for slot in PETITION_SLOTS]
    events += [
        SlotSet("phone_attempts", 0),
        SlotSet("phone_failed", False),
        SlotSet("confirmation_pending", False),
    ]
    return events


class ValidatePetitionForm(FormValidationAction):
    """Extracts the facts from the petition message and validates every field with reasons."""

    def name(self) -> str:
        """The action Rasa calls for this form."""
        return "validate_petition_form"

    async def extract_facts(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Takes the facts from the message that opened the petition, or from the answer."""
        if tracker.get_slot("facts"):
            return {}
        text = (tracker.latest_message or {}).get("text") or ""
        intent = latest_intent(tracker)
        if tracker.get_slot("requested_slot") == "facts":
            return {} if intent in NOT_AN_ANSWER else {"facts": text}
        if intent == "file_petition" and content_length(_OPENERS.sub("", text)) >= MIN_FACTS_CHARS:
            return {"facts": text}
        return {}

    def validate_facts(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Facts need a few words of substance."""
        text = str(value or "").strip()
        if content_length(_OPENERS.sub("", text)) < MIN_FACTS_CHARS:
            dispatcher.utter_message(response="utter_facts_too_short")
            return {"facts": None}
        return {"facts": text}

    def validate_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any place with at least two letters."""
        text = str(value or "").strip()
        return {"place": text if content_length(text) >= 2 else None}

    def validate_demand(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any demand with at least two letters."""
        text = str(value or "").strip()
        return {"demand": text if content_length(text) >= 2 else None}

    def validate_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A name without "我叫…" around it, no digits, at most 20 characters."""
        text = _NAME_PREFIX.sub("", str(value or "").strip()).strip("。.，, ")
        if not text or len(text) > 20 or any(char.isdigit() for char in text):
            return {"name": None}
        return {"name": text}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A mobile number; the reason when not, and a person after three failures."""
        check = check_mobile(str(value or ""))
        if check.number is not None:
            return {"phone": check.number, "phone_attempts": 0}
        attempts = int(tracker.get_slot("phone_attempts") or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            dispatcher.utter_message(response="utter_phone_offer_handoff")
            # Ends the form without a phone; the summary step then does not ask to confirm.
            return {
                "phone": None,
                "phone_attempts": attempts,
                "phone_failed": True,
                "requested_slot": None,
            }
        problem = check.problem or PhoneProblem.NO_DIGITS
        dispatcher.utter_message(response=_PHONE_PROBLEM_RESPONSE[problem], digits=check.digits)
        return {"phone": None, "phone_attempts": attempts}


class ActionPetitionSummary(Action):
    """Shows what was collected (phone masked) and asks to confirm."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_petition_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Asks for confirmation only when every field is there."""
        values = {slot: tracker.get_slot(slot) for slot in ("facts", "place", "demand", "name")}
        phone = tracker.get_slot("phone")
        if not phone or not all(values.values()):
            return [SlotSet("confirmation_pending", False)]
        facts = str(values["facts"])
        if len(facts) > SUMMARY_FACTS_CHARS:
            facts = facts[:SUMMARY_FACTS_CHARS] + "…"
        dispatcher.utter_message(
            response="utter_petition_summary",
            facts=facts,
            place=values["place"],
            demand=values["demand"],
            name=values["name"],
            phone_masked=mask_phone(phone),
        )
        submission_id = tracker.get_slot("submission_id") or uuid.uuid4().hex
        return [SlotSet("confirmation_pending", True), SlotSet("submission_id", submission_id)]


class ActionSubmitPetition(UsesServices, Action):
    """Files the case once, then tells the reference and the acceptance deadline."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_submit_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Commits the case, and only then announces its reference."""
        submission_id = tracker.get_slot("submission_id")
        try:
            channel, user_id = parse_sender(tracker.sender_id)
        except SenderError:
            logger.error("submission from a sender id without channel namespace")
            dispatcher.utter_message(response="utter_submit_failed")
            return []
        text = str(tracker.get_slot("facts") or "")
        new = repository.NewCase(
            channel=channel,
            user_id=user_id,
            submission_key=f"{tracker.sender_id}:{submission_id}",
            kind=petition_kind(text),
            name=tracker.get_slot("name"),
            phone=tracker.get_slot("phone"),
            fields={
                "facts": text,
                "place": tracker.get_slot("place"),
                "demand": tracker.get_slot("demand"),
            },
        )
        services = self.services
        try:
            reference, received_at = self._file(services, new)
        except SQLAlchemyError as error:
            logger.error("case could not be filed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_submit_failed")
            return []
        logger.info("case %s filed through %s", reference, channel.value)
        accept_by = compute(services.deadline_profile, received_at=received_at).get(
            DeadlineKind.ACCEPT
        )
        dispatcher.utter_message(
            response="utter_petition_filed",
            reference=reference,
            accept_by=format_date(domain, accept_by) if accept_by else "",
        )
        return [*reset_petition(), SlotSet("case_reference", reference)]

    @staticmethod
    def _file(services: Services, new: repository.NewCase) -> tuple[str, Any]:
        """Files (or finds) the case and commits; returns its reference and receipt time."""
        settings = services.settings
        try:
            with services.sessions.begin() as session:
                case, created = repository.file_case(
                    session,
                    new,
                    reference_prefix=settings.reference_prefix,
                    deadline_profile=settings.deadline_profile,
                )
                if not created:
                    logger.info("submission repeated; case %s already filed", case.reference)
                result = (str(case.reference), case.received_at)
        except IntegrityError:
            # Two submissions of the same petition raced; the other one won.
            with services.sessions() as session:
                existing = repository.find_by_submission(session, new.submission_key)
                if existing is None:
                    raise
                result = (str(existing.reference), existing.received_at)
        return result


def format_date(domain: DomainDict, moment: Any) -> str:
    """A deadline as the petitioner reads dates (Shanghai calendar day)."""
    day = shanghai_date(moment)
    return render(domain, "utter_date", year=day.year, month=day.month, day=day.day)


class ActionDiscardPetition(Action):
    """Forgets the petition being filled in, at the petitioner's request."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_discard_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Resets the petition slots and leaves the form."""
        dispatcher.utter_message(response="utter_petition_discarded")
        events = reset_petition()
        if tracker.active_loop.get("name") == FORM:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events
