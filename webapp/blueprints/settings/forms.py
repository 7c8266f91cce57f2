"""A WTForms form built from the settings in force (generic and declared by workflows): one
typed field per setting."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, IntegerField
from wtforms.validators import InputRequired, NumberRange

from webapp.core.base.words import label
from webapp.core.settings.store import Setting


def _field(s: Setting) -> Field:
    title = label(s.key).capitalize()
    if s.type is bool:
        return BooleanField(title, description=s.description)
    return IntegerField(title, description=s.description, validators=[
        InputRequired(message="Enter a whole number."),
        NumberRange(min=s.minimum, max=s.maximum,
                    message=f"Use {s.minimum:g} to {s.maximum:g}{' ' + s.unit if s.unit else ''}.")])


def settings_form(registry: dict[str, Setting], values: dict[str, Any],
                  formdata: Any = None) -> FlaskForm:
    """A form whose fields are the settings in force, prefilled with ``values``."""

    class SettingsForm(FlaskForm):
        pass

    for key, setting in registry.items():
        setattr(SettingsForm, key, _field(setting))
    return SettingsForm(formdata=formdata, data=values)


def groups(registry: dict[str, Setting]) -> dict[str, list[Setting]]:
    out: dict[str, list[Setting]] = {}
    for s in registry.values():
        out.setdefault(s.group, []).append(s)
    return out


def submitted_values(form: FlaskForm, registry: dict[str, Setting]) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in registry}
