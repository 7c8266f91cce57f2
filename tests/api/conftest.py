"""Fixtures for the JSON API tests over declared fields: the app with the built-in packs, on
SQLite and then on PostgreSQL (``server``), and calls to it as a support user with a token
(``api``). A test module with fixtures of these names of its own uses those instead."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.factories import load_packs, make_token, make_user
from webapp.extensions import db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request) -> Flask:
    """The app with the built-in packs, on SQLite and then on PostgreSQL."""
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context():
        load_packs(db.session)
    return app


@pytest.fixture
def api(server) -> Callable[..., Any]:
    """``api("POST", "/entities", {...})`` as a support user with a token: ``payload`` goes
    as JSON, ``raw`` as a JSON body typed by hand, and ``file`` (the form's other fields as
    keywords) as a multipart upload named upload.csv."""
    with server.app_context():
        token = make_token(db.session, make_user(db.session, role="support"))
    client = server.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, payload: Any = None, *, raw: str | None = None,
             file: str | bytes | None = None, **form: Any):
        url = f"/api/v1{path}"
        if raw is not None:
            return client.open(url, method=method, data=raw, headers=headers,
                               content_type="application/json")
        if file is None:
            return client.open(url, method=method, json=payload, headers=headers)
        body = file.encode() if isinstance(file, str) else file
        # Encoded in memory: the test client would spool a body over 500 KB to a temporary
        # file it never closes (a ResourceWarning in whichever test runs next).
        upload = FileStorage(io.BytesIO(body), "upload.csv", content_type="text/csv")
        boundary, data = encode_multipart(MultiDict({"file": upload, **form}))
        return client.open(url, method=method, headers=headers, data=data,
                           content_type=f"multipart/form-data; boundary={boundary}")

    return call
