"""Error pages for people and the contract's JSON errors for programs."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.core.base.errors import PermissionDenied, StatekeeperError
from webapp.extensions import db

CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 414: "uri_too_long",
         415: "invalid_input",
         429: "rate_limited", 500: "internal_error"}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"error": CODES.get(status, "error"), "message": message, **extra})
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(StatekeeperError, _core_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _core_error(err: StatekeeperError) -> Any:
    db.session.rollback()
    if isinstance(err, PermissionDenied):
        from webapp.web_context import record_denial

        record_denial(f"{request.method} {request.path}: {err.message}")
    if wants_json():
        response = jsonify(err.to_dict())
        response.status_code = err.status
        return response
    return render_template("errors/error.html", status=err.status, message=err.message), err.status


def _csrf_error(err: CSRFError) -> Any:
    message = "The form expired or was not sent from this site. Reload the page and try again."
    if wants_json():
        return json_error(400, message, fields={"csrf_token": err.description})
    return render_template("errors/error.html", status=400, message=message), 400


def _http_error(err: HTTPException) -> Any:
    status = err.code or 500
    if status == 401 and not wants_json():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if wants_json():
        response = json_error(status, err.description or "")
    else:
        response = Response(render_template("errors/error.html", status=status,
                                            message=err.description), status)
    for key, value in (err.get_response().headers or {}).items():
        if key.lower() in ("retry-after", "allow") or key.lower().startswith("x-ratelimit"):
            response.headers[key] = value
    return response


def _unexpected(err: Exception) -> Any:
    from flask import current_app

    db.session.rollback()
    current_app.logger.exception("unhandled error")
    if current_app.config.get("PROPAGATE_EXCEPTIONS") and current_app.testing:
        raise err
    if wants_json():
        return json_error(500, "Something went wrong on our side; it has been logged.")
    return render_template("errors/error.html", status=500,
                           message="Something went wrong on our side; it has been logged."), 500
