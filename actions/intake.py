"""The intake form: which fields to ask, validation with reasons, summary and submission."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from actions.answers import (
    SKIPPED,
    count_people,
    find_reference,
    is_refusal,
    is_skip,
    yes_no,
)
from actions.fields import load_fields
from actions.handoff import record_handoff
from actions.services import Services, UsesServices
from actions.texts import render
from cases import repository
from cases.channels import SenderError, parse_sender
from cases.deadlines import DeadlineKind, compute, shanghai_date
from cases.models import ConsentPurpose, Grade, HandoffReason, PetitionKind
from cases.pii import PiiError
from cases.repository import ConsentRequiredError
from common.identifiers import (
    PhoneProblem,
    check_mobile,
    fold_digits,
    is_valid_id_number,
    mask_id_number,
    mask_phone,
)

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
        "pause",
        "ask_progress",
        "out_of_scope",
        "chitchat",
        "greet",
        "goodbye",
        "empty_message",
        "ask_process",
        "correct_field",
        "case_update",
        "emergency",
    }
)
# Fields that may be skipped; the others are needed to handle the petition.
OPTIONAL = frozenset({"since", "involved", "address", "id_number"})
# Slots that belong to one petition; name, phone and address stay for the next one.
PETITION_SLOTS = (
    "facts", "category", "category_second", "category_candidates", "kind", "grade", "place",
    "since", "involved", "demand", "raised_before", "previous_reference", "joint_count",
    "extra_answer", "extra_fields", "leave_contact", "id_consent", "id_number", "submission_id",
    "field_attempts", "field_failed",
)  # fmt: skip
# The order of the summary; the label of field F is the domain response utter_label_F.
SUMMARY_FIELDS = (
    "facts", "place", "since", "involved", "demand", "raised_before", "joint_count",
    "name", "phone", "address", "id_number",
)  # fmt: skip

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
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


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


def answering(tracker: Tracker, field: str) -> bool:
    """Whether the latest message answers the question about `field`.

    Prefilled slots are validated again when a form (re)starts; the latest message ("继续")
    then says nothing about them, so its intent and words must not be read as their answer.
    """
    return bool(tracker.get_slot("requested_slot") == field)


def current_kind(tracker: Tracker) -> PetitionKind:
    """The kind of the petition being filled in."""
    try:
        return PetitionKind(tracker.get_slot("kind") or PetitionKind.COMPLAINT.value)
    except ValueError:
        return PetitionKind.COMPLAINT


def may_be_anonymous(kind: PetitionKind) -> bool:
    """Suggestions and reports may be anonymous; complaints need a contact for the answer."""
    return kind in (PetitionKind.SUGGESTION, PetitionKind.REPORT)


def reset_petition() -> list[EventType]:
    """Events that forget the current petition (but not who the petitioner is)."""
    events: list[EventType] = [SlotSet(slot, None) for slot in PETITION_SLOTS]
    return [*events, SlotSet("confirmation_pending", False)]


def pending_extras(tracker: Tracker) -> list[str]:
    """The category's extra questions not answered yet."""
    rules = load_fields().rules_for(
        tracker.get_slot("category"), tracker.get_slot("category_second")
    )
    answered = tracker.get_slot("extra_fields") or {}
    return [name for name in rules.extra_fields if name not in answered]


def needs_id_number(tracker: Tracker) -> bool:
    """Whether the category needs the ID number (asked only after consent)."""
    category, second = tracker.get_slot("category"), tracker.get_slot("category_second")
    return load_fields().rules_for(category, second).id_number


def nlu_outputs(tracker: Tracker) -> dict[str, Any]:
    """Category, kind and grade the NLU attached to the latest message, as slots."""
    message = tracker.latest_message or {}
    slots: dict[str, Any] = {}
    category = message.get("petition_category") or {}
    if isinstance(category, dict):
        if category.get("name") and not category.get("unsure"):
            slots["category"] = category["name"]
            slots["category_second"] = category.get("second_level")
        else:
            ranking = [item.get("name") for item in category.get("ranking") or []]
            slots["category_candidates"] = [name for name in ranking if name][:3] or None
    kind = message.get("petition_kind")
    text = str(message.get("text") or "")
    slots["kind"] = kind if kind in {k.value for k in PetitionKind} else petition_kind(text).value
    for entity in message.get("entities") or []:
        start, end = entity.get("start"), entity.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        # The petitioner's own words ("两个多月"), not the normalised value ("P2M").
        words = text[start:end]
        if entity.get("entity") in ("period", "date") and "since" not in slots:
            slots["since"] = words
        elif entity.get("entity") == "org" and "involved" not in slots:
            slots["involved"] = words
    grade = (message.get("petition_grade") or {}).get("grade")
    slots["grade"] = grade if grade in {g.value for g in Grade} else Grade.NORMAL.value
    return slots


