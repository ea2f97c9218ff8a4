"""Database models of the case domain (SQLAlchemy 2.0, typed)."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


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


class Base(DeclarativeBase):
    """Declarative base of all case-side tables."""


class Petitioner(Base):
    """A person who files petitions, reachable through one or more channels."""

    __tablename__ = "petitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="petitioner")
    cases: Mapped[list[Case]] = relationship(back_populates="petitioner")


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
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    petitioner: Mapped[Petitioner] = relationship(back_populates="cases")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )


class CaseEvent(Base):
    """One step in a case's history; rows are only ever appended."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

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
