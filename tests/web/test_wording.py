"""Templates say identifiers and counts through the one wording helper (Jinja filters)."""
from __future__ import annotations


def render(app, source: str, **context) -> str:
    with app.app_context():
        return app.jinja_env.from_string(source).render(**context)


def test_templates_say_a_state_as_words(app):
    assert render(app, "{{ state|label }}", state="under_contract") == "under contract"


def test_templates_count_with_the_right_noun(app):
    source = '{{ n|plural("property") }}; {{ "entry"|pluralize(n) }}'

    assert render(app, source, n=1) == "1 property; entry"
    assert render(app, source, n=1200) == "1,200 properties; entries"


def test_a_role_is_shown_in_words_in_the_header_and_on_a_refusal(login_as):
    editor = login_as("config_editor")

    refused = editor.get("/users/")

    assert refused.status_code == 403
    assert '<span class="badge role-config_editor" title="Your role">config editor</span>' \
        in refused.text
    assert "Your role (config editor) may not do this" in refused.text
