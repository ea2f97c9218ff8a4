"""Phones and ID numbers as Rasa entities; invalid ID numbers are flagged."""

from __future__ import annotations

from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.components.identifiers import IdentifierExtractor


def entities(text: str) -> list[dict]:
    """The entities the extractor adds to a message."""
    message = Message({TEXT: text})
    IdentifierExtractor().process([message])
    return message.get(ENTITIES, [])


class TestIdentifierExtractor:
    """Normalised values, original offsets, the invalid role."""

    def test_mobile_with_country_code_and_full_width(self) -> None:
        """+86, spaces and full-width digits give the 11-digit number."""
        (entity,) = entities("电话＋86 １３８ 0013 8000")
        assert entity["entity"] == "phone"
        assert entity["value"] == "13800138000"

    def test_landline_with_hyphen(self) -> None:
        """An area code with a hyphen is a landline."""
        (entity,) = entities("座机0536-8881234")
        assert (entity["entity"], entity["value"]) == ("phone", "05368881234")

    def test_valid_id_number(self) -> None:
        """A correct check digit gives an id_number without role."""
        (entity,) = entities("身份证370703199709043756")
        assert entity["entity"] == "id_number"
        assert "role" not in entity

    def test_invalid_id_number_is_flagged(self) -> None:
        """A wrong check digit is kept, with role invalid, not silently accepted."""
        (entity,) = entities("身份证370703199709043757")
        assert entity["role"] == "invalid"
