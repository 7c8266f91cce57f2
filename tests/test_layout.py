"""The architecture of DESIGN.md, checked: the core never imports Flask, and its feature
packages import only the packages below them (docs/architecture.md draws the same map)."""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "webapp" / "core"

#: Each core package and the core packages it may import (besides itself).
ALLOWED = {
    "base": set(),
    "audit": {"base"},
    "users": {"base", "audit"},
    "settings": {"base", "audit"},
    "fields": {"base"},
    "workflows": {"base", "audit", "settings", "fields"},
    "lists": {"base", "settings", "fields", "workflows"},
    "changes": {"base", "audit", "settings", "fields", "workflows", "lists"},
    "bulk": {"base", "audit", "settings", "fields", "workflows", "lists", "changes"},
    "sweeps": {"base", "audit", "settings", "fields", "workflows", "lists", "changes", "bulk"},
    "demo": {"base", "audit", "settings", "fields", "workflows", "lists", "changes"},
    "approvals": {"base", "audit", "settings", "fields", "workflows", "lists", "changes", "bulk"},
    "events": {"base", "audit", "settings", "fields", "workflows", "lists", "changes", "sweeps",
               "approvals", "timing"},
    "timing": {"base", "audit", "settings", "fields", "workflows", "lists", "changes", "bulk",
               "approvals"},
    "reports": {"base", "settings", "fields", "workflows", "lists"},
    "publishing": {"base", "audit", "settings", "fields", "workflows", "lists", "changes", "bulk"},
}


def imported_modules(path: Path) -> set[str]:
    """Full dotted names of every module the file imports (anywhere in it)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def core_package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["webapp", "core"] and len(parts) > 2 else None


def test_the_core_has_modules_to_check():
    assert list(CORE.rglob("*.py"))


def test_no_core_module_imports_flask():
    offenders = {
        str(path.relative_to(CORE)): sorted(n for n in imported_modules(path)
                                            if n.split(".")[0] == "flask"
                                            or n.split(".")[0].startswith("flask_"))
        for path in sorted(CORE.rglob("*.py"))
    }

    assert {path: names for path, names in offenders.items() if names} == {}


def test_every_core_module_sits_in_a_known_feature_package():
    loose = [p.name for p in CORE.glob("*.py") if p.name != "__init__.py"]
    packages = {p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__"}

    assert loose == []
    assert packages == set(ALLOWED)


def test_each_package_says_what_it_owns_and_may_import():
    for package in ALLOWED:
        doc = ast.get_docstring(ast.parse((CORE / package / "__init__.py").read_text())) or ""
        assert "May import:" in doc, package


def test_core_packages_import_only_the_packages_below_them():
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        package = path.relative_to(CORE).parts[0]
        if package not in ALLOWED:
            continue
        used = {core_package_of(m) for m in imported_modules(path)} - {None, package}
        if used - ALLOWED[package]:
            offenders[str(path.relative_to(CORE))] = sorted(used - ALLOWED[package])

    assert offenders == {}


def test_the_layout_check_catches_an_upward_import(tmp_path):
    upward = tmp_path / "m.py"
    upward.write_text("from webapp.core.bulk import operations\n")

    used = {core_package_of(m) for m in imported_modules(upward)} - {None}
    assert used - ALLOWED["workflows"] == {"bulk"}
