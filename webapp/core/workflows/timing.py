"""The time a workflow declares (CONTRACT §8): SLA clocks per type and timeouts per state.

Parsed from the ``slas`` of a type and the ``timeout`` of a state (the schema checked their
shape first); ``problems`` reports what the schema cannot see (states and fields they name).
The clocks themselves, the timers and the reports live in ``core/timing`` and
``core/reports``; this module only says what a workflow asks for.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webapp.core.base.words import label

if TYPE_CHECKING:
    from webapp.core.workflows.definition import Workflow

#: Share of a goal used at which a clock is "at risk" (CONTRACT §8: ≥ 80 %).
AT_RISK = 0.8


@dataclass(frozen=True)
class SlaGoal:
    """``hours`` apply when every ``data.<field>`` in ``when`` has that value (a tuple: any
    of them); an empty ``when`` always applies (the last goal, by convention)."""

    when: tuple[tuple[str, Any], ...]
    hours: float

    def matches(self, data: Mapping[str, Any]) -> bool:
        for key, wanted in self.when:
            value = data.get(key.removeprefix("data."))
            if isinstance(wanted, tuple) and value not in wanted or (
                    not isinstance(wanted, tuple) and value != wanted):
                return False
        return True

    def reason(self) -> str:
        """Why the goal applies, in words: ``priority is CRITICAL`` or ``otherwise``."""
        if not self.when:
            return "otherwise"
        return " and ".join(
            f"{key.removeprefix('data.')} is "
            f"{' or '.join(map(str, wanted)) if isinstance(wanted, tuple) else wanted}"
            for key, wanted in self.when)


@dataclass(frozen=True)
class Sla:
    """A clock that starts on entering a ``start`` state, pauses in ``pause`` states and
    stops in ``stop`` states; its goal is the first of ``goals`` matching the entity's data."""

    name: str
    label: str
    start: tuple[str, ...]
    pause: tuple[str, ...]
    stop: tuple[str, ...]
    goals: tuple[SlaGoal, ...]

    def goal_for(self, data: Mapping[str, Any]) -> SlaGoal | None:
        return next((g for g in self.goals if g.matches(data)), None)

    @property
    def fields(self) -> set[str]:
        """The data fields the goals read (a change to one recomputes the due time)."""
        return {key.removeprefix("data.") for g in self.goals for key, _ in g.when}


@dataclass(frozen=True)
class Timeout:
    """After ``after_hours`` in the state, or at the time in the date/datetime field
    ``at_field``, take the transition ``action`` (history source ``timer``)."""

    action: str
    after_hours: float | None = None
    at_field: str | None = None

    def describe(self) -> str:
        when = (f"after {self.after_hours:g} hours" if self.after_hours is not None
                else f"at {self.at_field}")
        return f"{self.action} {when}"


def parse_slas(docs: list[dict[str, Any]] | None) -> tuple[Sla, ...]:
    out = []
    for doc in docs or ():
        goals = tuple(SlaGoal(tuple((k, tuple(v) if isinstance(v, list) else v)
                                    for k, v in (goal.get("when") or {}).items()),
                              float(goal["hours"])) for goal in doc["goals"])
        out.append(Sla(doc["name"], doc.get("label") or label(doc["name"]).capitalize(),
                       tuple(doc["start"]), tuple(doc.get("pause", ())), tuple(doc["stop"]),
                       goals))
    return tuple(out)


def parse_timeout(doc: dict[str, Any] | None) -> Timeout | None:
    if not doc:
        return None
    after = doc.get("after_hours")
    return Timeout(doc["action"], float(after) if after is not None else None,
                   doc.get("at_field"))


def export_slas(slas: tuple[Sla, ...]) -> list[dict[str, Any]]:
    return [{"name": s.name, "label": s.label, "start": list(s.start), "pause": list(s.pause),
             "stop": list(s.stop),
             "goals": [{**({"when": {k: list(v) if isinstance(v, tuple) else v
                                     for k, v in g.when}} if g.when else {}),
                        "hours": _number(g.hours)}
                       for g in s.goals]} for s in slas]


def export_timeout(t: Timeout) -> dict[str, Any]:
    doc: dict[str, Any] = {"action": t.action}
    if t.after_hours is not None:
        doc["after_hours"] = _number(t.after_hours)
    if t.at_field is not None:
        doc["at_field"] = t.at_field
    return doc


def _number(hours: float) -> int | float:
    return int(hours) if float(hours).is_integer() else hours


def problems(wf: Workflow) -> list[str]:
    """States and fields the SLAs and timeouts name that the workflow does not have."""
    out: list[str] = []
    names = [s.name for s in wf.slas]
    out += [f"SLA name {n!r} is used twice." for n in sorted(set(names)) if names.count(n) > 1]
    for sla in wf.slas:
        for state in (*sla.start, *sla.pause, *sla.stop):
            if state not in wf.states:
                out.append(f"SLA {sla.name!r} names unknown state {state!r}.")
        for name in sorted(sla.fields):
            spec = wf.fields.get(name)
            if wf.fields and spec is None:
                out.append(f"SLA {sla.name!r} chooses its goal by {name!r}, which is not a "
                           f"declared field.")
            elif spec is not None and spec.sensitive:
                out.append(f"SLA {sla.name!r} cannot choose its goal by the sensitive field "
                           f"{name!r}.")
    for state in wf.states.values():
        t = state.timeout
        if t is None:
            continue
        if not any(tr.name == t.action for tr in wf.transitions_from(state.name)):
            out.append(f"The timeout of state {state.name!r} takes {t.action!r}, which is not a "
                       f"transition out of it.")
        if t.at_field is not None:
            spec = wf.fields.get(t.at_field)
            if spec is None or spec.type not in ("date", "datetime"):
                out.append(f"The timeout of state {state.name!r} reads {t.at_field!r}, which is "
                           f"not a declared date or datetime field.")
    return out
