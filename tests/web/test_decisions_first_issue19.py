"""Issue 19: the decision comes before the details. A large bulk preview shows its totals, the
limit and Run / Cancel above its item table (it sat under 200 rows, 7,100 px down); the 2,700 px
settings form has its buttons at its top, kept in view, and a refused save lists what to fix
there, each item linking to its input."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import PASSWORD, make_user
from tests.helpers import login
from tests.web.test_bulk_pages import HTMX, SEEDER, _many, _preview
from tests.web.test_settings import post_form
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.core.settings.store import REGISTRY
from webapp.core.workflows import packs
from webapp.extensions import db

CSS = Path(__file__).resolve().parents[2] / "static" / "css"


@pytest.fixture
def app(make_app):
    return make_app(BULK_JOB_THRESHOLD=30, BULK_JOB_CHUNK=10)


@pytest.fixture
def sm(app, clock):
    StateManager.reset_instance()
    manager = StateManager.get_instance()
    manager.clock = clock
    with app.app_context(), write_transaction(db.session):
        packs.install_packs(db.session, manager.workflows, SEEDER, clock())
    yield manager
    StateManager.reset_instance()


@pytest.fixture
def support(app, sm):
    with app.app_context():
        name = make_user(db.session, role="support").username
    browser = app.test_client()
    assert login(browser, name, PASSWORD).status_code == 302
    return browser


def _at(html: str, needle: str) -> int:
    assert needle in html, needle
    return html.index(needle)


def test_a_large_preview_puts_totals_limit_run_and_cancel_above_the_item_table(app, support):
    ids = _many(app, 45)

    page = _preview(support, ids, rollback_on_error=None).text

    table = _at(page, "<table")
    assert _at(page, "would change") < table
    assert _at(page, 'action="/bulk/run"') < table
    assert _at(page, "Start background job for 45 entities") < table
    assert _at(page, ">Cancel</a>") < table
    assert _at(page, "At most 1,000 properties may be changed at once "
                     "(setting <code>property_bulk_operation_max</code>)") < table
    assert _at(page, "Item by item") < table


def test_the_preview_answered_to_htmx_has_the_same_order(app, support):
    ids = _many(app, 12)
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      support.get(f"/bulk/new?ids={','.join(map(str, ids))}").text).group(1)

    page = support.post("/bulk/preview", headers=HTMX, data={
        "csrf_token": token, "ids": ",".join(map(str, ids)), "action": "transition",
        "target_state": "reserved"}).text

    assert _at(page, 'action="/bulk/run"') < _at(page, "<table")
    assert "Run: change 12 entities" in page


def test_an_undo_preview_puts_its_button_above_the_item_table(app, sm, support):
    ids = _many(app, 8)
    with app.app_context():
        result = bulk.run(db.session, sm, SEEDER, BulkRequest(
            "transition", tuple(ids), target_state="reserved"), cid := "undo-order-test")
    assert result.successful_items == 8

    page = support.get(f"/bulk/{cid}/undo", headers=HTMX).text

    table = _at(page, "<table")
    assert _at(page, "Undo 8 changes") < table and _at(page, ">Cancel</a>") < table


# ------------------------------------------------------------------------------- settings


def _whole_numbers(n: int) -> list[str]:
    return [key for key, s in REGISTRY.items() if s.type is int][:n]


def test_the_settings_buttons_come_first_and_stay_in_view(login_as):
    page = login_as("config_editor").get("/settings/").text

    first_group = _at(page, "<fieldset")
    assert _at(page, ">Save settings</button>") < first_group
    assert _at(page, ">Preview impact</button>") < first_group
    assert page.count(">Save settings</button>") == 1
    rule = re.search(r"\.settings-actions \{[^}]*\}", (CSS / "decisions.css").read_text()).group(0)
    assert "position: sticky" in rule and "top: 0" in rule
    assert '@import url("decisions.css")' in (CSS / "app.css").read_text()


def test_a_refused_save_lists_each_bad_setting_at_the_top_linking_to_its_input(login_as):
    editor = login_as("config_editor")
    first, second = _whole_numbers(2)

    page = post_form(editor, "/settings/", **{first: "lots", second: "-99999999"})

    assert page.status_code == 400
    summary = re.search(r'<div id="settings-error-summary".*?</div>', page.text, re.DOTALL).group(0)
    assert _at(page.text, 'id="settings-error-summary"') < _at(page.text, "<fieldset")
    assert "2 settings to fix before saving" in summary
    assert f'href="#{first}"' in summary and f'href="#{second}"' in summary
    assert f'id="{first}"' in page.text and f'id="{second}"' in page.text  # the links' targets
    assert 'role="alert"' in summary and "autofocus" in summary


def test_inline_validation_keeps_the_summary_current_without_taking_focus(login_as):
    editor = login_as("config_editor")
    key = _whole_numbers(1)[0]

    refused = post_form(editor, "/settings/validate", headers=HTMX, **{key: "lots"}).text
    fixed = post_form(editor, "/settings/validate", headers=HTMX).text

    summary = re.search(r'<div id="settings-error-summary"[^>]*>', refused).group(0)
    assert 'hx-swap-oob="true"' in summary and "autofocus" not in summary
    assert 'role="alert"' not in summary  # the field's own message is announced; not twice
    assert f'href="#{key}"' in refused and "1 setting to fix before saving" in refused
    assert re.search(r'<div id="settings-error-summary"[^>]*\bhidden\b', fixed)


def test_a_page_without_errors_has_an_empty_hidden_summary(login_as):
    page = login_as("admin").get("/settings/").text

    assert re.search(r'<div id="settings-error-summary"[^>]*\bhidden\b', page)
    assert "to fix before saving" not in page
