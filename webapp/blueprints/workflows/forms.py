"""The editor's forms. A rule's form is built from its kind's typed parameters
(core.rules.RULE_KINDS): whole numbers, text, and lists typed as comma-separated text. A
parameter that names data fields offers the type's declared fields of the kinds it accepts
(a select, or checkboxes for a list); a type without declared fields takes the names as text."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from webapp.blueprints.workflows.words import OPERATORS
from webapp.core.base.errors import InvalidInput
from webapp.core.base.words import label, pluralize
from webapp.core.fields.spec import FieldSpec
from webapp.core.settings.store import REGISTRY as SETTINGS
from webapp.core.workflows.definition import RuleSpec, Workflow
from webapp.core.workflows.rules import RULE_KINDS
from webapp.models import ROLES

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
    ("geofence", "field"): ("Location to check", "The data field with the place, e.g. check_in_location."),
    ("geofence", "center_field"): (
        "Must be near", "The data field with the place it must be near, e.g. site_location."),
    ("geofence", "meters_setting"): ("Distance in meters from setting",
                                     "Refused when the location is farther than this."),
}
#: Hints for parameters offered as the type's declared fields (the text hints say how to type).
FIELD_HINTS = {
    ("required_fields", "fields"): "Tick every field that must be filled in.",
    ("geofence", "center_field"): "The place the location must be near.",
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
              formdata: Any = None, fields: Mapping[str, FieldSpec] | None = None) -> RuleForm:
    """The form for a rule of ``kind``, filled from ``spec`` (the saved rule being edited)
    or ``formdata``; ``fields`` are the type's declared fields, offered by name where the rule
    names fields (plus any the saved rule names that the type does not declare)."""
    if kind not in RULE_KINDS:
        raise InvalidInput(f"There is no rule kind {kind!r}.",
                           {"kind": f"Choose one of: {', '.join(RULE_KINDS)}."})
    cls = _rule_form_class(kind, fields or {})
    data = {"version": version}
    if spec is not None:
        data |= {f"p_{k}": v for k, v in spec.params.items()} | {"message": spec.message}
    form = cls(formdata=formdata, data=data)
    if spec is not None:
        _offer_current(form, spec)
    return form


def _rule_form_class(kind: str, fields: Mapping[str, FieldSpec]) -> type[RuleForm]:
    params = dict(RULE_KINDS[kind].params) | {p: object for p in EXTRA_PARAMS.get(kind, ())}
    attrs: dict[str, Any] = {f"p_{name}": _param_field(kind, name, ptype, fields)
                             for name, ptype in params.items()}
    return type(f"RuleForm_{kind}", (RuleForm,), attrs | {"kind_name": kind})


def _param_field(kind: str, name: str, ptype: type, fields: Mapping[str, FieldSpec]) -> Field:
    title, hint = WORDING.get((kind, name), (label(name).capitalize(), None))
    accepted = RULE_KINDS[kind].field_params.get(name)
    if accepted is not None and fields:
        offered = choices((n, f"{spec.title(n)} ({n})") for n, spec in fields.items()
                          if spec.type in accepted)
        hint = FIELD_HINTS.get((kind, name))
        if ptype is list:
            return MultiCheckboxField(title, [DataRequired("Choose at least one field.")],
                                      choices=offered, description=hint)
        return SelectField(title, [DataRequired("Choose a field.")], choices=offered,
                           description=hint or _none_offered(offered, accepted))
    if (kind, name) == ("geofence", "meters_setting"):
        return SelectField(title, choices=choices(_distance_settings()), description=hint)
    if (kind, name) == ("field_condition", "op"):
        return SelectField(title, choices=choices(OPERATORS.items()), description=hint)
    if (kind, name) == ("cutoff_day", "setting"):
        days = [(k, f"{k} — {s.description}") for k, s in SETTINGS.items() if s.type is int]
        return SelectField(title, choices=choices(days), description=hint)
    if ptype is int:
        return WholeNumberField(title, [InputRequired("Enter a whole number."),
                                    NumberRange(min=0, message="Must not be negative.")],
                            description=hint)
    if ptype is list:
        return ListField(title, [DataRequired("Name at least one, separated by commas.")],
                         description=hint)
    if ptype is str:
        return StringField(title, [DataRequired("This is required."), Length(max=100)],
                           description=hint)
    return ValueField(title, [Optional()], description=hint)


def _none_offered(offered: list[SelectChoice], accepted: frozenset[str]) -> str | None:
    if offered:
        return None
    return f"This type declares no {' or '.join(sorted(accepted))} fields."


def _distance_settings() -> list[tuple[str, str]]:
    """Whole-number settings in meters (every whole-number setting when none says meters)."""
    whole = [(k, s) for k, s in SETTINGS.items() if s.type is int]
    meters = [(k, s) for k, s in whole if s.unit == "meters"] or whole
    return [(k, f"{k} — {s.description}") for k, s in meters]


def _offer_current(form: RuleForm, spec: RuleSpec) -> None:
    """A saved rule naming a field the type does not declare keeps it on offer, marked, so
    the form shows what is saved (and saving it again says why it is refused)."""
    naming = RULE_KINDS[form.kind_name].field_params
    for f in form.param_fields():
        if f.name[2:] not in naming or not isinstance(f, SelectField | SelectMultipleField):
            continue
        value = spec.params.get(f.name[2:])
        offered = {c.value for c in f.choices}
        missing = [v for v in (value if isinstance(value, list) else [value])
                   if isinstance(v, str) and v not in offered]
        f.choices = [*f.choices, *choices((v, f"{v} (not declared)") for v in missing)]


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
    approval_roles = MultiCheckboxField("Needs approval by", description=(
        "Taking it then asks one of these roles, never the person asking; nothing changes "
        "until they approve. Tick none: no approval."))


def transition_form(roles: list[str], move: Any = None, version: int | None = None,
                    formdata: Any = None) -> TransitionForm:
    data = {"version": version}
    if move is not None:
        data |= {"roles": list(move.roles), "comment_required": move.comment_required,
                 "approval_roles": list(move.approval_roles)}
    form = TransitionForm(formdata=formdata, data=data)
    form.roles.choices = choices((r, label(r)) for r in roles)
    form.approval_roles.choices = choices((r, label(r)) for r in ROLES)
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
    via = f" (through {', '.join(pluralize(t) for t in path[:-1])})" if len(path) > 1 else ""
    return f"{pluralize(path[-1])}{via}"


class ImportForm(FlaskForm):
    file = FileField("Workflow file (.json)",
                     description="As downloaded with Export, or written by "
                                 "flask --app wsgi workflows export TYPE.")
    #: The checked file sent back by "Import anyway", after the page showed which stored
    #: entities its new fields would refuse (then no file is chosen again).
    document = HiddenField()
    #: What the person was shown for that document (``views.impact_seal``): "Import anyway"
    #: imports only while the check still finds the same, else the page asks again.
    confirmed = HiddenField()

    def validate_file(self, field: FileField) -> None:
        if not field.data and not self.document.data:
            raise ValidationError("Choose a file to import.")

    def text(self) -> bytes:
        """The file's bytes: the upload, or the document confirmed with "Import anyway"."""
        return self.file.data.read() if self.file.data else self.document.data.encode()
