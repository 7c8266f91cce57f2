"""Plumbing kept in one place each (DESIGN.md): HX-* headers only in webapp/htmx.py, no unused
HTMX extension, and identifiers said as words only through webapp/core/base/words.py."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB_SOURCES = sorted((ROOT / "webapp").rglob("*.py"))
#: ``x.replace("_", " ")`` in Python, ``x|replace('_', ' ')`` in a template.
AD_HOC_LABEL = re.compile(r"""replace\(\s*(['"])_\1\s*,\s*(['"]) \2\s*\)""")
#: Core modules other engineers are editing while this was written: their messages still say
#: identifiers by hand (each is listed with its replacement in the change's report).
NOT_YET: set[str] = set()


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_only_the_htmx_module_reads_or_sets_hx_headers():
    assert [relative(p) for p in WEB_SOURCES if "HX-" in p.read_text()] == ["webapp/htmx.py"]


def test_the_unused_flask_htmx_extension_is_gone():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]

    assert not [d for d in dependencies if d.lower().startswith("flask-htmx")]
    assert [relative(p) for p in WEB_SOURCES if "flask_htmx" in p.read_text()] == []


def test_templates_and_web_code_say_identifiers_through_the_one_wording_helper():
    sources = [*sorted((ROOT / "templates").rglob("*.html")), *WEB_SOURCES]
    offenders = {relative(p) for p in sources if AD_HOC_LABEL.search(p.read_text())}

    assert offenders - NOT_YET == {"webapp/core/base/words.py"}
    assert AD_HOC_LABEL.search("""{{ x|replace('_', ' ') }} y.replace("_", " ")""")
