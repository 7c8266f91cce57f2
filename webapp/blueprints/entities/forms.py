"""Forms of the entity page (the CSRF token is checked for every POST in security.py)."""
from __future__ import annotations

import json
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from webapp.models.entity import NAME_MAX


def _json_object(_form: FlaskForm, field: TextAreaField) -> None:
    try:
        value = json.loads(field.data or "{}")
    except json.JSONDecodeError as exc:
        raise ValidationError(f"This is not valid JSON ({exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}).") from exc
    if not isinstance(value, dict):
        raise ValidationError('Give a JSON object, e.g. {"priority": "HIGH"}.')


def _name() -> StringField:
    return StringField("Name", validators=[DataRequired("Give the entity a name."),
                                           Length(max=NAME_MAX)])


class RenameForm(FlaskForm):
    """The entity's own inputs beside a type's declared fields (fields_form builds those)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    name = _name()


class EditForm(RenameForm):
    """Rename and change the data of a type without declared fields, as a JSON merge patch
    (RFC 7396)."""

    data_json = TextAreaField("Data (JSON merge patch)", validators=[_json_object],
                         render_kw={"rows": 8, "spellcheck": "false"})

    def patch(self) -> dict[str, Any]:
        return json.loads(self.data_json.data or "{}")


class NewEntityForm(FlaskForm):
    """A new entity's name, parent (typed by name) and first status; its declared fields
    come from fields_form, or for a type without any, data as a JSON object."""

    name = _name()
    parent = StringField("Parent", validators=[Length(max=NAME_MAX + 20)],
                         render_kw={"autocomplete": "off"})
    status = SelectField("Status", validate_choice=False)
    data_json = TextAreaField("Data (JSON, optional)", validators=[_json_object],
                              render_kw={"rows": 6, "spellcheck": "false"})

    def json_data(self) -> dict[str, Any]:
        return json.loads(self.data_json.data or "{}")


class RevertForm(FlaskForm):
    """Confirm a revert previewed before: a reason, and for admins the force switch."""

    change_id = IntegerField(widget=HiddenInput(), validators=[Optional()])
    at = HiddenField()
    reason = TextAreaField("Why revert?", validators=[
        DataRequired("Say why you revert; it goes into the history."), Length(max=2000)],
        render_kw={"rows": 2})
    force = BooleanField("Force it although the workflow forbids this move (admins only)")
