"""CSV export and import of a type's entities in the JSON API (CONTRACT §7): the same file
and the same core as the list's export and the import page (entities/transfer.py)."""
from __future__ import annotations

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import manager
from webapp.blueprints.entities import transfer
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import importing, importing_sheet
from webapp.core.lists import listing
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now

#: The multipart fields an import takes.
FIELDS = frozenset({"file", "type", "key", "dry_run", "rollback_on_error"})


@bp.get("/v1/entities/export.csv")
@requires("view")
def export_entities():
    known = manager().workflows.all(db.session)
    # As the list's export (and the list): no type is the first type.
    wf = known.get(request.args.get("type") or next(iter(known), ""))
    if wf is None:
        raise InvalidInput("Say which type to export.",
                           {"type": f"Choose one of: {', '.join(known)}."})
    filters = listing.filters_from_params(request.args, now(), wf.fields, wf.label)
    sort = listing.Sort.parse(request.args.get("sort"), wf.fields, wf.label)
    return transfer.csv_download(wf, filters, sort)


@bp.post("/v1/entities/import")
@requires("operate")
def import_entities():
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("Send the file as multipart/form-data.",
                           {"file": "Send the CSV as the multipart field 'file'."})
    unknown = sorted({*request.form, *request.files} - FIELDS)
    if unknown:
        raise InvalidInput("Unknown fields.", {k[:80]: "not accepted here" for k in unknown})
    req = transfer.import_request(request.form, manager().workflows.all(db.session))
    raw, name = transfer.uploaded()
    result = transfer.run_import(importing.ImportRequest(
        req.entity_type, req.key, req.dry_run, req.rollback_on_error, name), raw)
    return jsonify(result.to_dict())


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, ok, query

    result = {"type": "object", "description": "The bulk result; failed items are row numbers "
              "(the header is row 1), with created, updated and unchanged counts."}
    return {
        "/entities/export.csv": {"get": {
            "summary": "Every matching entity of a type as CSV (the list's filters and sort)",
            "parameters": [query("type", {"type": "string"}, "the type (default: the first)"),
                           query("status", {"type": "string"}), query("q", {"type": "string"}),
                           query("parent_id", {"type": "integer"}),
                           query("sort", {"type": "string"}, "id, name, status, "
                                 "last_activity_at or data.<filterable field>; - for descending")],
            "responses": {"200": {"description": "CSV: the fixed columns, then one per field",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **ERRORS}}},
        "/entities/import": {"post": {
            "summary": "Create or update entities from a CSV file",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file", "type"], "additionalProperties": False,
                "properties": {
                    "file": {"type": "string", "format": "binary",
                             "description": f"UTF-8 CSV, at most {importing_sheet.ROW_LIMIT:,} "
                                            "rows"},
                    "type": {"type": "string"},
                    "key": {"type": "string", "description": "id or a unique field"},
                    "dry_run": {"type": "boolean"},
                    "rollback_on_error": {"type": "boolean", "default": True}}}}}},
            "responses": {"200": ok(result), **ERRORS}}},
    }


OPENAPI_PATHS = _openapi_paths()
