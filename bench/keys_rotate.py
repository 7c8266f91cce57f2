"""`keys rotate` at scale: every sealed value of N entities re-encrypted under a new key.

Seeds (raw driver, not timed) N entities that each hold one sensitive value sealed under the
old key, each with a creation history row holding the same token (the worst case: every
entity of the demo's types with sensitive fields, and their history, must be rewritten). Then,
in a child process of its own so that its peak memory is the rotation's alone, runs
``rotation.reseal_all`` with the new key current, in chunks of ``rotation.CHUNK``, and reports
the time, the rows rewritten and the peak resident memory, then checks that nothing uses
the old key any more.
Run with ``python -m bench.keys_rotate [--entities N] [--postgres]``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine

ENTITIES = 1_000_000
SEED_CHUNK = 20_000


def seed(url: str, total: int, old_key: str) -> None:
    from webapp.core.fields.secrets import Keyring
    from webapp.models import Base
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    keyring = Keyring([old_key])
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    born = "2025-01-01 00:00:00.000000" if sqlite else datetime(2025, 1, 1)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for start in range(1, total + 1, SEED_CHUNK):
            ids = range(start, min(start + SEED_CHUNK, total + 1))
            tokens = {i: keyring.seal_value(f"+1 555 {i:07d}") for i in ids}
            if sqlite:
                cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO entities (id, type, name, status, version, data, last_activity_at, "
                f"status_changed_at, created_at, updated_at) VALUES "
                f"({mark}, 'sales_rep', {mark}, 'active', 1, {mark}, {mark}, {mark}, {mark}, {mark})",
                [(i, f"rep {i}", json.dumps({"phone": tokens[i], "email": f"rep{i}@example.com"}),
                  born, born, born, born) for i in ids])
            cursor.executemany(
                f"INSERT INTO status_changes (entity_id, new_status, action, actor, source, "
                f"correlation_id, metadata, created_at) VALUES "
                f"({mark}, 'active', 'create', 'seed', 'import', 'seed', {mark}, {mark})",
                [(i, json.dumps({"data": {"before": {}, "after": {"phone": tokens[i]}}}), born)
                 for i in ids])
            raw.commit()
        if not sqlite:
            cursor.execute("SELECT setval(pg_get_serial_sequence('entities', 'id'), %s)", (total,))
            raw.commit()
            raw.autocommit = True
            cursor.execute("ANALYZE")
    finally:
        raw.close()
        engine.dispose()


def measure(url: str, keys: str) -> dict[str, object]:
    """Runs in the child: the rotation alone, timed, with its peak memory."""
    from sqlalchemy.orm import Session

    from webapp.core.fields import rotation
    from webapp.core.fields.secrets import Keyring
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    keyring = Keyring(keys.split(","))
    chunks = []
    with Session(engine) as session:
        started = time.perf_counter()
        total = rotation.reseal_all(session, keyring, lambda: datetime.now(UTC),
                                    on_chunk=chunks.append)
        seconds = time.perf_counter() - started
        left = rotation.still_using(session, keyring.old_ids)
    engine.dispose()
    return {"seconds": seconds, "chunks": len(chunks), "rows": total.rows,
            "history_rows": total.history_rows, "values": total.values,
            "left": sum(left.values()),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keys_rotate")
    parser.add_argument("--entities", type=int, default=ENTITIES)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--measure", nargs=2, metavar=("URL", "KEYS"), help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    from webapp.core.fields.secrets import new_key

    old, new = new_key(), new_key()
    with tempfile.TemporaryDirectory() as tmp:
        url = _database(args.postgres, Path(tmp))
        started = time.perf_counter()
        seed(url, args.entities, old)
        print(f"seeded {args.entities:,} entities in {time.perf_counter() - started:.0f} s")
        child = subprocess.run([sys.executable, "-m", "bench.keys_rotate", "--measure", url,
                                f"{new},{old}"], check=True, capture_output=True, text=True)
        result = json.loads(child.stdout)
    print(f"keys rotate: {result['values']:,} values in {result['rows']:,} entities and "
          f"{result['history_rows']:,} history rows, {result['chunks']:,} chunks, "
          f"{result['seconds']:.1f} s ({result['values'] / result['seconds']:,.0f} values/s), "
          f"peak memory {result['peak_mb']:.0f} MB; rows still on the old key: {result['left']}")
    return 0 if result["left"] == 0 else 1


def _database(postgres: bool, tmp: Path) -> str:
    if not postgres:
        return f"sqlite:///{tmp / 'rotate.db'}"
    from tests import services

    server = services.start_postgres()
    return server.create_database("rotate")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
