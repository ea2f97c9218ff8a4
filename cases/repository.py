"""Queries and units of work on cases; callers own the session and its transaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from cases.channels import Channel
from cases.deadlines import GREEN_PROFILE
from cases.lifecycle import NON_STATUS_EVENTS, CaseStatus, EventType, derive_status, next_status
from cases.models import (
    Case,
    CaseEvent,
    ChannelIdentity,
    Consent,
    ConsentPurpose,
    Grade,
    HandoffReason,
    HandoffRequest,
    Outbox,
    OutboxKind,
    Petitioner,
    PetitionKind,
    SurveyResponse,
    utcnow,
)
from cases.pii import cipher_for
from common.identifiers import (
    fold_digits,
    is_valid_id_number,
    mask_id_number,
    mask_phone,
    normalise_mobile,
)

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Sensitive and emergency cases take the green channel (GREEN_PROFILE) whatever the bureau's
# default profile.
_GREEN_GRADES = frozenset({Grade.SENSITIVE, Grade.EMERGENCY})
# Event data the petitioner is told about in the status message (the rest stays internal).
_NOTIFIED_DATA: Mapping[EventType, tuple[str, ...]] = {
    EventType.NOT_ACCEPTED: ("reason",),
    EventType.TRANSFERRED: ("to", "notice"),
    # The regulation requires the extension's reason to be told to the petitioner.
    EventType.EXTENDED: ("reason",),
    EventType.REPLIED: ("text",),
    EventType.REOPENED: ("reason",),
}


class CaseNotFoundError(LookupError):
    """No case has that reference."""


class ConsentRequiredError(ValueError):
    """Personal data that needs a separate consent came without it."""


class IdempotencyKeyReusedError(ValueError):
    """An idempotency key already recorded a different event on this case."""


@dataclass(frozen=True, kw_only=True)
class NewConsent:
    """A consent question and its answer, as the dialogue recorded it."""

    purpose: ConsentPurpose
    text_version: str
    given: bool
    at: datetime

    def __post_init__(self) -> None:
        """Refuses naive times and empty text versions."""
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("consent time must be timezone-aware")
        if not self.text_version.strip():
            raise ValueError("consent text version must not be empty")


@dataclass(frozen=True, kw_only=True)
class NewCase:
    """What the intake dialogue collected for one petition.

    An anonymous petition stores no name, phone, address or ID number even when given; an
    ID number is stored only with a given ID_NUMBER consent among `consents`.
    """

    channel: Channel
    user_id: str
    submission_key: str
    kind: PetitionKind = PetitionKind.COMPLAINT
    category: str | None = None
    grade: Grade = Grade.NORMAL
    name: str | None = None
    phone: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    address: str | None = None
    id_number: str | None = None
    anonymous: bool = False
    previous_reference: str | None = None
    consents: tuple[NewConsent, ...] = ()

    def __post_init__(self) -> None:
        """Refuses an ID number whose GB 11643 check character is wrong."""
        if self.id_number is not None and not is_valid_id_number(self.id_number):
            raise ValueError("id_number fails the GB 11643 check")

    def consented(self, purpose: ConsentPurpose) -> bool:
        """Whether the latest answer to the `purpose` question was yes."""
        answers = sorted(
            (consent for consent in self.consents if consent.purpose is purpose),
            key=lambda consent: consent.at,
        )
        return bool(answers) and answers[-1].given


@dataclass(frozen=True, kw_only=True)
class NewEvent:
    """Something to append to a case's history; `data` holds the event's own fields."""

    type: EventType
    actor: str = "staff"
    data: Mapping[str, Any] = field(default_factory=dict)


def petitioner_for(session: Session, channel: Channel, user_id: str) -> Petitioner:
    """Finds the petitioner behind a channel account, creating both on first contact."""
    identity = session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel.value, ChannelIdentity.user_id == user_id
        )
    )
    if identity is not None:
        return identity.petitioner
    petitioner = Petitioner()
    session.add(ChannelIdentity(petitioner=petitioner, channel=channel.value, user_id=user_id))
    return petitioner


def profile_for(grade: Grade, default_profile: str) -> str:
    """The deadline profile a new case of `grade` is filed under."""
    return GREEN_PROFILE if grade in _GREEN_GRADES else default_profile


def file_case(
    session: Session,
    new: NewCase,
    *,
    reference_prefix: str,
    deadline_profile: str,
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """Files a case once per submission key; returns the case and whether it is new.

    The reference is derived from the row id, so it exists only once the row does;
    the caller commits before telling anyone the reference. `deadline_profile` is the
    bureau's default: sensitive and emergency cases take the green channel instead.
    """
    existing = find_by_submission(session, new.submission_key)
    if existing is not None:
        return existing, False
    if (
        new.id_number is not None
        and not new.anonymous
        and not new.consented(ConsentPurpose.ID_NUMBER)
    ):
        raise ConsentRequiredError("an ID number is stored only with the petitioner's consent")
    received_at = now or utcnow()
    petitioner = petitioner_for(session, new.channel, new.user_id)
    phone_hash = None
    if new.phone and not new.anonymous:
        phone_hash = phone_lookup_hash(session, new.phone)
    first_time = new.previous_reference is None and not _has_earlier_case(
        session, petitioner, phone_hash
    )
    if not new.anonymous:
        _store_contact(session, petitioner, new)
    fields = dict(new.fields)
    if new.previous_reference is not None:
        fields["previous_reference"] = new.previous_reference
    case = Case(
        submission_key=new.submission_key,
        petitioner=petitioner,
        channel=new.channel.value,
        user_id=new.user_id,
        kind=new.kind.value,
        category=new.category,
        grade=new.grade.value,
        deadline_profile=profile_for(new.grade, deadline_profile),
        fields=fields,
        anonymous=new.anonymous,
        first_time=first_time,
        received_at=received_at,
    )
    session.add(case)
    session.flush()
    year = received_at.astimezone(SHANGHAI).year
    case.reference = f"{reference_prefix}-{year}-{case.id:06d}"
    session.add(
        CaseEvent(
            case=case,
            seq=1,
            type=EventType.RECEIVED.value,
            at=received_at,
            actor=new.channel.value,
        )
    )
    for consent in new.consents:
        session.add(
            Consent(
                petitioner=petitioner,
                case=case,
                purpose=consent.purpose,
                text_version=consent.text_version,
                given=consent.given,
                at=consent.at,
                channel=new.channel.value,
            )
        )
    session.flush()
    return case, True


def _store_contact(session: Session, petitioner: Petitioner, new: NewCase) -> None:
    """Keeps the petitioner's newest contact details; phone and ID number sealed."""
    petitioner.name = new.name or petitioner.name
    petitioner.address = new.address or petitioner.address
    if new.phone or new.id_number:
        cipher = cipher_for(session)
        if new.phone:
            phone = normalised_phone(new.phone)
            petitioner.phone = cipher.seal(phone)
            petitioner.phone_masked = mask_phone(phone)
            petitioner.phone_hash = cipher.lookup_hash(phone)
        if new.id_number:
            number = fold_digits(new.id_number).upper()
            petitioner.id_number = cipher.seal(number)
            petitioner.id_number_masked = mask_id_number(number)


