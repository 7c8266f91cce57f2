"""Entities from a CSV file (CONTRACT §7, ``POST /entities/import``): each row creates an
entity, or updates the one its ``key`` (``id`` or a unique field) names, checked by the code a
create or a PATCH runs (``changes.entities``: names, statuses, parents, ``check_data``),
history source ``import``. Updates are written through the StateManager's write path
(``StateManager.apply``); creates set-based by ``changes.creating``, a run of consecutive
create rows checked together and written with a few statements (history, outbox rows, counts,
SLA clocks included). The file's form is ``importing_sheet``'s.

A row is read as a whole: its field cells go through the field kinds' ``from_text`` reading
(``validation.check``), then the type's full check. On an update a blank cell clears the
field, a column the file leaves out keeps it; name, status and parent blank keep theirs.
An import changes data and names: a status or parent other than the entity's is that row's
failure (a move is a transition), and a ``version`` cell, when given, must still be current
(as PATCH's). Creates may give status, parent and ``last_activity_at`` (the history says
``import``). Read-only columns (times but ``last_activity_at``) are ignored on update.

Modes, as the bulk operations': ``rollback_on_error`` (the default) is all or nothing: every
row is checked and one failure writes nothing, reporting every failure; without it the valid
rows are written and each failed row reported. ``dry_run`` does the same work in a
transaction that is rolled back, so what it says would happen (created, updated, failed,
clashes between rows of the file included) is what a run would do. The result is the bulk
result shape; its failed items are row numbers (the header is row 1), ``"row 7: data.price:
Price must be a number of at least 0."``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base import bounds
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, StatekeeperError
from webapp.core.base.relations import chunked
from webapp.core.base.sealed import MASK
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label
from webapp.core.bulk import importing_sheet as sheets
from webapp.core.bulk.operations import BulkResult
from webapp.core.bulk.plans import ROWS_KEPT, entity_detail, id_list
from webapp.core.changes import creating, entities
from webapp.core.changes import writer as changes
from webapp.core.changes.manager import StateManager, check_version
from webapp.core.changes.writer import Change, EntityRow
from webapp.core.fields import searchable, validation
from webapp.core.fields.spec import FieldSpec, unique_text
from webapp.core.fields.validation import Lookups
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity

#: Rows read, matched and written at a time.
CHUNK = 500
#: (parent type, text) -> the id it names; LookupError with a sentence when none.
ParentOf = Callable[[str, str], int]


@dataclass(frozen=True)
class ImportRequest:
    entity_type: str
    #: ``id`` or a unique field: rows whose key exists update; None: every row creates.
    key: str | None = None
    dry_run: bool = False
    rollback_on_error: bool = True
    filename: str | None = None


@dataclass
class ImportResult(BulkResult):
    """The bulk result (its failed items are row numbers) and what became of the rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def successful_items(self) -> int:  # a dry run's creates have no ids to count
        return 0 if self.was_rolled_back else self.total_items - self.failed_items

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"created": self.created, "updated": self.updated,
                                    "unchanged": self.unchanged}


class _Undone(Exception):
    """Ends a dry run, or an all-or-nothing import with failures: nothing is kept."""


def run(session: Session, sm: StateManager, actor: Actor, req: ImportRequest, raw: bytes,
        cid: str, parent_of: ParentOf | None = None, now: datetime | None = None) -> ImportResult:
    """Import ``raw`` (InvalidInput, before anything is written, when the file as a whole
    cannot be read; see ``importing_sheet``)."""
    now = now or sm.clock()
    wf = sm.workflow(session, req.entity_type)
    sheet = sheets.read(raw, wf, req.key)
    result = ImportResult("import", req.dry_run, total_items=len(sheet.rows),
                          audit_correlation_id=None if req.dry_run else cid)
    job = _Import(session, sm, actor, wf, req, cid, now, parent_of or sheets.parent_by_id, result)
    try:
        with write_transaction(session):
            for part in chunked(sheet.rows, CHUNK):
                job.chunk(part, sheet.ragged)
            job.write_pending()
            _finish(result, req)
            if req.dry_run or result.was_rolled_back:
                raise _Undone
            sm.vocabulary.add(session, job.names)
            _audit(session, actor, req, result, cid, now)
    except _Undone:
        if result.was_rolled_back:  # nothing changed, but the attempt is on record
            with write_transaction(session):
                _audit(session, actor, req, result, cid, now)
        return result
    sm.committed.publish(job.events)
    return result


