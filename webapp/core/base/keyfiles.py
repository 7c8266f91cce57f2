"""Key files kept beside the database (instance/secret_key, instance/data_key): mode 600,
never seen half-written by another process."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_once(path: Path, text: str) -> None:
    """Make ``path`` (mode 600) holding ``text`` unless another process got there first: the
    text goes to a private file that is then linked into place, so nobody reads half a key
    (a process that loses the race reads the winner's complete one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = _private_draft(path, text)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def replace(path: Path, text: str) -> None:
    """Rewrite ``path`` (mode 600) in one step: readers see the old text or the new one."""
    os.replace(_private_draft(path, text), path)


def _private_draft(path: Path, text: str) -> Path:
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return draft
