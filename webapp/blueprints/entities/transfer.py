"""CSV in and out of a type (CONTRACT §7): the list's export, and the import page (upload,
preview of what each row would do, then Apply). The file's form is core/bulk/importing_sheet.

The previewed file is kept for the Apply in the instance folder (``imports/``), named by the
user and a random token and removed once applied or after ``KEPT_SECONDS``: a browser cannot
send a chosen file a second time by itself.
"""
from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request
from flask_login import current_user
from sqlalchemy.orm import Session

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.common import manager, workflows
from webapp.blueprints.entities.lists import parse_list
from webapp.blueprints.entities.names import Names
from webapp.core.base import csvfile
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import importing
from webapp.core.bulk import importing_sheet as sheets
from webapp.core.lists import listing
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.models import Entity
from webapp.permissions import requires
from webapp.sensitive import DataView, data_view
from webapp.web_context import current_actor

KEPT_SECONDS = 3600
_TOKEN_CHARS = frozenset("0123456789abcdef")


# ------------------------------------------------------------------------------ export


@bp.get("/export.csv")
@requires("view")
def export():
    view = parse_list(request.args, workflows())
    if view.errors:
        raise InvalidInput("The filter is not valid.", view.errors)
    return csv_download(view.workflow, view.filters, view.sort)


def csv_download(wf: Workflow, filters: listing.Filters, sort: listing.Sort) -> Response:
    """Every matching entity as a streamed CSV file (read in keyset batches: flat memory).

    The stream reads through a session of its own, closed when the stream ends or is dropped:
    it holds no request context, so a client that stops reading leaves nothing behind."""
    shown, vocabulary = data_view(), manager().vocabulary
    session = Session(db.engine)

    def lines() -> Iterator[str]:
        try:
            rows = listing.iterate(session, vocabulary, filters, sort)
            yield from csvfile.lines(csv_rows(wf, rows, shown))
        finally:
            session.close()
    filename = f"{wf.entity_type}-entities.csv"
    return Response(lines(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_rows(wf: Workflow, rows: Iterable[Entity], shown: DataView) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per entity; sensitive fields as ``shown`` (the reader's
    view: masked for roles that may not read them)."""
    yield sheets.columns(wf)
    for e in rows:
        yield sheets.export_row(e, shown.data(e.type, e.data), wf)


# ------------------------------------------------------------------------------ import


def import_request(form: Any, known: dict[str, Workflow]) -> importing.ImportRequest:
    """The import's choices from a form (the page's or the API's multipart body)."""
    entity_type = (form.get("type") or "").strip()
    if entity_type not in known:
        raise InvalidInput("Say which type the file holds.",
                           {"type": f"Choose one of: {', '.join(known)}."})
    key = (form.get("key") or "").strip() or None
    if key is not None and key not in sheets.key_choices(known[entity_type]):
        raise InvalidInput(f"{key!r} cannot identify rows of {known[entity_type].label.lower()}.",
                           {"key": f"Choose one of: {', '.join(sheets.key_choices(known[entity_type]))}."})
    return importing.ImportRequest(entity_type, key, flag(form, "dry_run", False),
                                   flag(form, "rollback_on_error", True))


def flag(form: Any, name: str, default: bool) -> bool:
    raw = (form.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false", "1", "0", "on", "off"):
        raise InvalidInput(f"{name} must be true or false.", {name: "Send true or false."})
    return raw in ("true", "1", "on")


def uploaded() -> tuple[bytes, str | None]:
    """The ``file`` sent, at most the core's size limit (read no further)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("Choose a CSV file to import.", {"file": "Choose a CSV file."})
    raw = upload.stream.read(sheets.SIZE_LIMIT + 1)
    return raw, upload.filename[:200]


def run_import(req: importing.ImportRequest, raw: bytes) -> importing.ImportResult:
    names = Names(db.session, manager().vocabulary)
    return importing.run(db.session, manager(), current_actor(), req, raw, str(uuid.uuid4()),
                         parent_of=names.entity_id)


@bp.get("/import")
@requires("operate")
def import_page():
    known = workflows()
    entity_type = request.args.get("type") or next(iter(known), "")
    if entity_type not in known:
        raise InvalidInput(f"Unknown entity type {entity_type!r}.",
                           {"type": f"Choose one of: {', '.join(known)}."})
    return _page(known[entity_type], {"key": "id", "rollback_on_error": True})


@bp.post("/import")
@requires("operate")
def import_file():
    known = workflows()
    wf = known.get(request.form.get("type") or "")
    if wf is None:
        raise InvalidInput("Say which type the file holds.", {"type": "Choose a type."})
    form = {"key": request.form.get("key") or "",
            "rollback_on_error": flag(request.form, "rollback_on_error", False)}
    try:
        req = import_request(dict(request.form.items()), known)
        token = request.form.get("token") or ""
        if token:  # Apply: the file previewed
            raw, name = _kept(token), request.form.get("filename") or None
        else:
            raw, name = uploaded()
        req = importing.ImportRequest(req.entity_type, req.key, dry_run=not token,
                                      rollback_on_error=form["rollback_on_error"], filename=name)
        result = run_import(req, raw)
    except InvalidInput as err:
        return _page(wf, form, errors=err.fields or {"file": err.message},
                     message=err.message), 400
    if token:
        _forget(token)
        return _page(wf, form, result=result)
    return _page(wf, form, result=result, token=_keep(raw), filename=name)


def _page(wf: Workflow, form: dict[str, Any], **context: Any) -> str:
    return render_template("entities/import.html", wf=wf, form=form,
                           keys=sheets.key_choices(wf), columns=sheets.columns(wf),
                           limits=(sheets.SIZE_LIMIT, sheets.ROW_LIMIT),
                           **{"errors": {}, "message": None, "result": None, "token": None,
                              "filename": None, **context})


# ----------------------------------------------------------------- the previewed file


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(token: str) -> Path:
    if len(token) != 32 or not set(token) <= _TOKEN_CHARS:
        raise InvalidInput("That preview is not known.", {"file": "Choose the file again."})
    return _folder() / f"{current_user.get_id()}-{token}.csv"


def _keep(raw: bytes) -> str:
    """Keep a previewed file for its Apply; files left over an hour are removed."""
    folder, cutoff = _folder(), time.time() - KEPT_SECONDS
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    _path(token).write_bytes(raw)
    return token


def _kept(token: str) -> bytes:
    path = _path(token)
    if not path.exists():
        raise InvalidInput("That preview has expired or was applied already.",
                           {"file": "Choose the file again and preview it."})
    return path.read_bytes()


def _forget(token: str) -> None:
    _path(token).unlink(missing_ok=True)
