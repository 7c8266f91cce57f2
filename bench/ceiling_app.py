"""The ceiling for the list-page load benchmark (bench/list_load.py): plain Flask, one route.

    CEILING_DATABASE=/path/bench.db gunicorn -c gunicorn.conf.py bench.ceiling_app:app
    CEILING_DATABASE=postgresql://user@host:port/db gunicorn ...   # the same on PostgreSQL

``GET /?type=property&status=pending`` answers the 50 newest entities of that type and status
with their parents' names, read by ONE SQL query through the plain driver (stdlib ``sqlite3``,
or ``psycopg`` in autocommit; one connection per thread) and rendered by a small Jinja table:
what the entity list page shows in its table, with nothing else (no session, sign-in, layout,
filters form, count or pager). It only reads the database.
"""
from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, request

DATABASE = os.environ.get("CEILING_DATABASE", "")
POSTGRES = DATABASE.startswith("postgresql")
ROWS = """
SELECT e.id, e.name, e.status, e.last_activity_at, e.parent_id, p.name
FROM entities e LEFT JOIN entities p ON p.id = e.parent_id
WHERE e.type = ? AND e.status = ?
ORDER BY e.id DESC LIMIT 50
"""
if POSTGRES:
    # Asked for whole rows newest first, PostgreSQL walks the primary key and drops the other
    # types' rows (137 ms at 1,000,000, the demo data allocating ids type by type); the page's
    # ids first, off the (type, status, id) index, then their rows: 1.5 ms. The timestamps as
    # text read as SQLite's stored ones do.
    ROWS = """
SELECT e.id, e.name, e.status, e.last_activity_at::text, e.parent_id, p.name
FROM (SELECT id FROM entities WHERE type = %s AND status = %s ORDER BY id DESC LIMIT 50) page
JOIN entities e ON e.id = page.id LEFT JOIN entities p ON p.id = e.parent_id
ORDER BY e.id DESC
"""

TABLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ type }}</title></head><body>
<table>
<thead><tr><th>ID</th><th>Name</th><th>Status</th><th>Last activity</th><th>Parent</th></tr></thead>
<tbody>
{% for id, name, status, last_activity, parent_id, parent in rows %}
<tr><td class="num">{{ id }}</td><td><a href="/entities/{{ id }}">{{ name }}</a></td>
<td>{{ status }}</td><td><time datetime="{{ last_activity }}">{{ last_activity[:10] }}</time></td>
<td>{% if parent_id %}<a href="/entities/{{ parent_id }}">{{ parent }}</a>{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
</body></html>
"""

app = Flask(__name__)
_table = app.jinja_env.from_string(TABLE)  # compiled once, as Flask does for template files
_local = threading.local()


def connection():
    """This thread's connection, opened once (gunicorn's gthread workers reuse threads)."""
    if not hasattr(_local, "db"):
        if POSTGRES:
            import psycopg

            _local.db = psycopg.connect(DATABASE, autocommit=True)
        else:
            _local.db = sqlite3.connect(DATABASE, check_same_thread=False)
    return _local.db


@app.get("/")
def rows():
    found = connection().execute(ROWS, (request.args.get("type", "property"),
                                        request.args.get("status", "pending"))).fetchall()
    return _table.render(rows=found, type=request.args.get("type", "property"))


@app.get("/healthz")
def healthz():
    return "ok"
