"""The one schema of a workflow file: what ``workflows export`` writes and packs contain.

Every way a workflow document comes in (a file or pack import, the editor's save, a stored row
the registry parses) is checked against these models before anything reads it, so an unknown
or misspelt key anywhere is refused with its path (``types.ticket.transitions[2].rolse``)
instead of being read as a default: a misspelt ``roles`` would open the transition to every
role. The JSON Schema the API publishes is generated from the same models.

A key no model declares is refused: a later feature adds its keys here. Rule parameters are
checked per kind against the rule registry's typed parameters. What the schema cannot see
(the states a transition names exist, no cascade loops) is ``definition.check``'s business.
"""
from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    create_model,
    model_validator,
)

from webapp.core.base.errors import InvalidInput
from webapp.core.fields.spec import NAME as FIELD_NAME
from webapp.core.fields.spec import FieldSpec
from webapp.core.settings.store import KEY_PATTERN, SPEC_TYPES
from webapp.core.workflows.definition import CATEGORIES, WILDCARD
from webapp.core.workflows.rules import RULE_KINDS, RuleKind
from webapp.core.workflows.schema_errors import STATE_NAME, TYPE_NAME, paths, problem_line
from webapp.models import ROLES

#: Parameters a kind reads beyond its typed ones, any JSON value (field_condition compares
#: with ``value``). The rule registry does not declare them (the rule form keeps the same
#: list); once it does, they are read from there.
UNTYPED_PARAMS: dict[str, tuple[str, ...]] = {"field_condition": ("value",)}
#: At most this many problems are spelt out in an error's message (``fields`` has them all).
SHOWN = 10

TypeName = Annotated[str, StringConstraints(pattern=TYPE_NAME)]
Name = Annotated[str, StringConstraints(pattern=STATE_NAME)]
States = Annotated[list[Name], Field(min_length=1)]
Role = Literal[ROLES]  # type: ignore[valid-type]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
SettingKey = Annotated[str, StringConstraints(pattern=KEY_PATTERN.pattern)]
#: A dict whose keys follow a pattern: the JSON Schema refuses any other key too.
CLOSED_KEYS: dict[str, Any] = {"additionalProperties": False}