class _Import:
    """One import's rows, in file order: updates are gathered and written together before
    each run of creates, and each run of creates is written before the next update is
    checked, so every row's checks see the rows above it."""

    def __init__(self, session: Session, sm: StateManager, actor: Actor, wf: Workflow,
                 req: ImportRequest, cid: str, now: datetime, parent_of: ParentOf,
                 result: ImportResult) -> None:
        self.session, self.sm, self.actor, self.wf, self.req = session, sm, actor, wf, req
        self.cid, self.now, self.parent_of, self.result = cid, now, parent_of, result
        #: Shared by the rows written together: two of them giving one unique value clash.
        self.lookups = Lookups(session, wf.entity_type, sm.keyring)
        self.pending: list[tuple[int, Change]] = []
        self.events: list[dict[str, Any]] = []
        self.names: list[str] = []

    # -- rows ------------------------------------------------------------------------------
    def chunk(self, part: list[tuple[int, dict[str, str]]], ragged: Mapping[int, int]) -> None:
        found = self._existing(part)
        self._fresh()
        creates: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        for number, cells in part:
            if number in found and creates:  # the creates above first: its checks see them
                self._create(creates)
                creates = []
            try:
                if number in ragged:
                    raise InvalidInput(f"It has {ragged[number]} cells; the header has "
                                       f"{len(cells)}.")
                self._check_type(cells)
                if number in found:
                    self._update(number, cells, found[number])
                elif self.req.key == "id" and cells.get("id"):
                    raise InvalidInput(f"No {label(self.wf.entity_type)} has the id "
                                       f"{cells['id']}.", {"id": "Leave it empty to create one."})
                else:
                    creates.append((number, cells, self._fields(cells)))
            except StatekeeperError as err:
                self._failed(number, cells, err)
        self._create(creates)
        self.write_pending()

    def _fresh(self) -> None:
        """New lookups once every row above is written: what they remember (who holds a
        unique value) is then the database's, and claims carry within the rows that follow."""
        self.lookups = Lookups(self.session, self.wf.entity_type, self.sm.keyring)

    def _check_type(self, cells: dict[str, str]) -> None:
        given = cells.get("type")
        if given and given != self.wf.entity_type:
            raise InvalidInput(f"This row is a {given}, not a {self.wf.entity_type}.",
                               {"type": f"Import {given} rows as {given}."})

    def _fields(self, cells: dict[str, str]) -> dict[str, Any]:
        """What a create row gives (``creating.GIVEN``), read from its cells."""
        fields: dict[str, Any] = {"name": cells.get("name") or None,
                                  "data": self._data(cells, {})}
        if cells.get("status"):
            fields["status"] = cells["status"]
        parent = self._parent(cells)
        if parent is not None:
            fields["parent_id"] = parent
        if cells.get("last_activity_at"):
            fields["last_activity_at"] = bounds.parse_time(cells["last_activity_at"],
                                                           "last_activity_at")
        return fields

    def _create(self, rows: list[tuple[int, dict[str, str], dict[str, Any]]]) -> None:
        """Check consecutive create rows together and write them set-based (``creating``),
        after the updates above them, so that their checks see every row above."""
        if not rows:
            return
        self.write_pending()
        self._fresh()
        checked = creating.check(self.session, self.wf, [fields for _, _, fields in rows],
                                 "import", lookups=self.lookups, keyring=self.sm.keyring)
        new = []
        for (number, cells, _), outcome in zip(rows, checked, strict=True):
            if isinstance(outcome, StatekeeperError):
                self._failed(number, cells, outcome)
            else:
                new.append((number, outcome))
        self.events += creating.insert(self.session, [e for _, e in new], self.actor,
                                       self.now, self.cid)
        for number, e in new:
            self.names += [e.name, *searchable.values(self.wf.fields, e.data)]
            self.result.created += 1
            self.result.written.append((e.id, None, e.status))
            if not self.req.dry_run:  # a dry run's ids are gone with its transaction
                self.result.successful_ids.append(e.id)
            self._row(number, "create", None if self.req.dry_run else e.id, e.name, "Created.")
        self._fresh()

    def _update(self, number: int, cells: dict[str, str], e: EntityRow) -> None:
        if cells.get("status") and cells["status"] != e.status:
            raise InvalidInput(f"An import does not change statuses ({e.status} here, "
                               f"{cells['status']} in the file); use a transition.",
                               {"status": "Keep the current status."})
        parent = self._parent(cells)
        if parent is not None and parent != e.parent_id:
            raise InvalidInput(f"An import does not move a {label(e.type)} to another parent.",
                               {"parent": "Keep the current parent."})
        if cells.get("version"):
            check_version(e, sheets.whole(cells["version"], "version"))  # type: ignore[arg-type]
        name = entities.check_name(cells["name"]) if cells.get("name") else e.name
        before = e.data or {}
        data = entities.check_data(self.wf, self._data(cells, before), lookups=self.lookups,
                                   creating=False, before=before, entity_id=e.id,
                                   keyring=self.sm.keyring)
        if name == e.name and data == before:
            self.result.unchanged += 1
            self.result.successful_ids.append(e.id)
            self._row(number, "unchanged", e.id, e.name, "Nothing to change.")
            return
        meta: dict[str, Any] = {"data": entities.data_diff(before, data)}
        if name != e.name:
            meta["name"] = {"before": e.name, "after": name}
            self.names.append(name)
        self.pending.append((number, Change(e, e.status, "update", "import", None, new_data=data,
                                            new_name=name, metadata=meta)))

    def write_pending(self) -> None:
        """Write the gathered updates (one set-based write, follow-ups included)."""
        if not self.pending:
            return
        outcome = self.sm.apply(self.session, [c for _, c in self.pending], self.actor,
                                self.now, self.cid, "entity.import", audit_each=False)
        self.events += outcome.events
        self.result.cascaded += len(outcome.cascaded)
        for number, c in self.pending:
            self.result.updated += 1
            self.result.successful_ids.append(c.entity.id)
            self.result.written.append((c.entity.id, c.entity.status, c.entity.status))
            self._row(number, "update", c.entity.id, c.new_name or c.entity.name, _what(c))
        self.pending = []

    def _failed(self, number: int, cells: dict[str, str], err: StatekeeperError) -> None:
        message = f"row {number}: {explain(err)}"
        self.result.failure_details[number] = message
        self._row(number, "fail", None, cells.get("name") or None, message, ok=False)

    def _row(self, number: int, action: str, entity_id: int | None, name: str | None,
             message: str, ok: bool = True) -> None:
        self.result.rows.append({"row": number, "action": action, "id": entity_id,
                                 "name": name, "ok": ok, "message": message})

    # -- cells -----------------------------------------------------------------------------
    def _data(self, cells: dict[str, str], before: Mapping[str, Any]) -> dict[str, Any]:
        """The row's data: the file's columns over ``before`` (a create's is empty)."""
        if not self.wf.fields:
            return sheets.json_data(cells["data"]) if "data" in cells else dict(before)
        given, errors = {}, {}
        for name, spec in self.wf.fields.items():
            text = cells.get(name)
            if not text:
                continue
            if spec.sensitive and text.startswith(MASK):
                errors[f"data.{name}"] = (f"{spec.title(name)} is masked in this file (it was "
                                          "exported for a role that may not read it).")
            given[name] = sheets.shaped(spec, text)
        read, problems = validation.check(self.wf.fields, given, creating=False, before={},
                                          lookups=Lookups(None, self.wf.entity_type),
                                          from_text=True)
        errors = {**problems, **errors}
        if errors:
            raise InvalidInput(validation.summary(errors), errors)
        data = dict(before)
        for name in self.wf.fields:
            if name in read:
                data[name] = read[name]
            elif name in cells:  # a blank cell clears the field; a missing column keeps it
                data.pop(name, None)
        return data

    def _parent(self, cells: dict[str, str]) -> int | None:
        column = sheets.PARENT if sheets.PARENT in cells else "parent_id"
        text = cells.get(column)
        if not text:
            return None
        parent_type = self.wf.parent_type
        if parent_type is None:
            raise InvalidInput(f"A {self.wf.label.lower()} has no parent.",
                               {column: "Leave it empty."})
        if column == "parent_id":
            return sheets.whole(text, "parent_id")
        try:
            return self.parent_of(parent_type, text)
        except LookupError as err:
            raise InvalidInput(str(err).strip("'\""), {column: "Give a name or an id."}) from None

    # -- keys ------------------------------------------------------------------------------
    def _existing(self, part: list[tuple[int, dict[str, str]]]) -> dict[int, EntityRow]:
        """The entities the chunk's keys name, by row number (locked for the write)."""
        key = self.req.key
        if key is None:
            return {}
        spec = self.wf.fields.get(key) if key != "id" else None
        wanted = {number: sheets.key_text(spec, cells[key]) for number, cells in part
                  if cells.get(key)}
        values = {v for v in wanted.values() if v is not None}
        ids = {v: int(v) for v in values} if spec is None else self._ids_by(key, spec, values)
        rows = changes.lock_rows(self.session, sorted(set(ids.values())))
        return {number: rows[ids[v]] for number, v in wanted.items()
                if v in ids and ids[v] in rows and rows[ids[v]].type == self.wf.entity_type}

    def _ids_by(self, name: str, spec: FieldSpec, values: set[str]) -> dict[str, int]:
        """Unique values -> the ids holding them, compared as ``Lookups.taken`` compares
        (an email without regard to case, a sensitive value by its blind index)."""
        stored = Entity.data[name].as_string()
        found: dict[str, int] = {}
        if spec.sensitive:
            prefixes = {p: v for v in values for p in self.sm.keyring.index_prefixes(v)}
            column, to_value = func.substr(stored, 1, len(next(iter(prefixes), ""))), prefixes.get
        else:
            column = func.lower(stored) if spec.type == "email" else stored
            prefixes, to_value = {v: v for v in values}, lambda got: unique_text(spec, got)
        for part in chunked(sorted(prefixes)):
            rows = self.session.execute(select(Entity.id, column).where(
                Entity.type == self.wf.entity_type, column.in_(part)))
            found.update((to_value(got), entity_id) for entity_id, got in rows)
        return found


