"""What staff may post as a case event: one model per type, checked before anything is written.

Every model refuses unknown fields, requires the fields its type needs and caps their
length; `EventIn` picks the model by the `type` field (a discriminated union).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from cases.lifecycle import EventType
from cases.repository import NewEvent

MAX_TEXT_CHARS = 5000
MAX_NAME_CHARS = 100
MAX_ACTOR_CHARS = 64

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS)
]
Actor = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ACTOR_CHARS)
]


class EventInBase(BaseModel):
    """Fields every posted event has: its type and who did it."""

    model_config = ConfigDict(extra="forbid")

    type: str
    actor: Actor = "staff"

    def to_event(self) -> NewEvent:
        """The domain event: the type, the actor, and the type's own fields as data."""
        data = self.model_dump(exclude={"type", "actor"})
        return NewEvent(type=EventType(self.type), actor=self.actor, data=data)


class AcceptedIn(EventInBase):
    """The bureau accepts the petition (受理)."""

    type: Literal["accepted"]


class NotAcceptedIn(EventInBase):
    """The bureau does not accept the petition (不予受理), with the reason told in writing."""

    type: Literal["not_accepted"]
    reason: Text


class TransferredIn(EventInBase):
    """The petition goes to the competent body, with the notice (告知单) sent to the petitioner."""

    type: Literal["transferred"]
    to: Name
    notice: Text


class AssignedIn(EventInBase):
    """The case is assigned to a responsible unit."""

    type: Literal["assigned"]
    unit: Name


class ExtendedIn(EventInBase):
    """The single extension of the handling period, with the reason told to the petitioner."""

    type: Literal["extended"]
    reason: Text


class RepliedIn(EventInBase):
    """The written reply (答复意见) to the petitioner."""

    type: Literal["replied"]
    text: Text


class ClosedIn(EventInBase):
    """The file is closed (办结)."""

    type: Literal["closed"]


class ReopenedIn(EventInBase):
    """The case is handled again: a review request or a dissatisfied rating."""

    type: Literal["reopened"]
    reason: Text


# The union of all event models; validate with `Body(discriminator=EVENT_DISCRIMINATOR)` or
# `Field(...)` so that the `type` field picks the model (and errors name that model only).
EventIn = (
    AcceptedIn
    | NotAcceptedIn
    | TransferredIn
    | AssignedIn
    | ExtendedIn
    | RepliedIn
    | ClosedIn
    | ReopenedIn
)
EVENT_DISCRIMINATOR = "type"
