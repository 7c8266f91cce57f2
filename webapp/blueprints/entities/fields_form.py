"""Forms built from a type's declared fields (CONTRACT §7), driven only by the specs.

A type's ``fields`` become a WTForms form whose inputs post plain strings under ``data-<name>``:
a location posts ``data-site-lat`` and ``data-site-lon``, a list's cells
``data-line_items-0-quantity``. The ``data-`` prefix keeps a declared field called ``name`` or
``status`` apart from the entity's own inputs. ``DataForm.submit`` turns what was posted into
the data dict, names references by their entities (``Maple Ridge (#12)`` or just a name), and
hands it to the core's validation with ``from_text=True``; each message (``data.price``,
``data.line_items[2].quantity``) comes back beside the input it is about. No type has a form of
its own: what differs between types is only what their specs say.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    widgets,
)

from webapp.blueprints.entities.names import Names, labelled
from webapp.core.base.errors import InvalidInput
from webapp.core.fields.spec import FieldSpec

#: What a person reads about a place that is not one (the core's words are for JSON callers).
PLACE_RULE = "must be a place: a latitude from -90 to 90 and a longitude from -180 to 180."
#: Fields whose input suggests values from the server as one types.
TYPEAHEAD = frozenset({"reference", "user"})
#: A core message's key: data.price, data.site.lat, data.line_items[2], data.line_items[2].qty
_ERROR_KEY = re.compile(r"^data\.(?P<name>[a-z][a-z0-9_]*)(?:\[(?P<row>\d+)\])?"
                        r"(?:\.(?P<item>[a-z][a-z0-9_]*))?$")
WIDGETS: dict[str, Callable[[FieldSpec], widgets.Input]] = {
    "integer": lambda s: widgets.NumberInput(step=1, min=_bound(s.min), max=_bound(s.max)),
    # step "any": a price of 12.50 or a reading of 1234.567 is as valid as a whole number.
    "decimal": lambda s: widgets.NumberInput(step="any", min=_bound(s.min), max=_bound(s.max)),
    "date": lambda s: widgets.DateInput(),
    "datetime": lambda s: widgets.DateTimeLocalInput(),
    "email": lambda s: widgets.EmailInput(),
    "url": lambda s: widgets.URLInput(),
    "phone": lambda s: widgets.TelInput(),
}


class LocationForm(Form):
    """A location's two numbers, posted as ``<field>-lat`` and ``<field>-lon``."""

    lat = StringField("Latitude", widget=widgets.NumberInput(step="any", min=-90, max=90))
    lon = StringField("Longitude", widget=widgets.NumberInput(step="any", min=-180, max=180))


def form_class(specs: Mapping[str, FieldSpec]) -> type[Form]:
    """A WTForms form with one input per declared field, in the declared order."""
    return type("DataFields", (Form,), {name: _unbound(name, spec) for name, spec in specs.items()})


def _unbound(name: str, spec: FieldSpec) -> Any:
    title, help_text = spec.title(name), spec.help or ""
    if spec.type == "list":
        rows = FormField(form_class(spec.item_fields or {}))
        # One row to start from; a blank row is left out when the form is saved.
        return FieldList(rows, title, description=help_text, min_entries=1)
    if spec.type == "location":
        return FormField(LocationForm, title, description=help_text)
    if spec.type == "boolean":
        return BooleanField(title, description=help_text)
    if spec.type == "choice":
        return SelectField(title, description=help_text, validate_choice=False,
                           choices=[SelectChoice("", "—"),
                                    *(SelectChoice(c) for c in spec.choices or ())])
    attributes = _attributes(spec)
    if spec.type == "textarea":
        return TextAreaField(title, description=help_text, render_kw={"rows": 3, **attributes})
    return StringField(title, description=help_text, widget=_widget(spec), render_kw=attributes)


def _widget(spec: FieldSpec) -> widgets.Input:
    if spec.sensitive:  # shown, since only roles that may see it get this form; not shouted
        return widgets.PasswordInput(hide_value=False)
    make = WIDGETS.get(spec.type)
    return make(spec) if make else widgets.TextInput()


def _attributes(spec: FieldSpec) -> dict[str, Any]:
    attributes: dict[str, Any] = {"required": spec.required}
    if spec.max_length:
        attributes["maxlength"] = spec.max_length
    if spec.sensitive or spec.type in TYPEAHEAD:
        attributes["autocomplete"] = "off"
    return attributes


