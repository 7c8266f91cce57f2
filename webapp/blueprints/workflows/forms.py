"""The editor's forms. A rule's form is built from its kind's typed parameters
(core.rules.RULE_KINDS): whole numbers, text, and lists typed as comma-separated text."""
from __future__ import annotations

import json
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from webapp.blueprints.workflows.words import OPERATORS, noun
from webapp.core.base.errors import InvalidInput
from webapp.core.settings.store import REGISTRY as SETTINGS
from webapp.core.workflows.definition import RuleSpec, Workflow
from webapp.core.workflows.rules import RULE_KINDS

#: Parameters a kind reads beyond its typed ones (field_condition compares with any value).
EXTRA_PARAMS = {"field_condition": ("value",)}
#: (kind, parameter) -> (label, hint) for people; the type comes from the kind itself.
WORDING = {
    ("min_age", "days"): ("Minimum age in days", "Counted from when the entity was created."),
    ("no_related_in_states", "path"): (
        "Related entities",
        "Types from this one downwards, comma-separated, e.g. community, property."),
    ("no_related_in_states", "states"): (
        "Blocking states", "Comma-separated states of the last type, e.g. under_contract."),
    ("required_fields", "fields"): (
        "Data fields that must be filled in", "Comma-separated, e.g. vendor, line_items."),
    ("field_condition", "field"): ("Data field", "The key in the entity's data, e.g. priority."),
    ("field_condition", "op"): ("Comparison", None),
    ("field_condition", "value"): (
        "Value", "A number, true/false or text; for “is one of” a comma-separated list."),
    ("cutoff_day", "setting"): ("Day of the month from setting", "Refused after that day."),
}


def choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """An integer field whose complaint says what to type."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a whole number, e.g. 30.") from exc


class ListField(StringField):
    """A list typed as comma-separated text: ``vendor, line_items``."""

    def _value(self) -> str:
        return ", ".join(map(str, self.data)) if isinstance(self.data, list) else (self.data or "")

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = valuelist[0] if valuelist else ""
        self.data = [part.strip() for part in str(text).split(",") if part.strip()]


class ValueField(StringField):
    """Any JSON value; plain text stays text (``HIGH``), ``10`` is a number."""

    def _value(self) -> str:
        if self.data is None:
            return ""
        if isinstance(self.data, list):
            return ", ".join(map(str, self.data))
        return self.data if isinstance(self.data, str) else json.dumps(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        try:
            self.data = json.loads(text) if text else None
        except ValueError:
            self.data = text


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionedForm(FlaskForm):
    #: The workflow version the form was made from: saving over a newer one is refused.
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class RuleForm(VersionedForm):
    message = StringField("Refusal message (optional)", validators=[Optional(), Length(max=300)],
                          description="Shown instead of the rule's own sentence when it refuses.")

    kind_name: str = ""

    def param_fields(self) -> list[Field]:
        return [f for f in self if f.name.startswith("p_")]

    def field_for(self, param: str) -> Field:
        return getattr(self, f"p_{param}", None) or self.message


def rule_form(kind: str | None, spec: RuleSpec | None = None, version: int | None = None,
              formdata: Any = None) -> RuleForm:
    """The form for a rule of ``kind``, filled from ``spec`` (editing) or ``formdata``."""
    if kind not in RULE_KINDS:
        raise InvalidInput(f"There is no rule kind {kind!r}.",
                           {"kind": f"Choose one of: {', '.join(RULE_KINDS)}."})
    cls = _rule_form_class(kind)
    data = {"version": version}
    if spec is not None:
        data |= {f"p_{k}": v for k, v in spec.params.items()} | {"message": spec.message}
    return cls(formdata=formdata, data=data)


def _rule_form_class(kind: str) -> type[RuleForm]:
    params = dict(RULE_KINDS[kind].params) | {p: object for p in EXTRA_PARAMS.get(kind, ())}
    attrs: dict[str, Any] = {f"p_{name}": _param_field(kind, name, ptype)
                             for name, ptype in params.items()}
    return type(f"RuleForm_{kind}", (RuleForm,), attrs | {"kind_name": kind})


def _param_field(kind: str, name: str, ptype: type) -> Field:
    label, hint = WORDING.get((kind, name), (name.replace("_", " ").capitalize(), None))
    if (kind, name) == ("field_condition", "op"):
        return SelectField(label, choices=choices(OPERATORS.items()), description=hint)
    if (kind, name) == ("cutoff_day", "setting"):
        days = [(k, f"{k} — {s.description}") for k, s in SETTINGS.items() if s.type is int]
        return SelectField(label, choices=choices(days), description=hint)
    if ptype is int:
        return WholeNumberField(label, [InputRequired("Enter a whole number."),
                                    NumberRange(min=0, message="Must not be negative.")],
                            description=hint)
    if ptype is list:
        return ListField(label, [DataRequired("Name at least one, separated by commas.")],
                         description=hint)
    if ptype is str:
        return StringField(label, [DataRequired("This is required."), Length(max=100)],
                           description=hint)
    return ValueField(label, [Optional()], description=hint)


def rule_spec(form: RuleForm) -> RuleSpec:
    """The rule a validated form describes."""
    params = {f.name[2:]: f.data for f in form.param_fields()}
    if params.get("op") in ("in", "not_in") and not isinstance(params.get("value"), list):
        value = params.get("value")
        params["value"] = [] if value is None else [v.strip() for v in str(value).split(",")]
    if "value" in params and params["value"] is None:
        del params["value"]
    return RuleSpec(form.kind_name, params, (form.message.data or "").strip() or None)


class TransitionForm(VersionedForm):
    roles = MultiCheckboxField("Only these roles may take it", description=(
        "Tick none to let everyone who may change statuses take it (admins and support)."))
    comment_required = BooleanField("A comment is required to take it")


def transition_form(roles: list[str], move: Any = None, version: int | None = None,
                    formdata: Any = None) -> TransitionForm:
    data = {"version": version}
    if move is not None:
        data |= {"roles": list(move.roles), "comment_required": move.comment_required}
    form = TransitionForm(formdata=formdata, data=data)
    form.roles.choices = choices((r, r.replace("_", " ")) for r in roles)
    return form


class CascadeForm(VersionedForm):
    on_enter = SelectField("When it enters")
    path = SelectField("Its related entities")
    from_states = ListField("That are in", [DataRequired("Name at least one state.")],
                            description="Comma-separated states of those entities.")
    to = StringField("Move to", [DataRequired("Name the state they move to."), Length(max=50)])


def cascade_form(wf: Workflow, paths: list[tuple[str, ...]], version: int | None = None,
                 formdata: Any = None) -> CascadeForm:
    form = CascadeForm(formdata=formdata, data={"version": version})
    form.on_enter.choices = choices((s, s) for s in wf.states)
    form.path.choices = choices((",".join(p), path_words(p)) for p in paths)
    return form


def path_words(path: tuple[str, ...]) -> str:
    """``its properties (through communities)``."""
    via = f" (through {', '.join(noun(t) for t in path[:-1])})" if len(path) > 1 else ""
    return f"{noun(path[-1])}{via}"


class ImportForm(FlaskForm):
    file = FileField("Workflow file (.json)", validators=[FileRequired("Choose a file to import.")],
                     description="As downloaded with Export, or written by "
                                 "flask --app wsgi workflows export TYPE.")
