"""The architecture of DESIGN.md, checked: the core never imports Flask."""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "webapp" / "core"


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module the file imports (anywhere in it)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_core_has_modules_to_check():
    assert list(CORE.rglob("*.py"))


def test_no_core_module_imports_flask():
    offenders = {
        str(path.relative_to(CORE)): sorted(n for n in imported_modules(path)
                                            if n == "flask" or n.startswith("flask_"))
        for path in sorted(CORE.rglob("*.py"))
    }

    assert {path: names for path, names in offenders.items() if names} == {}
