"""A WTForms form built from the settings registry: one typed field per setting."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, IntegerField
from wtforms.validators import InputRequired, NumberRange

from webapp.core.settings.store import REGISTRY, Setting


def _field(s: Setting) -> Field:
    label = s.key.replace("_", " ").capitalize()
    if s.type is bool:
        return BooleanField(label, description=s.description)
    return IntegerField(label, description=s.description, validators=[
        InputRequired(message="Enter a whole number."),
        NumberRange(min=s.minimum, max=s.maximum,
                    message=f"Use {s.minimum:g} to {s.maximum:g}{' ' + s.unit if s.unit else ''}.")])


def settings_form(values: dict[str, Any], formdata: Any = None) -> FlaskForm:
    """A form whose fields are the registry's settings, prefilled with ``values``."""

    class SettingsForm(FlaskForm):
        pass

    for key, setting in REGISTRY.items():
        setattr(SettingsForm, key, _field(setting))
    return SettingsForm(formdata=formdata, data=values)


def groups() -> dict[str, list[Setting]]:
    out: dict[str, list[Setting]] = {}
    for s in REGISTRY.values():
        out.setdefault(s.group, []).append(s)
    return out


def submitted_values(form: FlaskForm) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in REGISTRY}
