"""Which questions a petition needs: the common fields, then per-category extras from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

FIELDS_FILE = Path(__file__).resolve().parent.parent / "bot" / "intake_fields.yml"


class FieldsFileError(ValueError):
    """bot/intake_fields.yml is malformed."""


@dataclass(frozen=True)
class CategoryRules:
    """What one category adds to the intake."""

    extra_fields: tuple[str, ...] = ()
    id_number: bool = False


@dataclass(frozen=True)
class IntakeFields:
    """The bureau's per-category intake configuration."""

    categories: dict[str, CategoryRules] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()

    def rules_for(self, category: str | None, second_level: str | None = None) -> CategoryRules:
        """The rules of "category/second_level" if configured, else of "category"."""
        if not category:
            return CategoryRules()
        if second_level and f"{category}/{second_level}" in self.categories:
            return self.categories[f"{category}/{second_level}"]
        return self.categories.get(category, CategoryRules())

    @classmethod
    def parse(cls, document: Any) -> IntakeFields:
        """Builds the configuration from the YAML document, refusing unknown shapes."""
        if not isinstance(document, dict):
            raise FieldsFileError("the file must hold a mapping")
        categories: dict[str, CategoryRules] = {}
        for key, body in (document.get("categories") or {}).items():
            if not isinstance(body, dict) or set(body) - {"extra_fields", "id_number"}:
                raise FieldsFileError(f"category {key!r}: only extra_fields and id_number")
            extras = body.get("extra_fields") or []
            if not isinstance(extras, list) or not all(isinstance(item, str) for item in extras):
                raise FieldsFileError(f"category {key!r}: extra_fields must be a list of names")
            categories[str(key)] = CategoryRules(tuple(extras), bool(body.get("id_number")))
        fields = document.get("fields") or {}
        optional = frozenset(name for name, body in fields.items() if (body or {}).get("optional"))
        return cls(categories, optional)


@lru_cache(maxsize=4)
def load_fields(path: Path = FIELDS_FILE) -> IntakeFields:
    """Reads the configuration once per process."""
    return IntakeFields.parse(yaml.safe_load(path.read_text(encoding="utf-8")))
