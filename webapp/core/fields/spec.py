"""A type's declared fields (CONTRACT §7): the one definition of what a field spec may say.

``FieldSpec`` is a pydantic model, so the same class checks a workflow file's ``fields`` block
(an unknown key is refused with its path), gives the JSON Schema the API publishes, and is what
validation, forms, filters and encryption read. Checks that span keys (a choice field needs
choices, a sensitive field cannot be searchable) live here too, beside the keys they read.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from webapp.core.base.words import label

FIELD_TYPES = ("text", "textarea", "integer", "decimal", "boolean", "date", "datetime", "choice",
               "email", "url", "phone", "reference", "user", "location", "list")
FieldType = Literal["text", "textarea", "integer", "decimal", "boolean", "date", "datetime",
                    "choice", "email", "url", "phone", "reference", "user", "location", "list"]
#: Field names: what a person can type in a filter (``data.price__gte``) and a CSV header.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TEXTUAL = frozenset({"text", "textarea", "email", "url", "phone"})
NUMERIC = frozenset({"integer", "decimal"})
#: Longest text a field holds when its spec names no max_length.
TEXT_MAX = 10_000
#: Bounds every number stays within, declared or not (no 5,000-digit integers).
NUMBER_LIMIT = Decimal("1e15")
#: A bound: exact while checked, written back to files as a plain JSON number.
Bound = Annotated[Decimal, Field(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT), PlainSerializer(
    lambda d: int(d) if d == d.to_integral_value() else float(d), return_type=int | float)]


class FieldSpec(BaseModel):
    """One declared field; the field's name is its key in the type's ``fields`` object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    label: str | None = Field(None, max_length=200)
    help: str | None = Field(None, max_length=1000)
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] | None = Field(None, min_length=1, max_length=500)
    min: Bound | None = None
    max: Bound | None = None
    max_length: int | None = Field(None, ge=1, le=TEXT_MAX)
    pattern: str | None = Field(None, max_length=500)
    #: reference: the type whose entity ids the field holds.
    ref_type: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,49}$")
    #: list: each item is an object with these fields.
    item_fields: dict[str, FieldSpec] | None = None
    #: text, integer, email and phone: no two entities of the type share a value (emails
    #: compared without regard to case; a sensitive one by its blind index, see ``secrets``).
    unique: bool = False
    #: Encrypted at rest; shown in full only to roles that may operate (admin, support).
    sensitive: bool = False
    #: Matched by the list's and the header's search.
    searchable: bool = False
    #: A column of the type's list.
    listed: bool = False
    #: Lists filter and sort on it.
    filterable: bool = False

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"is not a valid regular expression ({err})") from None
        return value

    @field_validator("item_fields")
    @classmethod
    def _item_names(cls, value: dict[str, FieldSpec] | None) -> dict[str, FieldSpec] | None:
        for name, spec in (value or {}).items():
            check_name(name)
            if spec.type == "list":
                raise ValueError(f"item field {name!r}: a list's items cannot hold lists")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        for problem in _problems(self):
            raise ValueError(problem)
        return self

    @property
    def is_text(self) -> bool:
        return self.type in TEXTUAL

    @property
    def is_number(self) -> bool:
        return self.type in NUMERIC

    def title(self, name: str) -> str:
        """What a person reads for this field: its label, else its name in words."""
        return self.label or label(name).capitalize()


def _problems(spec: FieldSpec) -> list[str]:
    """Keys that contradict the type or each other."""
    t = spec.type
    checks = [
        (t == "choice" and not spec.choices, "a choice field needs choices"),
        (t != "choice" and spec.choices is not None, "only a choice field has choices"),
        (t == "reference" and not spec.ref_type, "a reference field needs ref_type"),
        (t != "reference" and spec.ref_type is not None, "only a reference field has ref_type"),
        (t == "list" and not spec.item_fields, "a list field needs item_fields"),
        (t != "list" and spec.item_fields is not None, "only a list field has item_fields"),
        ((spec.min is not None or spec.max is not None) and t not in NUMERIC | {"list"},
         "min and max apply to integer, decimal and list (items) fields"),
        (spec.min is not None and spec.max is not None and spec.min > spec.max,
         "min is greater than max"),
        (spec.max_length is not None and t not in TEXTUAL, "max_length applies to text fields"),
        (spec.pattern is not None and t not in TEXTUAL, "pattern applies to text fields"),
        (spec.unique and t not in ("text", "integer", "email", "phone"),
         "unique applies to text, integer, email and phone fields"),
        (spec.sensitive and (spec.filterable or spec.searchable),
         "a sensitive field cannot be filterable or searchable"),
        (spec.sensitive and t not in TEXTUAL, "only text fields can be sensitive"),
        (spec.searchable and t not in TEXTUAL, "only text fields can be searchable"),
        (spec.filterable and t in ("textarea", "list", "location"),
         f"a {t} field cannot be filterable"),
    ]
    return [message for failed, message in checks if failed]


def unique_text(spec: FieldSpec, value: Any) -> str:
    """What a unique field's values are compared by: the value as the database's JSON text
    gives it back, an email's in lower case (``Ann@x.org`` and ``ann@x.org`` are one address).
    A sensitive field's blind index is made of this text too."""
    return str(value).lower() if spec.type == "email" else str(value)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"field name {name!r} must be lower case letters, digits and _ "
                         f"(starting with a letter, at most 63)")
    return name


class Fields(BaseModel):
    """A type's ``fields`` block, in declared order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specs: dict[str, FieldSpec]

    @field_validator("specs")
    @classmethod
    def _names(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in value:
            check_name(name)
        return value


def parse_fields(doc: Any) -> dict[str, FieldSpec]:
    """A ``fields`` block as specs (raises pydantic's ValidationError, with paths, when bad)."""
    if doc is None:
        return {}
    return Fields.model_validate({"specs": doc}).specs


def export_fields(specs: dict[str, FieldSpec]) -> dict[str, Any]:
    """Specs back as the workflow file writes them (only what was said)."""
    return {name: spec.model_dump(mode="json", exclude_defaults=True) for name, spec in specs.items()}