def _bound(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class DataForm:
    """The inputs of a type's fields, with what to show in them and the messages about them.

    Messages are kept by input id (WTForms' own ``errors`` are read-only on a location's or a
    list row's subform), so every input, part and row is asked the same way: ``errors(f)``.
    """

    def __init__(self, specs: Mapping[str, FieldSpec], form: Form) -> None:
        self.specs = dict(specs)
        self.form = form
        #: Messages that belong to no input (an undeclared key the stored data still holds).
        self.general: list[str] = []
        self._errors: dict[str, list[str]] = {}
        #: For each list field, the form row each item of the submitted list came from.
        self._rows: dict[str, list[int]] = {}

    def __iter__(self) -> Iterator[tuple[str, FieldSpec, Field]]:
        for name, spec in self.specs.items():
            yield name, spec, self.form[name]

    def errors(self, field: Field) -> list[str]:
        return self._errors.get(field.id, [])

    def messages(self) -> list[tuple[str | None, str]]:
        """Every message with its input's id (None: about no input), in the form's order."""
        ids = [i for _, _, field in self for i in _ids(field)]
        return [(None, m) for m in self.general] + [
            (i, m) for i in ids for m in self._errors.get(i, [])]

    def row_template(self, name: str) -> Form:
        """A list's blank row with ``__index__`` for its number (script copies it to add rows)."""
        return form_class(self.specs[name].item_fields or {})(prefix=f"data-{name}-__index__-")

    # -- the round trips of a page without script: add or remove a list's row --------------
    def change_rows(self, formdata: Mapping[str, str]) -> bool:
        """Add or remove the row the pressed button asked for; True when one was asked."""
        add, remove = formdata.get("add_row", ""), formdata.get("remove_row", "")
        lists = {f"data-{name}": self.form[name] for name, spec in self.specs.items()
                 if spec.type == "list"}
        if add in lists:
            lists[add].append_entry()
        elif remove.rpartition("-")[0] in lists:
            rows = lists[remove.rpartition("-")[0]]
            rows.entries = [e for e in rows.entries if e.name != remove]
        return bool(add or remove)

    # -- what was posted, as data ---------------------------------------------------------
    def submit(self, names: Names, validate: Callable[[dict[str, Any]], dict[str, Any]],
               previous: Mapping[str, Any]) -> dict[str, Any] | None:
        """The posted values as validated, normalised data (every declared field: None where
        left empty), or None after putting every message beside its input."""
        unresolved: dict[str, str] = {}
        posted = self._posted(previous, names, unresolved)
        try:
            clean = validate({k: v for k, v in posted.items() if v is not None})
        except InvalidInput as err:
            # A name that named nothing keeps its own message, not "is required".
            self.attach({**(err.fields or {"data": err.message}), **unresolved})
            return None
        if unresolved:
            self.attach(unresolved)
            return None
        return {name: clean.get(name) for name in self.specs}

    def _posted(self, previous: Mapping[str, Any], names: Names,
                unresolved: dict[str, str]) -> dict[str, Any]:
        data = {}
        for name, spec, field in self:
            if spec.type == "list":
                data[name] = self._list(name, spec, field, names, unresolved)
            else:
                data[name] = _value(spec, field, previous.get(name), names, f"data.{name}",
                                    unresolved)
        return data

    def _list(self, name: str, spec: FieldSpec, field: FieldList, names: Names,
              unresolved: dict[str, str]) -> list[dict[str, Any]] | None:
        """The rows with anything in them, in order (a blank row is no item)."""
        items, rows = [], []
        for row, entry in enumerate(field.entries):
            key = f"data.{name}[{len(items)}]"
            item = {n: _value(s, entry.form[n], None, names, f"{key}.{n}", unresolved)
                    for n, s in (spec.item_fields or {}).items()}
            if any(v not in (None, False) for v in item.values()):
                items.append({k: v for k, v in item.items() if v is not None})
                rows.append(row)
        self._rows[name] = rows
        return items or None

    # -- messages beside their inputs -----------------------------------------------------
    def attach(self, errors: Mapping[str, str]) -> None:
        """Put the core's messages (``data.<name>``, ``data.<list>[i].<item>``) by their inputs."""
        for key, message in errors.items():
            target = self._target(key)
            if target is None:
                self.general.append(message)
                continue
            name = _ERROR_KEY.match(key)["name"]  # type: ignore[index]
            spec = self.specs[name]
            if spec.type == "location" and "{" in message:
                # The core words a bad place for JSON callers; a person filled in two boxes.
                message = f"{spec.title(name)} {PLACE_RULE}"
            self._errors.setdefault(target.id, []).append(message)

    def _target(self, key: str) -> Field | None:
        found = _ERROR_KEY.match(key)
        if not found or found["name"] not in self.specs:
            return None
        field, spec = self.form[found["name"]], self.specs[found["name"]]
        if spec.type == "location" and found["item"] in ("lat", "lon"):
            return field.form[found["item"]]
        if spec.type != "list" or found["row"] is None:
            return field
        rows = self._rows.get(found["name"], [])
        row = int(found["row"])
        entry = field.entries[rows[row]] if row < len(rows) else None
        item = found["item"]
        if entry is None or item is None or item not in entry.form._fields:
            return field
        return entry.form[item]


def _ids(field: Field) -> Iterator[str]:
    """The ids of an input and of its parts (a location's halves, a list's rows' cells)."""
    yield field.id
    if isinstance(field, FieldList):
        for entry in field.entries:
            yield from _ids(entry)
    elif isinstance(field, FormField):
        for part in field.form:
            yield from _ids(part)


def _value(spec: FieldSpec, field: Field, before: Any, names: Names, key: str,
           errors: dict[str, str]) -> Any:
    """One input's posted text as the validation reads it (None: left empty)."""
    if spec.type == "boolean":
        # An unticked box says "no" only where there was something to say no to: it leaves a
        # flag that was never set unset, so saving an untouched form changes nothing.
        return True if field.data else (False if spec.required or before is not None else None)
    if spec.type == "location":
        lat, lon = (_text(field.form[part].data) for part in ("lat", "lon"))
        return None if lat is None and lon is None else {"lat": lat, "lon": lon}
    text = _text(field.data)
    if text is not None and spec.type == "reference":
        try:
            return names.entity_id(spec.ref_type or "", text)
        except LookupError as err:
            errors[key] = str(err)
            return None
    return text


def _text(value: Any) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else value
    return text if text not in ("", None) else None


# -- stored data as the text inputs show it ---------------------------------------------------
def build(specs: Mapping[str, FieldSpec], formdata: MultiDict[str, str] | None = None,
          values: Mapping[str, Any] | None = None, titles: Mapping[int, str] | None = None
          ) -> DataForm:
    """The form, from what was posted, or else showing ``values`` (stored data or defaults)."""
    cls = form_class(specs)
    if formdata is not None:
        return DataForm(specs, _keep_old_choices(specs, cls(formdata, prefix="data")))
    shown = {n: as_text(s, values.get(n), titles or {}) for n, s in specs.items()
             if values and values.get(n) is not None}
    return DataForm(specs, _keep_old_choices(specs, cls(prefix="data", data=shown)))


def _keep_old_choices(specs: Mapping[str, FieldSpec], form: Form) -> Form:
    """A stored choice the field no longer offers stays selected, named as such: a select
    without it would show "—", and a save would quietly drop the value."""
    for name, spec in specs.items():
        field = form[name]
        if spec.type == "choice" and field.data and field.data not in (spec.choices or ()):
            old = SelectChoice(field.data, f"{field.data} (no longer a choice)")
            field.choices = [*field.choices, old]
    return form


def defaults(specs: Mapping[str, FieldSpec]) -> dict[str, Any]:
    return {name: spec.default for name, spec in specs.items() if spec.default is not None}


def as_text(spec: FieldSpec, value: Any, names: Mapping[int, str]) -> Any:
    """A stored value as its input shows it (a value that no longer fits is shown as it is)."""
    if spec.type == "boolean":
        return value is True
    if spec.type == "location" and isinstance(value, dict):
        return {part: plain_text(value.get(part)) for part in ("lat", "lon")}
    if spec.type == "list":
        items = value if isinstance(value, list) else []
        return [{n: as_text(s, item.get(n), names) for n, s in (spec.item_fields or {}).items()
                 if item.get(n) is not None} for item in items if isinstance(item, dict)]
    if spec.type == "reference" and isinstance(value, int) and not isinstance(value, bool):
        return labelled(value, names.get(value))
    if spec.type == "datetime" and isinstance(value, str):
        return _local_input(value)
    return plain_text(value)


def plain_text(value: Any) -> str:
    """A value as one line of text (a structure as JSON: only for values no field declares)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _local_input(text: str) -> str:
    """``2025-03-01T09:30:00Z`` as a datetime-local input takes it (UTC, no zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    shown = moment.replace(tzinfo=None).isoformat()
    return shown[:16] if shown.endswith(":00") and len(shown) == 19 else shown


def referenced_ids(specs: Mapping[str, FieldSpec], data: Mapping[str, Any]) -> set[int]:
    """Every entity id the data's reference fields (and its lists' items') hold."""
    found: set[int] = set()
    for name, spec in specs.items():
        value = data.get(name)
        if spec.type == "reference" and isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
        elif spec.type == "list" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found |= referenced_ids(spec.item_fields or {}, item)
    return found
