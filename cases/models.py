"""Database models of the case domain (SQLAlchemy 2.0, typed)."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from cases.pii import Sealed


class PetitionKind(str, Enum):
    """What the petitioner does: complaints need a contact, suggestions and reports may not."""

    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    REPORT = "report"
    HELP = "help"


class Grade(str, Enum):
    """Urgency: sensitive cases take the green channel, emergencies go to a person at once."""

    NORMAL = "normal"
    SENSITIVE = "sensitive"
    EMERGENCY = "emergency"


class HandoffReason(str, Enum):
    """Why a conversation was handed to a person."""

    ASKED = "asked"
    NOT_UNDERSTOOD = "not_understood"
    INVALID_INPUT = "invalid_input"
    EMERGENCY = "emergency"


class ConsentPurpose(str, Enum):
    """What a petitioner consented to (PIPL: one separate consent per purpose)."""

    # Giving the ID number, sensitive personal information, for this petition.
    ID_NUMBER = "id_number"
    # A petition helper turning the petitioner's paper letter into an online case.
    LETTER_CONVERSION = "letter_conversion"


class OutboxKind(str, Enum):
    """What an outbox message tells the petitioner."""

    STATUS_CHANGED = "status_changed"
    SURVEY = "survey"


def utcnow() -> datetime:
    """The current time, timezone-aware (stored as UTC)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone; without this, values read back naive and compare wrongly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Converts to UTC before writing; naive values are refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Marks values read from zone-less databases as UTC."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class EncryptedString(TypeDecorator[Sealed]):
    """A column that holds only sealed (encrypted) values; plaintext is refused on write.

    The key never reaches this type: the repository seals with the session's cipher
    (`cases.pii.cipher_for`), and this column only guarantees that nothing else is written.
    """

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Sealed | None, dialect: Any) -> str | None:
        """Writes the token of a sealed value; a plain string raises TypeError."""
        if value is None:
            return None
        if not isinstance(value, Sealed):
            raise TypeError("plaintext refused: seal personal data with PiiCipher first")
        return value.token

    def process_result_value(self, value: str | None, dialect: Any) -> Sealed | None:
        """Reads the token back as a sealed value, still encrypted."""
        return None if value is None else Sealed(value)


def _enum_values(kind: type[Enum]) -> list[str]:
    """Stores an enum by its value ("id_number"), not its member name."""
    return [str(member.value) for member in kind]


class Base(DeclarativeBase):
    """Declarative base of all case-side tables."""


class Petitioner(Base):
    """A person who files petitions, reachable through one or more channels."""

    __tablename__ = "petitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(200))
    # Phone and ID number are stored sealed, with a masked copy for display (138****8000) and,
    # for the phone, a keyed hash to find the same person again without decrypting.
    phone: Mapped[Sealed | None] = mapped_column(EncryptedString)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number: Mapped[Sealed | None] = mapped_column(EncryptedString)
    id_number_masked: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="petitioner")
    cases: Mapped[list[Case]] = relationship(back_populates="petitioner")
    consents: Mapped[list[Consent]] = relationship(back_populates="petitioner")


class ChannelIdentity(Base):
    """One account of a petitioner on one channel (a WeChat openid, a Telegram chat)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id"))
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    petitioner: Mapped[Petitioner] = relationship(back_populates="identities")


class Case(Base):
    """A petition filed online; its status is derived from its events."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_channel_user", "channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    submission_key: Mapped[str] = mapped_column(String(128), unique=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id"))
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(16))
    deadline_profile: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An anonymous case shows no name or phone, though it stays linked to the channel account.
    anonymous: Mapped[bool] = mapped_column(default=False, server_default=false())
    # No earlier case of this petitioner and no earlier reference given: a meeting is due.
    first_time: Mapped[bool] = mapped_column(default=False, server_default=false())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    petitioner: Mapped[Petitioner] = relationship(back_populates="cases")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    consents: Mapped[list[Consent]] = relationship(back_populates="case", order_by="Consent.id")
    surveys: Mapped[list[SurveyResponse]] = relationship(
        back_populates="case", order_by="SurveyResponse.id"
    )


class CaseEvent(Base):
    """One step in a case's history; rows are only ever appended."""

    __tablename__ = "case_events"
    __table_args__ = (
        # Two writers that read the same history cannot both append the next event: the
        # second one fails here instead of writing a history the lifecycle forbids.
        UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
        # A request repeated with the same Idempotency-Key is recorded once.
        UniqueConstraint("case_id", "idempotency_key", name="uq_case_events_case_idempotency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # Position in the case's history, 1 for the first event.
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))

    case: Mapped[Case] = relationship(back_populates="events")


class HandoffRequest(Base):
    """A petitioner asked for (or was offered and accepted) a person instead of the bot."""

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Consent(Base):
    """A consent asked for and answered: what, under which text version, when, through where."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(
        SqlEnum(ConsentPurpose, native_enum=False, length=32, values_callable=_enum_values)
    )
    text_version: Mapped[str] = mapped_column(String(32))
    given: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    petitioner: Mapped[Petitioner] = relationship(back_populates="consents")
    case: Mapped[Case | None] = relationship(back_populates="consents")


class Outbox(Base):
    """A message waiting to be pushed to a petitioner's chat by the notifier."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[OutboxKind] = mapped_column(
        SqlEnum(OutboxKind, native_enum=False, length=32, values_callable=_enum_values)
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Makes a push safe to retry: the notifier passes it on, so a message goes out once.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)


class SurveyResponse(Base):
    """A petitioner's satisfaction ratings for one case: the bureau and the responsible unit."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("bureau_rating BETWEEN 1 AND 5", name="ck_survey_bureau_rating"),
        CheckConstraint("unit_rating BETWEEN 1 AND 5", name="ck_survey_unit_rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    bureau_rating: Mapped[int]
    unit_rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="surveys")
