"""A workflow file's settings through the app (issue 13): `flask workflows import` registers
them, GET/PATCH /api/v1/config serve them, and the sweep reads them; a file whose sweep lacks
them is refused with the reason."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from tests.core.test_declared_settings import SWEPT_GIZMO, gizmo
from tests.factories import make_token, make_user
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.extensions import db


@pytest.fixture(autouse=True)
def fresh_manager(clock) -> Iterator[None]:
    """The process-wide StateManager, new for each test and on the test's clock."""
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


def import_file(app: Flask, tmp_path: Path, doc: dict):
    path = tmp_path / "gadgets.json"
    path.write_text(json.dumps({"pack": "gadgets", "types": doc}))
    return app.test_cli_runner().invoke(args=["workflows", "import", str(path)])


def bearer(app: Flask, role: str) -> dict[str, str]:
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role=role))
    return {"Authorization": f"Bearer {token}"}


def test_an_imported_files_settings_are_served_edited_and_swept_with(app: Flask, tmp_path, clock):
    assert import_file(app, tmp_path, {"gizmo": SWEPT_GIZMO}).output == "Imported: gizmo\n"
    with app.app_context():
        StateManager.get_instance().create_entity(
            db.session, Actor("seeder", "admin"), type="gizmo", name="Dusty",
            last_activity_at=clock() - timedelta(days=12))
    client, headers = app.test_client(), bearer(app, "admin")

    listed = client.get("/api/v1/config", headers=headers).json
    patched = client.patch("/api/v1/config", headers=headers,
                           json={"gizmo_grace_period": 10, "gizmo_warning_period": 5})
    report = client.post("/api/v1/sweeps/run", json={"dry_run": True}, headers=headers).json

    assert listed["gizmo_grace_period"] == {
        "value": 30, "default": 30, "description": "Days without activity before a gizmo rests.",
        "group": "Gizmo settings", "unit": "days", "type": "int", "minimum": 1, "maximum": 365}
    assert listed["builder_grace_period"]["value"] == 90
    assert patched.status_code == 200 and patched.json["gizmo_grace_period"]["value"] == 10
    assert report["problems"] == []
    assert [(i["name"], i["action"]) for i in report["items"]] == [("Dusty", "inactivate")]


def test_a_file_whose_sweep_has_no_settings_is_refused_saying_which(app: Flask, tmp_path):
    result = import_file(app, tmp_path, {"gizmo": gizmo()})

    assert result.exit_code == 1
    assert "The sweep reads setting 'gizmo_grace_period', which is not declared" in result.output
    listed = app.test_client().get("/api/v1/config", headers=bearer(app, "auditor")).json
    assert [key for key in listed if key.startswith("gizmo")] == []
