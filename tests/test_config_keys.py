"""Every key the code reads from ``app.config`` is declared, with a ``#:`` comment, on Config
(config.py): one place says what can be configured and what it means."""
from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from config import Config, TestConfig

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((ROOT / "webapp").rglob("*.py")), ROOT / "wsgi.py"]


def looks_like_config(node: ast.expr) -> bool:
    """``app.config``, ``current_app.config``, ``self.app.config``, or a local alias of one."""
    return ((isinstance(node, ast.Attribute) and node.attr == "config")
            or (isinstance(node, ast.Name) and node.id in {"config", "cfg"}))


def keys_read(source: str) -> set[str]:
    """The constant keys read as ``config["KEY"]`` or ``config.get("KEY", ...)``."""
    keys = set()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get" and looks_like_config(node.func.value)
                and node.args and isinstance(node.args[0], ast.Constant)):
            keys.add(node.args[0].value)
        elif (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
              and looks_like_config(node.value) and isinstance(node.slice, ast.Constant)):
            keys.add(node.slice.value)
    return keys


def commented_keys() -> set[str]:
    """Keys assigned in Config's body under a ``#:`` comment (which may run over lines)."""
    lines = (ROOT / "config.py").read_text().splitlines()
    [config] = [n for n in ast.parse("\n".join(lines)).body
                if isinstance(n, ast.ClassDef) and n.name == "Config"]
    commented = set()
    for node in config.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        above = node.lineno - 2
        while lines[above].strip().startswith("#") and not lines[above].strip().startswith("#:"):
            above -= 1
        if lines[above].strip().startswith("#:"):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            commented.update(t.id for t in targets if isinstance(t, ast.Name))
    return commented


READ = set().union(*(keys_read(path.read_text()) for path in SOURCES))
OWN = READ - set(Flask.default_config)  # Flask declares its own keys (PROPAGATE_EXCEPTIONS)


def test_the_check_finds_the_keys_the_code_reads():
    assert {"CLOCK", "LOGIN_RATE_LIMIT", "BULK_JOB_CHUNK", "REDIS_URL"} <= READ
    assert keys_read('n = current_app.config.get("X", 1) + cfg["Y"]\napp.config["Z"] = 2') \
        == {"X", "Y"}


def test_every_key_the_code_reads_is_declared_on_config():
    assert sorted(k for k in OWN if not hasattr(Config, k)) == []


def test_every_key_the_code_reads_says_what_it_is_for():
    assert sorted(OWN - commented_keys()) == []


def test_the_default_clock_tells_aware_utc_time():
    now = Config().CLOCK()
    assert now.utcoffset() is not None and now.utcoffset().total_seconds() == 0
    assert TestConfig().CLOCK is Config.CLOCK