def _what(c: Change) -> str:
    diff = c.metadata.get("data", {})
    keys = sorted({*diff.get("before", {}), *diff.get("after", {})})
    said = [f"Data: {', '.join(keys)}." if keys else "", "Renamed." if "name" in c.metadata else ""]
    return " ".join(s for s in said if s)


def explain(err: StatekeeperError) -> str:
    """A row's failure: each bad field's sentence after its name (``data.price: Price must
    be…``), else the message."""
    fields = getattr(err, "fields", None) or {}
    if not fields:
        return err.message
    parts = []
    for name, sentence in fields.items():
        said = sentence if name.startswith("data.") or err.message in sentence else (
            f"{err.message} {sentence}" if sentence not in err.message else err.message)
        parts.append(f"{name}: {said}")
    return "; ".join(parts)


def _finish(result: ImportResult, req: ImportRequest) -> None:
    # Updates are written (and told) in groups: the preview keeps the file's first rows.
    result.rows = sorted(result.rows, key=lambda row: row["row"])[:ROWS_KEPT]
    bad = result.failed_items
    if bad and req.rollback_on_error:
        valid = result.total_items - bad
        verb = "would be" if result.dry_run else "was"
        if valid:
            result.warnings.append(f"All or nothing: {bad:,} row{'s' if bad != 1 else ''} "
                                   f"failed, so nothing {verb} written; the other {valid:,} "
                                   "were valid.")
        if not result.dry_run:
            result.was_rolled_back = True
            result.successful_ids = []
            result.created = result.updated = result.unchanged = 0
            result.written = []
    if result.cascaded and not result.was_rolled_back:
        result.warnings.append(f"{result.cascaded:,} related entities changed with them "
                               f"(cascades and derived statuses).")


def _audit(session: Session, actor: Actor, req: ImportRequest, result: ImportResult, cid: str,
           now: datetime) -> None:
    """ONE audit record for the import, like a bulk operation's."""
    audit.write(session, [audit.AuditRecord(
        actor, "entity.import", req.entity_type, cid, message=req.filename, correlation_id=cid,
        risk="medium" if result.total_items > 100 else "low",
        extra={"key": req.key, "rollback_on_error": req.rollback_on_error,
               "total": result.total_items, "created": result.created,
               "updated": result.updated, "unchanged": result.unchanged,
               "failed": result.failed_items, "was_rolled_back": result.was_rolled_back,
               "entities": entity_detail(result.written),
               "failed_rows": id_list(list(result.failure_details))})], now)
