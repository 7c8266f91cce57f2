"""The write path's statements, one small interface with a SQLite and a PostgreSQL implementation.

Each statement runs once per chunk of thousands of rows. SQLite takes the rows through the
driver's executemany; PostgreSQL takes one list per column and ``unnest``s them, so a whole
chunk is one statement. Values are converted by their column type's own bind processor (the
conversion SQLAlchemy would apply), without SQLAlchemy's per-row parameter machinery, which
cost more than the database work itself (bench/bulk.py).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from webapp.core.base.events import ENTITY_UPDATED, ENTITY_WARNED, STATUS_CHANGED, outbox_table
from webapp.core.base.relations import chunked
from webapp.models import Entity, StatusChange
from webapp.models.entity_count import EntityCount

_T = Entity.__table__
_H = StatusChange.__table__
_O = outbox_table()
_C = EntityCount.__table__

HISTORY_COLUMNS = ("entity_id", "old_status", "new_status", "action", "reason", "actor",
                   "source", "correlation_id", "metadata", "seconds_in_previous", "created_at")
OUTBOX_COLUMNS = ("event_type", "entity_id", "payload", "idempotency_key", "created_at", "state",
                  "attempts", "next_attempt_at")

#: The StatusChanged / EntityUpdated payload, defined once: each key and the column of the
#: history row (h) or entity (e) it comes from. The database builds outbox payloads from it;
#: ``writer.event_payload`` builds the in-process ones from the same list.
PAYLOAD = (("change_id", "h.id"), ("entity_id", "h.entity_id"), ("type", "e.type"),
           ("name", "e.name"), ("old_status", "h.old_status"), ("new_status", "h.new_status"),
           ("action", "h.action"), ("source", "h.source"), ("actor", "h.actor"),
           ("correlation_id", "h.correlation_id"), ("parent_id", "e.parent_id"))
#: A change that kept the status (a data update) is an EntityUpdated, not a StatusChanged.
_EVENT_SQL = (f"CASE WHEN h.old_status = h.new_status THEN '{ENTITY_UPDATED}' "
              f"ELSE '{STATUS_CHANGED}' END")

# An entity row to update: (updated_at[, status, status_changed_at][, data][, name], id,
# version), as its shape says.
UpdateRow = tuple[Any, ...]
#: What an update SETs besides version and updated_at, in this order: the status (with
#: status_changed_at), the data, the name. A column is only SET when its value changes:
#: SQLite rewrites every index on a column an UPDATE sets, changed or not (a data update
#: that also set the unchanged status cost 2.4x: bench/bulk.py), and its search index
#: triggers on the name.
SHAPES = (("status",), ("status", "data"), ("status", "data", "name"), ("data",),
          ("data", "name"), ())
#: The columns each part of a shape sets.
SHAPE_COLUMNS = {"status": ("status", "status_changed_at"), "data": ("data",), "name": ("name",)}


def _sqlite_seconds(since: str, until: str) -> str:
    """SQLite: the seconds from the time ``since`` to the time ``until`` (SQL expressions),
    exact to the microsecond. SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' text: whole
    seconds by strftime, then the microseconds (julianday's are not exact)."""
    return (f"((strftime('%s', {until}) - strftime('%s', {since})) + "
            f"(CAST(substr({until}, 21, 6) AS INTEGER) - CAST(substr({since}, 21, 6) AS INTEGER)) "
            f"/ 1000000.0)")


#: A time-ordered UUID (version 7, as ``events.idempotency_key``) made by SQLite: the
#: statement's millisecond (one for all its rows), then 74 random bits from three random()
#: (12 after the version, 14 after the variant, 48): one printf, a seventh of the outbox
#: INSERT's CPU less than hex and substr of random blobs (bench/sweep.py).
_SQLITE_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
_SQLITE_UUID = (f"printf('%08x-%04x-%04x-%04x-%012x', {_SQLITE_MS} >> 16, {_SQLITE_MS} & 65535, "
                "28672 | (random() & 4095), 32768 | (random() & 16383), "
                "random() & 281474976710655)")
#: The same by PostgreSQL: the millisecond in hex, the rest of a random UUID (its variant kept).
_PG_MS = "lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')"
_PG_UUID = (f"substr({_PG_MS}, 1, 8) || '-' || substr({_PG_MS}, 9, 4) || '-7' || "
            "substr(gen_random_uuid()::text, 16)")


class Statements:
    """What the write path asks of the database, for one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def bind(self, column: Any) -> Callable[[Any], Any]:
        """The column type's conversion of a Python value to what the driver takes."""
        process = column.type.dialect_impl(self.conn.dialect).bind_processor(self.conn.dialect)
        return process or (lambda value: value)

    def json(self, column: Any) -> Callable[[Any], Any]:
        return self.bind(column)

    def update_entities(self, rows: Sequence[UpdateRow], shape: tuple[str, ...]) -> int:
        """Bump status, version and times (and set the ``shape``'s columns) of the rows still at
        their version; the rowcount (-1 when the driver cannot tell)."""
        raise NotImplementedError

    def insert_history(self, rows: Sequence[tuple[Any, ...]]) -> list[int]:
        """Insert HISTORY_COLUMNS rows in the given order; their new ids in the same order."""
        raise NotImplementedError

    def insert_events(self, history_ids: Sequence[int], now: Any) -> None:
        """One pending outbox row per history id, its payload built by the database."""
        raise NotImplementedError

    def insert_outbox(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Pending outbox rows (OUTBOX_COLUMNS, payload already as the driver takes it)."""
        raise NotImplementedError

    def insert_warnings(self, ids: Sequence[int], constants: Mapping[str, Any],
                        grace_days: int | None, now: Any) -> None:
        """One pending EntityWarned outbox row per entity of ``ids``, its payload built by the
        database (WARNED_PAYLOAD): ``constants`` as given, the entity's own columns, its whole
        days without activity at ``now`` and, with ``grace_days``, the moment it becomes
        inactive in the ISO 8601 form Python's ``isoformat`` writes (None without)."""
        mark = self._MARK
        pairs = [f"'{key}', {column}" for key, column in WARNED_PAYLOAD]
        pairs += [f"'{key}', {self._constant(value)}" for key, value in constants.items()]
        pairs += [f"'days_quiet', {self._DAYS_QUIET}",
                  f"'inactive_on', {self._INACTIVE_ON if grace_days is not None else 'NULL'}"]
        sql = (f"INSERT INTO {_O.name} ({', '.join(OUTBOX_COLUMNS)}) "
               f"SELECT '{ENTITY_WARNED}', e.id, {self._OBJECT}({', '.join(pairs)}), "
               f"{self._UUID}, t.now, 'pending', 0, t.now "
               f"FROM {_T.name} e, (SELECT {self._NOW} AS now) t WHERE {self._IDS} ORDER BY e.id")
        params = (*constants.values(), *(() if grace_days is None else (grace_days,)), now)
        for part in chunked(list(ids)):
            self.conn.exec_driver_sql(sql.format(marks=", ".join([mark] * len(part))),
                                      (*params, *self._ids_param(part)))

    # What insert_warnings writes differently per database: the parameter mark, the JSON object
    # function, a new outbox key, the moment's type, whole days quiet and the inactive date
    # (of e, the entity, and t.now), and the condition on the ids.
    _MARK = _OBJECT = _UUID = _NOW = _DAYS_QUIET = _INACTIVE_ON = _IDS = ""

    def _ids_param(self, ids: Sequence[int]) -> tuple[Any, ...]:
        raise NotImplementedError

    def _constant(self, value: Any) -> str:
        """A payload constant's parameter mark (PostgreSQL needs its type named)."""
        return self._MARK

    def move_rows(self, ids: Sequence[int], entity_type: str, old: str, new: str,
                  history: Sequence[Any], now: Any) -> list[int]:
        """Move the entities among ``ids`` of ``entity_type`` still in ``old`` to ``new`` without
        reading them into Python: their history rows (``history``: action, reason, actor,
        source, correlation id; the seconds in ``old`` taken from each row) and the rows
        themselves (status, version, times). The new history ids."""
        raise NotImplementedError

    def add_counts(self, deltas: Mapping[tuple[str, str], int]) -> None:
        """Add each (type, status) delta to the entity counts, in one statement.

        The rows go in (type, status) order, so two transactions lock the count rows they
        share in the same order and cannot deadlock on them within one statement."""
        rows = sorted((t, s, n) for (t, s), n in deltas.items() if n)
        if rows:
            self._add_counts(rows)

    def _add_counts(self, rows: list[tuple[str, str, int]]) -> None:
        raise NotImplementedError


class SqliteStatements(Statements):
    def update_entities(self, rows: Sequence[UpdateRow], shape: tuple[str, ...]) -> int:
        # A data update: one statement per chunk joined to its rows as VALUES (executemany ran
        # the UPDATE once per row, and a data update paid a quarter more for it, bench/bulk.py).
        # A status change: once per row. Its index writes dominate, and UPDATE … FROM, which
        # gathers the joined rows before it writes them, cost a quarter more than executemany
        # at 1,000,000 entities (the sweep's 100,000: 2.5 against 2.0 s CPU, bench/sweep.py).
        if not UPDATE_FROM or "status" in shape:
            return self.conn.exec_driver_sql(_SQLITE_UPDATE_EACH[shape], list(rows)).rowcount
        width, updated = 3 + len(_set_columns(shape)), 0
        for part in chunked(list(rows), _SQLITE_ROWS_PER_UPDATE):
            values = ", ".join([f"({', '.join(['?'] * width)})"] * len(part))
            updated += self.conn.exec_driver_sql(_SQLITE_UPDATE[shape].format(values=values),
                                                 tuple(v for row in part for v in row)).rowcount
        return updated

    def insert_history(self, rows: Sequence[tuple[Any, ...]]) -> list[int]:
        self.conn.exec_driver_sql(_insert_sql(_H.name, HISTORY_COLUMNS, "?"), list(rows))
        # SQLite numbers the rows of one executemany consecutively (this transaction holds the
        # database's write lock), so the last id gives them all; RETURNING would insert row
        # by row.
        last = self.conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
        return list(range(last - len(rows) + 1, last + 1))

    def insert_events(self, history_ids: Sequence[int], now: Any) -> None:
        for part in chunked(list(history_ids)):
            where = f"h.id IN ({', '.join(['?'] * len(part))})"
            self.conn.exec_driver_sql(_events_sql("json_object", _SQLITE_UUID, "?", where),
                                      (now, now, *part))

    def insert_outbox(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.conn.exec_driver_sql(_insert_sql(_O.name, OUTBOX_COLUMNS, "?"), list(rows))

    def move_rows(self, ids: Sequence[int], entity_type: str, old: str, new: str,
                  history: Sequence[Any], now: Any) -> list[int]:
        # This transaction holds the database's write lock: the rows read by the INSERT are
        # the rows the UPDATE then moves.
        marks = ", ".join(["?"] * len(ids))
        where = (*ids, entity_type, old)
        inserted = self.conn.exec_driver_sql(_SQLITE_MOVE_HISTORY.format(marks=marks),
                                             (new, *history, now, *where)).rowcount
        last = self.conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
        moved = self.conn.exec_driver_sql(_SQLITE_MOVE.format(marks=marks),
                                          (new, now, now, *where)).rowcount
        if moved != inserted:  # cannot happen under the write lock; never write half a move
            raise RuntimeError(f"moved {moved} entities but wrote {inserted} history rows")
        return list(range(last - inserted + 1, last + 1))

    def _add_counts(self, rows: list[tuple[str, str, int]]) -> None:
        self.conn.exec_driver_sql(_COUNTS_SQLITE, rows)

    _MARK, _OBJECT, _UUID, _NOW = "?", "json_object", _SQLITE_UUID, "?"
    _DAYS_QUIET = f"CAST({_sqlite_seconds('e.last_activity_at', 't.now')} / 86400 AS INTEGER)"
    # The fraction only when there are microseconds, as isoformat writes an aware UTC time.
    _INACTIVE_ON = ("strftime('%Y-%m-%dT%H:%M:%S', e.last_activity_at, '+' || ? || ' days') || "
                    "CASE WHEN CAST(substr(e.last_activity_at, 21, 6) AS INTEGER) = 0 THEN '' "
                    "ELSE '.' || substr(e.last_activity_at, 21, 6) END || '+00:00'")
    _IDS = "e.id IN ({marks})"

    def _ids_param(self, ids: Sequence[int]) -> tuple[Any, ...]:
        return tuple(ids)


class PostgresStatements(Statements):
    def json(self, column: Any) -> Callable[[Any], Any]:
        return json.dumps  # unnest and the ::jsonb casts take JSON text

    def update_entities(self, rows: Sequence[UpdateRow], shape: tuple[str, ...]) -> int:
        return self.conn.exec_driver_sql(_PG_UPDATE[shape], _columns(rows)).rowcount

    def insert_history(self, rows: Sequence[tuple[Any, ...]]) -> list[int]:
        # Ids first, so the rows go in with them in one unnest (RETURNING gives no order).
        ids = sorted(self.conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{_H.name}', 'id')) "
            f"FROM generate_series(1, %s)", (len(rows),)).scalars())
        self.conn.exec_driver_sql(_PG_HISTORY, _columns(
            [(hid, *row) for hid, row in zip(ids, rows, strict=True)]))
        return ids

    def insert_events(self, history_ids: Sequence[int], now: Any) -> None:
        sql = _events_sql("jsonb_build_object", _PG_UUID, "%s", "h.id = ANY(%s)")
        for part in chunked(list(history_ids)):
            self.conn.exec_driver_sql(sql, (now, now, list(part)))

    def insert_outbox(self, rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("%s::jsonb" if c == "payload" else "%s" for c in OUTBOX_COLUMNS)
        self.conn.exec_driver_sql(
            f"INSERT INTO {_O.name} ({', '.join(OUTBOX_COLUMNS)}) VALUES ({marks})", list(rows))

    def move_rows(self, ids: Sequence[int], entity_type: str, old: str, new: str,
                  history: Sequence[Any], now: Any) -> list[int]:
        return sorted(self.conn.exec_driver_sql(_PG_MOVE, (
            list(ids), entity_type, old, new, now, now, old, new, *history, now, now)).scalars())

    def _add_counts(self, rows: list[tuple[str, str, int]]) -> None:
        self.conn.exec_driver_sql(_COUNTS_PG, _columns(rows))

    _MARK, _OBJECT, _UUID, _NOW = "%s", "jsonb_build_object", _PG_UUID, "%s::timestamp"
    _DAYS_QUIET = "date_part('day', t.now - e.last_activity_at)::int"
    _INACTIVE_ON = (
        "to_char(e.last_activity_at + make_interval(days => %s), 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        "|| CASE WHEN to_char(e.last_activity_at, 'US') = '000000' THEN '' "
        "ELSE '.' || to_char(e.last_activity_at, 'US') END || '+00:00'")
    _IDS = "e.id = ANY(%s)"

    def _constant(self, value: Any) -> str:
        whole = isinstance(value, int) and not isinstance(value, bool)
        return "%s::bigint" if whole else "%s::text"

    def _ids_param(self, ids: Sequence[int]) -> tuple[Any, ...]:
        return (list(ids),)


def statements_for(conn: Connection) -> Statements:
    return (PostgresStatements if conn.dialect.name == "postgresql" else SqliteStatements)(conn)


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _columns(rows: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Rows turned into one list per column, for PostgreSQL's unnest(): one statement for all
    (a tuple: one set of parameters, not many)."""
    return tuple(list(column) for column in zip(*rows, strict=True))


def _set_columns(shape: tuple[str, ...]) -> list[str]:
    return [column for part in shape for column in SHAPE_COLUMNS[part]]


def _sqlite_update(shape: tuple[str, ...]) -> str:
    """The UPDATE of many rows, each (updated_at, the shape's columns, id, version) one row of
    ``{values}``: SQLite names their columns column1, column2, …"""
    columns = _set_columns(shape)
    sets = "".join(f", {c} = v.column{n}" for n, c in enumerate(columns, start=2))
    n = len(columns)
    return (f"UPDATE {_T.name} SET version = {_T.name}.version + 1, updated_at = v.column1{sets} "
            f"FROM (VALUES {{values}}) AS v WHERE {_T.name}.id = v.column{n + 2} "
            f"AND {_T.name}.version = v.column{n + 3}")


def _sqlite_update_each(shape: tuple[str, ...]) -> str:
    """The UPDATE of one row (executemany): a status change, or any change on a SQLite
    without ``UPDATE … FROM``."""
    sets = "".join(f", {column} = ?" for column in _set_columns(shape))
    return (f"UPDATE {_T.name} SET version = version + 1, updated_at = ?{sets} "
            f"WHERE id = ? AND version = ?")


#: Rows per SQLite UPDATE … FROM: at most 5 values each, well under its 32,766 parameters.
_SQLITE_ROWS_PER_UPDATE = 1000
#: ``UPDATE … FROM`` arrived in SQLite 3.33 (2020); an older library updates row by row.
UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)


_PG_CASTS = {"status": ("v.status", "varchar"), "status_changed_at": ("v.status_changed_at", "timestamp"),
             "data": ("v.data::jsonb", "text"), "name": ("v.name", "varchar")}


def _pg_update(shape: tuple[str, ...]) -> str:
    columns = _set_columns(shape)
    sets = "".join(f", {c} = {_PG_CASTS[c][0]}" for c in columns)
    arrays = "".join(f", %s::{_PG_CASTS[c][1]}[]" for c in columns)
    names = "".join(f", {c}" for c in columns)
    return (f"UPDATE {_T.name} AS e SET version = e.version + 1, updated_at = v.now{sets} "
            f"FROM unnest(%s::timestamp[]{arrays}, %s::integer[], %s::integer[]) "
            f"AS v(now{names}, id, version) WHERE e.id = v.id AND e.version = v.version")


_SQLITE_UPDATE = {shape: _sqlite_update(shape) for shape in SHAPES if "status" not in shape}
_SQLITE_UPDATE_EACH = {shape: _sqlite_update_each(shape) for shape in SHAPES}
_PG_UPDATE = {shape: _pg_update(shape) for shape in SHAPES}
_PG_HISTORY = (
    f"INSERT INTO {_H.name} (id, {', '.join(HISTORY_COLUMNS)}) "
    f"SELECT v.id, v.entity_id, v.old_status, v.new_status, v.action, v.reason, v.actor, v.source, "
    f"v.correlation_id, v.metadata::jsonb, v.seconds_in_previous, v.created_at "
    f"FROM unnest(%s::integer[], %s::integer[], %s::varchar[], %s::varchar[], %s::varchar[], "
    f"%s::text[], %s::varchar[], %s::varchar[], %s::varchar[], %s::text[], %s::float8[], "
    f"%s::timestamp[]) AS v(id, {', '.join(HISTORY_COLUMNS)})")
_COUNTS_UPSERT = f"ON CONFLICT (type, status) DO UPDATE SET n = {_C.name}.n + excluded.n"
_COUNTS_SQLITE = f"{_insert_sql(_C.name, ('type', 'status', 'n'), '?')} {_COUNTS_UPSERT}"
# ORDER BY: the rows are inserted, and their count rows locked, in one order in every
# transaction (ON CONFLICT takes each existing row's lock as it reaches it).
_COUNTS_PG = (f"INSERT INTO {_C.name} (type, status, n) SELECT v.type, v.status, v.n "
              f"FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[]) AS v(type, status, n) "
              f"ORDER BY v.type, v.status {_COUNTS_UPSERT}")
# A set-based move (``move_rows``). The history rows' columns after the entity's id and old
# status: new status, action, reason, actor, source, correlation id, metadata (none), seconds
# in the old state, created at.
_MOVE_HISTORY_COLUMNS = ", ".join(HISTORY_COLUMNS)


# The seconds in the old state: from status_changed_at to now (the parameter after the
# history's own).
_SQLITE_MOVE_HISTORY = (
    f"INSERT INTO {_H.name} ({_MOVE_HISTORY_COLUMNS}) "
    f"SELECT id, status, ?, ?, ?, ?, ?, ?, '{{{{}}}}', "
    f"{_sqlite_seconds('status_changed_at', 't.now')}, t.now "
    f"FROM {_T.name}, (SELECT ? AS now) t "
    f"WHERE id IN ({{marks}}) AND type = ? AND status = ? ORDER BY id")
_SQLITE_MOVE = (f"UPDATE {_T.name} SET status = ?, version = version + 1, status_changed_at = ?, "
                f"updated_at = ? WHERE id IN ({{marks}}) AND type = ? AND status = ?")
# PostgreSQL: the rows locked in id order (as lock_rows does), moved, and their history written
# from what the UPDATE returns, in one statement; a row another transaction moved meanwhile is
# re-checked after its lock and left out.
_PG_MOVE = (
    f"WITH due AS (SELECT id, status_changed_at FROM {_T.name} "
    f"WHERE id = ANY(%s) AND type = %s AND status = %s ORDER BY id FOR UPDATE), "
    f"moved AS (UPDATE {_T.name} AS e SET status = %s, version = e.version + 1, "
    f"status_changed_at = %s, updated_at = %s FROM due WHERE e.id = due.id "
    f"RETURNING e.id, due.status_changed_at AS was) "
    f"INSERT INTO {_H.name} ({_MOVE_HISTORY_COLUMNS}) "
    f"SELECT m.id, %s, %s, %s, %s, %s, %s, %s, '{{}}'::jsonb, "
    f"EXTRACT(EPOCH FROM (%s::timestamp - m.was))::float8, %s FROM moved m ORDER BY m.id "
    f"RETURNING id")
#: An EntityWarned payload's keys taken from the entity's row (e); the sweep gives the others
#: (``sweep._warning_constants``) and the database computes days_quiet and inactive_on.
WARNED_PAYLOAD = (("entity_id", "e.id"), ("name", "e.name"), ("status", "e.status"),
                  ("parent_id", "e.parent_id"))


def _events_sql(build_object: str, new_uuid: str, mark: str, where: str) -> str:
    pairs = ", ".join(f"'{key}', {column}" for key, column in PAYLOAD)
    return (f"INSERT INTO {_O.name} ({', '.join(OUTBOX_COLUMNS)}) "
            f"SELECT {_EVENT_SQL}, h.entity_id, {build_object}('event', {_EVENT_SQL}, {pairs}), "
            f"{new_uuid}, {mark}, 'pending', 0, {mark} "
            f"FROM {_H.name} h JOIN {_T.name} e ON e.id = h.entity_id WHERE {where} ORDER BY h.id")