class Strict(BaseModel):
    """No unknown keys, no guessing (``"true"`` is not true, ``"30"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


# ----------------------------------------------------------------------------- rules

def _params_model(kind: RuleKind) -> type[BaseModel]:
    """The parameters of one rule kind, typed as the registry declares them."""
    typed = {name: (_PARAM_TYPES.get(ptype, Any), ...) for name, ptype in kind.params.items()}
    untyped = {name: (Any, None) for name in UNTYPED_PARAMS.get(kind.name, ())}
    return create_model(f"{_camel(kind.name)}Params", __base__=Strict,
                        __doc__=f"Parameters of the rule kind {kind.name!r}.", **typed, **untyped)


_PARAM_TYPES: dict[type, Any] = {
    int: Annotated[int, Field(ge=0)],
    str: Annotated[str, StringConstraints(min_length=1)],
    list: Annotated[list[str], Field(min_length=1)],
    bool: bool,
}


def _rule_model(kind: RuleKind) -> type[BaseModel]:
    params = _params_model(kind)
    needed = bool(kind.params)
    return create_model(
        f"{_camel(kind.name)}Rule", __base__=Strict, __doc__=f"{kind.label} (a rule).",
        kind=(Literal[kind.name], ...),  # type: ignore[valid-type]
        params=(params, ...) if needed else (params, Field(default_factory=params)),
        message=(Annotated[str, StringConstraints(min_length=1, max_length=500)] | None, None))


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


#: One model per registered kind; the rule's ``kind`` picks which checks its ``params``.
RULE_MODELS = {name: _rule_model(kind) for name, kind in RULE_KINDS.items()}
Rule = Annotated[Union[tuple(RULE_MODELS.values())], Field(discriminator="kind")]  # noqa: UP007


# ------------------------------------------------------------------------- one type

def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _count_or_setting(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and KEY_PATTERN.match(value):
        return value
    raise ValueError("must be a whole number of at least 0 or the key of a setting")


def _number_or_switch(value: Any) -> int | bool:
    if isinstance(value, int):  # bool is an int too: a switch's default
        return value
    raise ValueError("must be a whole number or true or false")


#: A transition leaves one state, several, or any (``"*"``: every state but terminal ones).
Source = Name | Literal[WILDCARD]  # type: ignore[valid-type]
Sources = Annotated[list[Source], Field(min_length=1), BeforeValidator(
    _one_or_many, json_schema_input_type=Source | list[Source])]


Hours = Annotated[float, Field(gt=0, le=87_600)]
FieldName = Annotated[str, StringConstraints(pattern=FIELD_NAME.pattern)]
DataKey = Annotated[str, StringConstraints(pattern=r"^data\.[a-z][a-z0-9_]{0,62}$")]
GoalValue = str | int | float | bool


class TimeoutDoc(Strict):
    """After ``after_hours`` in the state, or at the time in the date field ``at_field``
    (exactly one of them), take the transition ``action`` (CONTRACT §8)."""

    after_hours: Hours | None = None
    at_field: FieldName | None = None
    action: Name

    @model_validator(mode="after")
    def _one_clock(self) -> TimeoutDoc:
        if (self.after_hours is None) == (self.at_field is None):
            raise ValueError("needs exactly one of after_hours and at_field")
        return self


class StateDoc(Strict):
    label: Text | None = None
    category: Literal[CATEGORIES] = "active"  # type: ignore[valid-type]
    #: Nothing leaves a terminal state (CAPITALS in CONTRACT §5).
    terminal: bool = False
    timeout: TimeoutDoc | None = None


class SlaGoalDoc(Strict):
    """``hours`` when every ``data.<field>`` has the value given (a list: any of them); no
    ``when``: always (the last goal). The first matching goal wins."""

    when: Annotated[dict[DataKey, GoalValue | Annotated[list[GoalValue], Field(min_length=1)]],
                    Field(json_schema_extra=CLOSED_KEYS)] = {}
    hours: Hours


class SlaDoc(Strict):
    """An SLA clock: runs from entering a ``start`` state while in neither a ``pause`` nor a
    ``stop`` state (CONTRACT §8)."""

    name: Name
    label: Text | None = None
    start: States
    pause: list[Name] = []
    stop: States
    goals: Annotated[list[SlaGoalDoc], Field(min_length=1)]


class ApprovalDoc(Strict):
    """Second-person approval (CONTRACT §9): asking records a request that one of these
    roles decides, never the person who asked."""

    roles: Annotated[list[Role], Field(min_length=1)]


class TransitionDoc(Strict):
    name: Name
    from_: Sources = Field(alias="from")
    to: Name
    #: Who may take it; none: every role that may operate (CONTRACT §4).
    roles: list[Role] = []
    comment_required: bool = False
    rules: list[Rule] = []
    #: Taking it needs a second person's approval.
    approval: ApprovalDoc | None = None


class CascadeDoc(Strict):
    """Entering ``on_enter`` moves the relatives down ``path`` that are in ``from`` to ``to``."""

    on_enter: Name
    path: Annotated[list[TypeName], Field(min_length=1)]
    from_: States = Field(alias="from")
    to: Name


class ThresholdDoc(Strict):
    #: At most this many counted children, or at most the value of this setting.
    at_most: Annotated[int | str, PlainValidator(
        _count_or_setting, json_schema_input_type=Annotated[int, Field(ge=0)] | SettingKey)]
    to: Name


class DerivationDoc(Strict):
    """A status derived from the children of ``child_type`` (first matching threshold)."""

    child_type: TypeName
    count_states: States
    trigger_states: States
    applies_in: States
    thresholds: Annotated[list[ThresholdDoc], Field(min_length=1)]


class SweepDoc(Strict):
    """What the grace-period sweep does to quiet entities of the type."""

    from_: States = Field(alias="from")
    inactive: Name
    reactivate_to: Name | None = None
    #: The settings it reads; left out: ``<type>_grace_period``, ``<type>_warning_period``
    #: and ``<type>_auto_inactivate``.
    grace_setting: SettingKey | None = None
    warning_setting: SettingKey | None = None
    auto_setting: SettingKey | None = None


class SettingDoc(Strict):
    """A setting the type needs (a grace period, a threshold, a limit), in force with it."""

    type: Literal[tuple(SPEC_TYPES)]  # type: ignore[valid-type]
    default: Annotated[int | bool, PlainValidator(_number_or_switch,
                                                  json_schema_input_type=int | bool)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    #: Integer settings: both bounds (nothing unbounded is stored).
    min: int | None = None
    max: int | None = None
    unit: Annotated[str, StringConstraints(max_length=50)] | None = None
    group: Text | None = None
    label: Text | None = None
    #: Another integer setting this one must stay below (a warning before its grace period).
    below: SettingKey | None = None


class TypeDoc(Strict):
    """One entity type's workflow: ``types.<type>`` of a file, what the editor saves."""

    label: Text | None = None
    initial: Name
    parent_type: TypeName | None = None
    states: Annotated[dict[Name, StateDoc], Field(min_length=1, json_schema_extra=CLOSED_KEYS)]
    transitions: list[TransitionDoc] = []
    cascades: list[CascadeDoc] = []
    derived: list[DerivationDoc] = []
    sweep: SweepDoc | None = None
    #: The type's declared data fields, in order (CONTRACT §7).
    fields: Annotated[dict[Annotated[str, StringConstraints(pattern=FIELD_NAME.pattern)],
                           FieldSpec], Field(json_schema_extra=CLOSED_KEYS)] = {}
    settings: Annotated[dict[SettingKey, SettingDoc], Field(json_schema_extra=CLOSED_KEYS)] = {}
    #: The setting capping how many entities of the type one bulk request may change.
    bulk_limit: SettingKey | None = None
    #: The type's SLA clocks (CONTRACT §8).
    slas: list[SlaDoc] = []