def normalised_phone(phone: str) -> str:
    """The 11-digit form of a mobile number (+86, blanks, full-width digits removed), else as is."""
    return normalise_mobile(phone) or phone.strip()


def phone_lookup_hash(session: Session, phone: str) -> str:
    """The keyed hash petitioners are found by phone with (`Petitioner.phone_hash`)."""
    return cipher_for(session).lookup_hash(normalised_phone(phone))


def _has_earlier_case(session: Session, petitioner: Petitioner, phone_hash: str | None) -> bool:
    """Whether this petitioner, or anyone with the same phone, filed a case before."""
    if petitioner.id is not None and session.scalar(
        select(exists().where(Case.petitioner_id == petitioner.id))
    ):
        return True
    if phone_hash is None:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    Case.petitioner_id == Petitioner.id, Petitioner.phone_hash == phone_hash
                )
            )
        )
    )


def add_event(
    session: Session,
    reference: str,
    event: NewEvent,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Appends `event` to the case's history if the lifecycle allows it; returns the case.

    A status-moving event also queues a status message for the petitioner in the outbox, in
    the same transaction. With `idempotency_key`, an event already recorded under that key is
    not recorded again (the case is returned as it is). Raises CaseNotFoundError,
    lifecycle.TransitionError and IdempotencyKeyReusedError; a concurrent writer that appended
    first makes the flush raise IntegrityError (the caller may retry).
    """
    case = get_case(session, reference)
    if case is None:
        raise CaseNotFoundError(reference)
    if idempotency_key is not None:
        earlier = next((e for e in case.events if e.idempotency_key == idempotency_key), None)
        if earlier is not None:
            if (earlier.type, earlier.actor, earlier.data) != (
                event.type.value,
                event.actor,
                dict(event.data),
            ):
                raise IdempotencyKeyReusedError(
                    "this Idempotency-Key was already used for a different event"
                )
            return case
    history = [EventType(item.type) for item in case.events]
    status = derive_status(history)
    new_status = next_status(status, event.type, history=history)
    last = case.events[-1]
    # Never before the previous event: deadlines count from these moments, in order.
    at = max(now or utcnow(), last.at)
    record = CaseEvent(
        case=case,
        seq=last.seq + 1,
        type=event.type.value,
        at=at,
        actor=event.actor,
        data=dict(event.data),
        idempotency_key=idempotency_key,
    )
    session.add(record)
    session.flush()
    if event.type not in NON_STATUS_EVENTS:
        _queue_status_message(session, case, record, new_status)
    logger.info("case %s: event %s recorded", reference, event.type.value)
    return case


def _queue_status_message(
    session: Session, case: Case, record: CaseEvent, status: CaseStatus
) -> None:
    """Adds the outbox row that tells the petitioner about `record`."""
    payload: dict[str, Any] = {
        "reference": case.reference,
        "status": status.value,
        "event": record.type,
    }
    for key in _NOTIFIED_DATA.get(EventType(record.type), ()):
        if key in record.data:
            payload[key] = record.data[key]
    session.add(
        Outbox(
            case_id=case.id,
            channel=case.channel,
            user_id=case.user_id,
            kind=OutboxKind.STATUS_CHANGED,
            payload=payload,
            idempotency_key=f"{case.id}:{record.id}",
        )
    )
    session.flush()


def record_survey(
    session: Session,
    reference: str,
    *,
    bureau_rating: int,
    unit_rating: int,
    comment: str | None = None,
    now: datetime | None = None,
) -> SurveyResponse:
    """Stores a satisfaction survey answer and notes it in the case's history."""
    for rating in (bureau_rating, unit_rating):
        if isinstance(rating, bool) or not 1 <= rating <= 5:
            raise ValueError("ratings are whole numbers from 1 to 5")
    at = now or utcnow()
    case = add_event(
        session, reference, NewEvent(type=EventType.SURVEY_ANSWERED, actor="petitioner"), now=at
    )
    response = SurveyResponse(
        case=case, bureau_rating=bureau_rating, unit_rating=unit_rating, comment=comment, at=at
    )
    session.add(response)
    session.flush()
    return response


def find_by_submission(session: Session, submission_key: str) -> Case | None:
    """The case filed under a submission key, if any."""
    return session.scalar(select(Case).where(Case.submission_key == submission_key))


def _with_history() -> tuple[Any, ...]:
    """Loader options for everything a case view shows."""
    return (
        selectinload(Case.events),
        selectinload(Case.petitioner),
        selectinload(Case.surveys),
        selectinload(Case.consents),
    )


def get_case(session: Session, reference: str) -> Case | None:
    """One case by its reference, with its events and petitioner loaded."""
    return session.scalar(select(Case).where(Case.reference == reference).options(*_with_history()))


def case_for_petitioner(
    session: Session, reference: str, channel: Channel, user_id: str
) -> Case | None:
    """The case with `reference` if it belongs to the petitioner behind this account, else None.

    "Not yours" and "no such case" look the same, so that references cannot be probed.
    """
    return session.scalar(
        select(Case)
        .join(ChannelIdentity, ChannelIdentity.petitioner_id == Case.petitioner_id)
        .where(
            Case.reference == reference,
            ChannelIdentity.channel == channel.value,
            ChannelIdentity.user_id == user_id,
            ChannelIdentity.active.is_(True),
        )
        .options(*_with_history())
    )


def cases_of(session: Session, channel: Channel, user_id: str) -> list[Case]:
    """The cases filed from one channel account, newest first."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.channel == channel.value, Case.user_id == user_id)
            .options(*_with_history())
            .order_by(Case.id.desc())
        )
    )


def phone_of(session: Session, petitioner: Petitioner) -> str | None:
    """The petitioner's phone number in clear, for a person who must call back."""
    return None if petitioner.phone is None else cipher_for(session).open(petitioner.phone)


def id_number_of(session: Session, petitioner: Petitioner) -> str | None:
    """The petitioner's ID number in clear, for the few steps that need it."""
    return None if petitioner.id_number is None else cipher_for(session).open(petitioner.id_number)


def pending_outbox(session: Session, limit: int = 100) -> list[Outbox]:
    """Messages not yet sent, oldest first."""
    return list(
        session.scalars(
            select(Outbox).where(Outbox.sent_at.is_(None)).order_by(Outbox.id).limit(limit)
        )
    )


def record_handoff(
    session: Session, channel: Channel, user_id: str, reason: HandoffReason
) -> HandoffRequest:
    """Records that a person should take over this conversation."""
    request = HandoffRequest(channel=channel.value, user_id=user_id, reason=reason.value)
    session.add(request)
    session.flush()
    return request


def open_handoffs(session: Session) -> list[HandoffRequest]:
    """Handoff requests no one has handled yet, oldest first."""
    return list(
        session.scalars(
            select(HandoffRequest)
            .where(HandoffRequest.handled_at.is_(None))
            .order_by(HandoffRequest.id)
        )
    )