class ValidatePetitionForm(UsesServices, FormValidationAction):
    """Decides what to ask next and validates every answer, with reasons."""

    def name(self) -> str:
        """The action Rasa calls for this form."""
        return "validate_petition_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The fields this petition needs, in the order a caseworker asks them."""
        if tracker.get_slot("field_failed"):
            return []
        slots = ["facts"]
        if tracker.get_slot("category_candidates"):
            # Stays listed once answered, so that the answer is validated against the choices.
            slots.append("category")
        slots += ["place", "since", "involved", "demand", "raised_before", "joint_count"]
        if pending_extras(tracker):
            slots.append("extra_answer")
        if may_be_anonymous(current_kind(tracker)):
            slots.append("leave_contact")
        if tracker.get_slot("leave_contact") is False:
            return slots
        slots += ["name", "phone", "address"]
        if needs_id_number(tracker):
            slots.append("id_consent")
            if tracker.get_slot("id_consent"):
                slots.append("id_number")
        return slots

    # Failure handling shared by every field.

    def _fail(
        self,
        field: str,
        response: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        **values: Any,
    ) -> dict[str, Any]:
        """Says why the answer is not usable; after the third try skips or offers a person."""
        attempts = dict(tracker.get_slot("field_attempts") or {})
        attempts[field] = int(attempts.get(field, 0)) + 1
        if attempts[field] < MAX_ATTEMPTS:
            dispatcher.utter_message(response=response, **values)
            return {field: None, "field_attempts": attempts}
        if field in OPTIONAL:
            dispatcher.utter_message(response="utter_field_skipped")
            return {field: SKIPPED, "field_attempts": attempts}
        offer = "utter_phone_offer_handoff" if field == "phone" else "utter_field_offer_handoff"
        dispatcher.utter_message(response=offer)
        return {field: None, "field_attempts": attempts, "field_failed": field}

    # Extraction of what the opening message already says.

    async def extract_facts(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Takes the facts, category, kind and grade from the message that opened the petition."""
        if tracker.get_slot("facts"):
            return {}
        text = (tracker.latest_message or {}).get("text") or ""
        intent = latest_intent(tracker)
        if tracker.get_slot("requested_slot") == "facts":
            return {} if intent in NOT_AN_ANSWER else {"facts": text}
        if intent != "file_petition":
            return {}
        if nlu_outputs(tracker).get("grade") == Grade.EMERGENCY.value:
            dispatcher.utter_message(response="utter_emergency")
            record_handoff(self.services, tracker.sender_id, HandoffReason.EMERGENCY)
        if content_length(_OPENERS.sub("", text)) >= MIN_FACTS_CHARS:
            return {"facts": text}
        return {}

    # Validation, one method per field.

    def validate_facts(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Facts need a few words of substance; the NLU's category, kind and grade come along.

        They are set here rather than extracted: the SDK keeps only the validated slots that
        the form requires, and the message that gives the facts is the one to read them from.
        """
        text = str(value or "").strip()
        if content_length(_OPENERS.sub("", text)) < MIN_FACTS_CHARS:
            return self._fail("facts", "utter_facts_too_short", dispatcher, tracker)
        if text != str((tracker.latest_message or {}).get("text") or "").strip():
            return {"facts": text}  # validated again on resume: the NLU read another message
        return {"facts": text, **nlu_outputs(tracker)}

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the offered categories, by name or number; the best guess after three tries."""
        candidates = list(tracker.get_slot("category_candidates") or [])
        text = str(value or "").strip()
        chosen = next((name for name in candidates if name in text), None)
        if chosen is None and text.isdigit() and 1 <= int(text) <= len(candidates):
            chosen = candidates[int(text) - 1]
        if chosen is not None:
            return {"category": chosen}
        attempts = dict(tracker.get_slot("field_attempts") or {})
        attempts["category"] = int(attempts.get("category", 0)) + 1
        if attempts["category"] >= MAX_ATTEMPTS and candidates:
            # The category only routes the case; staff correct it if the guess was wrong.
            return {"category": candidates[0], "field_attempts": attempts}
        dispatcher.utter_message(response="utter_invalid_category")
        return {"category": None, "field_attempts": attempts}

    def validate_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A place with at least two letters."""
        text = str(value or "").strip()
        if content_length(text) < 2 or is_skip(text):
            return self._fail("place", "utter_invalid_place", dispatcher, tracker)
        return {"place": text}

    def validate_since(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """When it started, in the petitioner's words; may be skipped."""
        text = str(value or "").strip()
        return {"since": SKIPPED if is_skip(text) or not text else text}

    def validate_involved(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Who or which unit is involved; may be skipped."""
        text = str(value or "").strip()
        return {"involved": SKIPPED if is_skip(text) or not text else text}

    def validate_demand(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What the petitioner asks for: needed to answer the petition."""
        text = str(value or "").strip()
        if content_length(text) < 2 or is_skip(text):
            return self._fail("demand", "utter_invalid_demand", dispatcher, tracker)
        return {"demand": text}

    def validate_raised_before(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes (with the earlier reference when given) or no."""
        text = str(value or "").strip()
        reference = find_reference(text)
        if reference:
            return {"raised_before": "yes", "previous_reference": reference}
        intent = latest_intent(tracker) if answering(tracker, "raised_before") else None
        answer = yes_no(text)
        if answer is False or intent == "deny":
            return {"raised_before": "no"}
        if answer is True or intent == "affirm":
            return {"raised_before": "yes"}
        if content_length(text) >= 2:
            # "去年找过街道办" says yes and when: keep the petitioner's words.
            return {"raised_before": text}
        return self._fail("raised_before", "utter_invalid_yes_no", dispatcher, tracker)

    def validate_joint_count(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """How many others join: 0 for nobody, a number from "二十多户"."""
        text = str(value or "").strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return {"joint_count": value}
        if answering(tracker, "joint_count") and latest_intent(tracker) == "deny":
            return {"joint_count": 0}
        count = count_people(text)
        if count is None:
            return self._fail("joint_count", "utter_invalid_joint_count", dispatcher, tracker)
        return {"joint_count": count}

    def validate_extra_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Stores the answer to the current category question and moves to the next one."""
        pending = pending_extras(tracker)
        if not pending:
            return {"extra_answer": None}
        field = pending[0]
        text = str(value or "").strip()
        answers = dict(tracker.get_slot("extra_fields") or {})
        if is_skip(text) or not text:
            if field not in load_fields().optional:
                dispatcher.utter_message(response="utter_extra_needed")
                return {"extra_answer": None}
            text = SKIPPED
        answers[field] = text
        return {"extra_answer": None, "extra_fields": answers}

    def validate_leave_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Whether a suggestion or report comes with a name and contact."""
        text = str((tracker.latest_message or {}).get("text") or "")
        if answering(tracker, "leave_contact") and is_refusal(text):
            # "匿名提交吧" reads as a yes to the NLU; the word 匿名 decides.
            return {"leave_contact": False}
        if isinstance(value, bool):
            return {"leave_contact": value}
        text = str(value or "")
        answer = yes_no(text)
        if answer is None:
            return self._fail("leave_contact", "utter_invalid_yes_no", dispatcher, tracker)
        return {"leave_contact": answer}

    def _refused_contact(
        self, field: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """A complaint without contact cannot be answered in writing: explain, then ask again."""
        return self._fail(field, "utter_contact_needed", dispatcher, tracker)

    def validate_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A name without "我叫…" around it, no digits, at most 20 characters."""
        raw = str(value or "").strip()
        intent = latest_intent(tracker) if answering(tracker, "name") else None
        if intent == "deny" or is_refusal(raw):
            return self._refused_contact("name", dispatcher, tracker)
        text = _NAME_PREFIX.sub("", raw).strip("。.，, ")
        if intent == "affirm" or yes_no(text) is not None:
            return self._fail("name", "utter_invalid_name", dispatcher, tracker)
        if not text or len(text) > 20 or any(char.isdigit() for char in text):
            return self._fail("name", "utter_invalid_name", dispatcher, tracker)
        return {"name": text}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A mobile number; the reason when not, and a person after three failures."""
        raw = str(value or "")
        intent = latest_intent(tracker) if answering(tracker, "phone") else None
        if intent == "deny" or is_refusal(raw):
            return self._refused_contact("phone", dispatcher, tracker)
        check = check_mobile(raw)
        if check.number is not None:
            return {"phone": check.number}
        problem = check.problem or PhoneProblem.NO_DIGITS
        return self._fail(
            "phone", _PHONE_PROBLEM_RESPONSE[problem], dispatcher, tracker, digits=check.digits
        )

    def validate_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A postal address for the written answer; may be skipped when there is a phone."""
        text = str(value or "").strip()
        if is_skip(text) or is_refusal(text):
            return {"address": SKIPPED}
        if content_length(text) < 4:
            return self._fail("address", "utter_invalid_address", dispatcher, tracker)
        return {"address": text}

    def validate_id_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The separate consent to giving the ID number; a no skips the ID number."""
        if isinstance(value, bool):
            answer: bool | None = value
        else:
            text = str(value or "")
            answer = False if is_refusal(text) else yes_no(text)
        if answer is None:
            return self._fail("id_consent", "utter_invalid_yes_no", dispatcher, tracker)
        if not answer:
            dispatcher.utter_message(response="utter_id_declined")
        return {"id_consent": answer, "id_consent_at": datetime.now(timezone.utc).isoformat()}

    def validate_id_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An 18-character ID number whose GB 11643 check character is right."""
        text = re.sub(r"\s", "", fold_digits(str(value or ""))).upper()
        if is_skip(text):
            return {"id_number": SKIPPED}
        match = _ID_SHAPE.search(text)
        if not match:
            return self._fail("id_number", "utter_invalid_id_length", dispatcher, tracker)
        if not is_valid_id_number(match.group()):
            return self._fail("id_number", "utter_invalid_id_checksum", dispatcher, tracker)
        return {"id_number": match.group()}


def display_value(domain: DomainDict, field: str, value: Any) -> str | None:
    """How a collected value is shown back (masked where personal); None hides the line."""
    if value is None:
        return None
    if value == SKIPPED:
        return render(domain, "utter_value_skipped")
    if field == "phone":
        return mask_phone(str(value))
    if field == "id_number":
        return mask_id_number(str(value))
    if field == "raised_before" and value in ("yes", "no"):
        return render(domain, f"utter_value_{value}")
    if field == "joint_count":
        return render(domain, "utter_value_joint", count=value) if int(value) else None
    if field == "facts" and len(str(value)) > SUMMARY_FACTS_CHARS:
        return str(value)[:SUMMARY_FACTS_CHARS] + "…"
    return str(value)


def summary_text(tracker: Tracker, domain: DomainDict) -> str:
    """The collected petition, one labelled line per field, personal data masked."""
    lines = []
    for field in SUMMARY_FIELDS:
        value = tracker.get_slot(field)
        if field == "raised_before" and tracker.get_slot("previous_reference"):
            value = tracker.get_slot("previous_reference")
        shown = display_value(domain, field, value)
        if shown is not None:
            lines.append(
                render(
                    domain,
                    "utter_summary_line",
                    label=render(domain, f"utter_label_{field}"),
                    value=shown,
                )
            )
    for field, value in (tracker.get_slot("extra_fields") or {}).items():
        shown = display_value(domain, field, value)
        label = render(domain, f"utter_label_extra_{field}")
        lines.append(render(domain, "utter_summary_line", label=label, value=shown))
    if tracker.get_slot("leave_contact") is False:
        lines.append(render(domain, "utter_summary_anonymous"))
    return "\n".join(lines)


def is_complete(tracker: Tracker) -> bool:
    """Every needed field is there and no field failed."""
    if tracker.get_slot("field_failed"):
        return False
    needed = ["facts", "place", "demand"]
    if tracker.get_slot("leave_contact") is not False:
        needed += ["name", "phone"]
    return all(tracker.get_slot(field) not in (None, SKIPPED) for field in needed)


class ActionPetitionSummary(Action):
    """Shows what was collected (phone and ID masked) and asks to confirm."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_petition_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Asks for confirmation only when every needed field is there."""
        if not is_complete(tracker):
            return [SlotSet("confirmation_pending", False)]
        dispatcher.utter_message(
            response="utter_petition_summary", summary=summary_text(tracker, domain)
        )
        submission_id = tracker.get_slot("submission_id") or uuid.uuid4().hex
        return [SlotSet("confirmation_pending", True), SlotSet("submission_id", submission_id)]


def petition_attachments(tracker: Tracker) -> list[dict[str, Any]]:
    """Files the channel attached to the messages of this petition (photos, newest last).

    The channel downloads media at once and puts it in the next message's metadata; the
    petition's messages are those since the last filed case or discarded petition.
    """
    found: list[dict[str, Any]] = []
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "case_reference":
            break
        if event.get("event") == "session_started":
            break
        if event.get("event") != "user":
            continue
        for item in (event.get("metadata") or {}).get("attachments") or []:
            if isinstance(item, dict) and item.get("path") and item.get("sha256"):
                kept = {key: item.get(key) for key in ("kind", "path", "sha256", "bytes")}
                found.append(kept)
    return list(reversed(found))


def consent_version(domain: DomainDict, response: str) -> str:
    """Identifies the exact consent text shown: the response name and a hash of its text."""
    text = render(domain, response)
    return f"{response}#{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def new_case_from(tracker: Tracker, domain: DomainDict) -> repository.NewCase:
    """The case to file from the form's slots (skipped answers stored as absent)."""
    channel, user_id = parse_sender(tracker.sender_id)
    anonymous = tracker.get_slot("leave_contact") is False

    def value(slot: str) -> Any:
        found = tracker.get_slot(slot)
        return None if found == SKIPPED else found

    extras = tracker.get_slot("extra_fields") or {}
    fields: dict[str, Any] = {
        "facts": value("facts"),
        "place": value("place"),
        "since": value("since"),
        "involved": value("involved"),
        "demand": value("demand"),
        "raised_before": value("raised_before"),
        "joint_count": value("joint_count") or 0,
        "extra": {key: None if item == SKIPPED else item for key, item in extras.items()},
    }
    if value("category_second"):
        fields["category_second"] = value("category_second")
    attachments = petition_attachments(tracker)
    if attachments:
        fields["attachments"] = attachments
    consents: tuple[repository.NewConsent, ...] = ()
    if tracker.get_slot("id_consent") is not None:
        at = tracker.get_slot("id_consent_at")
        consents = (
            repository.NewConsent(
                purpose=ConsentPurpose.ID_NUMBER,
                text_version=consent_version(domain, "utter_ask_id_consent"),
                given=bool(tracker.get_slot("id_consent")),
                at=datetime.fromisoformat(at) if at else datetime.now(timezone.utc),
            ),
        )
    return repository.NewCase(
        channel=channel,
        user_id=user_id,
        submission_key=f"{tracker.sender_id}:{tracker.get_slot('submission_id')}",
        kind=current_kind(tracker),
        category=value("category"),
        grade=Grade(tracker.get_slot("grade") or Grade.NORMAL.value),
        name=None if anonymous else value("name"),
        phone=None if anonymous else value("phone"),
        address=None if anonymous else value("address"),
        id_number=value("id_number") if tracker.get_slot("id_consent") else None,
        anonymous=anonymous,
        previous_reference=value("previous_reference"),
        consents=consents,
        fields=fields,
    )


class ActionSubmitPetition(UsesServices, Action):
    """Files the case once, then tells the reference and the acceptance deadline."""

    def name(self) -> str:
        """The action name in the domain."""
        return "action_submit_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Commits the case, and only then announces its reference."""
        try:
            new = new_case_from(tracker, domain)
        except SenderError:
            logger.error("submission from a sender id without channel namespace")
            dispatcher.utter_message(response="utter_submit_failed")
            return []
        services = self.services
        try:
            reference, received_at = self._file(services, new)
        except (SQLAlchemyError, PiiError, ConsentRequiredError) as error:
            logger.error("case could not be filed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_submit_failed")
            return []
        logger.info("case %s filed through %s", reference, new.channel.value)
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
        events = [*reset_petition(), SlotSet("resume_offered", False)]
        if tracker.active_loop.get("name") == FORM:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events
