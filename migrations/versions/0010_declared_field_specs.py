"""Stored workflows' legacy field constraints become declared field specs (CONTRACT §7).

Before declared fields, a type could say ``"fields": {"priority": {"enum": [...]}}`` (the
facilities pack's ticket did). The workflow file format now refuses that shape, so a database
that stored it would fail to load its workflows after the upgrade. Each such constraint becomes
the field spec it meant: ``{"type": "choice", "choices": [...]}``; any other field without a
``type`` becomes free text. Re-import a pack (``flask --app wsgi workflows import FILE`` or
``seed-demo``) to get the fields the packs now declare.

The downgrade writes the choices back as ``enum`` and drops the rest of the fields block, which
older code ignored.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

_WORKFLOWS = sa.table("workflow_definitions", sa.column("id", sa.Integer),
                      sa.column("definition", sa.JSON))


def upgraded_fields(fields: dict) -> dict:
    out = {}
    for name, spec in fields.items():
        if not isinstance(spec, dict) or "type" in spec:
            out[name] = spec
        elif isinstance(spec.get("enum"), list) and spec["enum"]:
            out[name] = {"type": "choice", "choices": [str(c) for c in spec["enum"]]}
        else:
            out[name] = {"type": "text"}
    return out


def downgraded_fields(fields: dict) -> dict:
    return {name: {"enum": spec["choices"]} for name, spec in fields.items()
            if isinstance(spec, dict) and spec.get("type") == "choice" and spec.get("choices")}


def _rewrite(change) -> None:
    conn = op.get_bind()
    for row_id, definition in conn.execute(sa.select(_WORKFLOWS.c.id, _WORKFLOWS.c.definition)):
        doc = json.loads(definition) if isinstance(definition, str) else definition
        fields = doc.get("fields") if isinstance(doc, dict) else None
        if not isinstance(fields, dict) or not fields:
            continue
        new = change(fields)
        if new != fields:
            conn.execute(_WORKFLOWS.update().where(_WORKFLOWS.c.id == row_id)
                         .values(definition={**doc, "fields": new}))


def upgrade() -> None:
    _rewrite(upgraded_fields)


def downgrade() -> None:
    _rewrite(downgraded_fields)
