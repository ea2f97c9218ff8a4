"""Queries and units of work on cases; callers own the session and its transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cases.channels import Channel
from cases.lifecycle import EventType
from cases.models import (
    Case,
    CaseEvent,
    ChannelIdentity,
    Grade,
    HandoffReason,
    HandoffRequest,
    Petitioner,
    PetitionKind,
    utcnow,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, kw_only=True)
class NewCase:
    """What the intake dialogue collected for one petition."""

    channel: Channel
    user_id: str
    submission_key: str
    kind: PetitionKind = PetitionKind.COMPLAINT
    category: str | None = None
    grade: Grade = Grade.NORMAL
    name: str | None = None
    phone: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


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
    the caller commits before telling anyone the reference.
    """
    existing = find_by_submission(session, new.submission_key)
    if existing is not None:
        return existing, False
    received_at = now or utcnow()
    petitioner = petitioner_for(session, new.channel, new.user_id)
    petitioner.name = new.name or petitioner.name
    petitioner.phone = new.phone or petitioner.phone
    case = Case(
        submission_key=new.submission_key,
        petitioner=petitioner,
        channel=new.channel.value,
        user_id=new.user_id,
        kind=new.kind.value,
        category=new.category,
        grade=new.grade.value,
        deadline_profile=deadline_profile,
        fields=dict(new.fields),
        received_at=received_at,
    )
    session.add(case)
    session.flush()
    year = received_at.astimezone(SHANGHAI).year
    case.reference = f"{reference_prefix}-{year}-{case.id:06d}"
    session.add(
        CaseEvent(case=case, type=EventType.RECEIVED.value, at=received_at, actor=new.channel.value)
    )
    session.flush()
    return case, True


def find_by_submission(session: Session, submission_key: str) -> Case | None:
    """The case filed under a submission key, if any."""
    return session.scalar(select(Case).where(Case.submission_key == submission_key))


def get_case(session: Session, reference: str) -> Case | None:
    """One case by its reference, with its events and petitioner loaded."""
    return session.scalar(
        select(Case)
        .where(Case.reference == reference)
        .options(selectinload(Case.events), selectinload(Case.petitioner))
    )


def cases_of(session: Session, channel: Channel, user_id: str) -> list[Case]:
    """The cases filed from one channel account, newest first."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.channel == channel.value, Case.user_id == user_id)
            .options(selectinload(Case.events), selectinload(Case.petitioner))
            .order_by(Case.id.desc())
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