class WorkflowFile(Strict):
    """A workflow file: a pack (``webapp/packs/*.json``) or what ``workflows export`` writes."""

    schema_uri: str | None = Field(None, alias="$schema",
                                   description="This schema's address, for editors.")
    pack: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    #: What people read for the pack ("Real estate"); the pack's name in words when absent.
    label: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    types: Annotated[dict[TypeName, TypeDoc], Field(min_length=1, json_schema_extra=CLOSED_KEYS)]


# --------------------------------------------------------------------------- checks

class DocumentInvalid(InvalidInput):
    """A document that does not fit the schema. ``fields`` maps each path to a sentence;
    ``problems`` says each as a line a person reads. Nothing was saved."""

    def __init__(self, subject: str, fields: dict[str, str]) -> None:
        self.problems = [problem_line(path, sentence) for path, sentence in fields.items()]
        more = len(self.problems) - SHOWN
        shown = " ".join(self.problems[:SHOWN]) + (f" …and {more} more." if more > 0 else "")
        super().__init__(f"{subject} does not fit the workflow file format: {shown}", fields)


def check_file(doc: Any) -> WorkflowFile:
    """A whole workflow file, checked; raises DocumentInvalid naming every bad key."""
    try:
        return WorkflowFile.model_validate(doc)
    except ValidationError as err:
        raise DocumentInvalid("The file", paths(err)) from None


def check_type(entity_type: str, doc: Any) -> TypeDoc:
    """One type's document, checked; paths are those of a file (``types.<type>.…``), so the
    editor, an import and the API name a key the same way."""
    try:
        return TypeDoc.model_validate(doc)
    except ValidationError as err:
        raise DocumentInvalid(f"The workflow for {entity_type!r}",
                              paths(err, ("types", entity_type))) from None


@cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow file, from the models above."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **WorkflowFile.model_json_schema(), "title": "Statekeeper workflow file"}
