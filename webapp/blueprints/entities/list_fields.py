"""The entity list's declared-field parts (issue 15): the field columns (the type's ``listed``
fields, or the ones a person chose), their cells, and one filter input per ``filterable``
field, shaped by its kind: a range for numbers and dates, a multi-select for choices, yes/no
for booleans, "contains" for text, a typeahead for references and users.

Everything is read off the type's field specs; the filter parameters are CONTRACT §7's
(``data.price__gte``), parsed by core/lists/field_filters.py, so the page, the API and the bulk
hand-over accept the same filters.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import escape
from werkzeug.datastructures import MultiDict

from webapp.blueprints.entities import field_values
from webapp.blueprints.entities.names import labelled
from webapp.core.fields.spec import TEXTUAL, FieldSpec
from webapp.core.workflows.definition import Workflow

#: Most field columns a list shows at once.
COLUMNS_MAX = 12
_RANGE_INPUT = {"integer": "number", "decimal": "number", "date": "date",
                "datetime": "datetime-local"}


@dataclass(frozen=True)
class FieldColumn:
    name: str
    title: str
    spec: FieldSpec

    @property
    def key(self) -> str:
        return f"data.{self.name}"

    @property
    def sortable(self) -> bool:
        return self.spec.filterable

    @property
    def numeric(self) -> bool:
        return self.spec.is_number


def columns(wf: Workflow, chosen: Iterable[str] | None) -> list[FieldColumn]:
    """The field columns: those ``chosen`` that the type still declares (a removed field is
    dropped, not an error), else the type's listed fields."""
    names = [n for n in chosen if n in wf.fields] if chosen is not None else \
        [n for n, s in wf.fields.items() if s.listed]
    return [FieldColumn(n, wf.fields[n].title(n), wf.fields[n]) for n in names[:COLUMNS_MAX]
            if wf.fields[n].type != "list"]


def choosable(wf: Workflow) -> list[FieldColumn]:
    """Every field the column chooser offers (a list field's table does not fit a cell)."""
    return [FieldColumn(n, s.title(n), s) for n, s in wf.fields.items() if s.type != "list"]


def cells(wf: Workflow, shown: list[FieldColumn], rows: Iterable[Any], reveal: bool,
          address: Callable[[int], str]) -> list[str]:
    """Each row's field cells as markup, in the columns' order: values in words (sealed ones
    opened or masked for the role) and escaped, references as links to the named entity."""
    rows = list(rows)
    if not shown:
        return [""] * len(rows)
    # Only the shown fields' values: each is opened or masked alone (Keyring.view_for), and
    # walking every stored value of 50 rows for two or three columns cost ~1 ms a page.
    names = [c.name for c in shown]
    keyring = field_values.manager().keyring
    datas = [keyring.view_for(reveal, wf.fields, {n: data[n] for n in names if n in data})
             for data in (r.data or {} for r in rows)]
    refs = {d.get(c.name) for d in datas for c in shown if c.spec.type == "reference"}
    titles = field_values.names().names({i for i in refs if isinstance(i, int)
                                         and not isinstance(i, bool)})
    opens = [f'<td class="{"num" if c.numeric else ""}">' for c in shown]
    return ["".join([_cell(c, td, data.get(c.name), titles, address)
                     for c, td in zip(shown, opens, strict=True)]) for data in datas]


def _cell(column: FieldColumn, td: str, value: Any, titles: Mapping[int, str],
          address: Callable[[int], str]) -> str:
    if value is None or value == "":
        return f"{td}</td>"
    if column.spec.type == "reference" and isinstance(value, int) and not isinstance(value, bool):
        name = titles.get(value)
        if name:
            return f'{td}<a href="{escape(address(value))}">{escape(name)}</a></td>'
        return f"{td}#{value}</td>"
    return f"{td}{escape(field_values.text(column.spec, value))}</td>"


@dataclass
class FilterInput:
    """The inputs of one filterable field on the filter form."""

    name: str
    title: str
    spec: FieldSpec
    #: range, choice, boolean, text, reference or user
    kind: str
    #: The parameters the inputs send, with their current values.
    params: dict[str, str] = field(default_factory=dict)
    selected: set[str] = field(default_factory=set)

    @property
    def input_type(self) -> str:
        return _RANGE_INPUT.get(self.spec.type, "text")


def filter_inputs(wf: Workflow, params: Mapping[str, str]) -> list[FilterInput]:
    out = []
    for name, spec in wf.fields.items():
        if not spec.filterable:
            continue
        base = f"data.{name}"
        kind = _kind(spec)
        if kind == "range":
            keys = [f"{base}__gte", f"{base}__lte"]
        elif kind == "choice":
            keys = [f"{base}__in"]
        elif kind == "text":
            keys = [f"{base}__contains"]
        else:
            keys = [base]
        item = FilterInput(name, spec.title(name), spec, kind, {k: params.get(k, "") for k in keys})
        if kind == "choice":
            item.selected = {v for v in params.get(f"{base}__in", "").split(",") if v}
        out.append(item)
    return out


def _kind(spec: FieldSpec) -> str:
    if spec.type in _RANGE_INPUT:
        return "range"
    if spec.type == "choice":
        return "choice"
    if spec.type in TEXTUAL:
        return "text"
    return spec.type if spec.type in ("boolean", "reference", "user") else "text"


def field_params(args: MultiDict[str, str], wf: Workflow) -> dict[str, str]:
    """The request's ``data.*`` parameters as one value each: a multi-select's several values
    joined by commas (``__in``), a reference typed as ``Maple Ridge (#12)`` read as its id, a
    date and time from the browser's input taken as UTC."""
    out = {}
    for key in args:
        if not key.startswith("data."):
            continue
        values = [v.strip() for v in args.getlist(key) if v and v.strip()]
        if not values:
            continue
        value = ",".join(values)
        spec = wf.fields.get(key.removeprefix("data.").partition("__")[0])
        if spec is not None and spec.type == "reference":
            value = _reference_id(spec, value)
        out[key] = value
    return out


def _reference_id(spec: FieldSpec, text: str) -> str:
    try:
        return str(field_values.names().entity_id(spec.ref_type or "", text))
    except LookupError:
        return text  # the filter then says the value must be an id


def parent_text(parent_id: str, parent_name: str | None) -> str:
    """What the parent box shows for a parent id: ``Maple Ridge (#12)``."""
    return labelled(int(parent_id), parent_name) if parent_id.isdigit() else parent_id
