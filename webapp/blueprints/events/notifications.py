"""The notification feed and the bell in the top bar (everyone signed in)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from webapp.blueprints.events import bp
from webapp.core.base.errors import InvalidInput
from webapp.core.events import notifications
from webapp.core.users.sessions import SessionUser
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.permissions import can, requires

PAGE = 30


@bp.app_context_processor
def _bell() -> dict:
    return {"unread_notifications": _unread}


def _unread(seen_now: int | None = None) -> int:
    """The bell's count (bounded: shown as "99+" beyond that). ``seen_now``: what this request
    marked seen (the signed-in user, a SessionUser, is as the request began)."""
    if not current_user.is_authenticated:
        return 0
    seen = max(current_user.notifications_seen_id, seen_now or 0)
    if isinstance(current_user, SessionUser) and current_user.newest_notification_id <= seen:
        return 0  # nothing newer than what they saw when the request began: no count to run
    return notifications.unread_count(db.session, seen)


@bp.get("/")
@requires("view")
def index():
    before = _before()
    items = notifications.feed(db.session, before, PAGE + 1)
    shown = items[:PAGE]
    links = {n_id: [link for s in about if (link := _link(s))]
             for n_id, about in notifications.subjects(db.session, shown).items()}
    context = {"items": shown, "older": items[PAGE - 1].id if len(items) > PAGE else None,
               "seen_id": current_user.notifications_seen_id, "links": links}
    template = "events/_feed.html" if is_htmx() else "events/index.html"
    return render_template(template, **context)


@bp.get("/bell")
@requires("view")
def bell():
    return render_template("events/_bell.html")


@bp.post("/notifications/seen")
@requires("view")
def mark_seen():
    up_to = request.form.get("up_to", "")
    seen = notifications.mark_seen(db.session, current_user.id,
                                   int(up_to) if up_to.isdigit() else None)
    if is_htmx():
        return render_template("events/_bell.html", seen_now=seen)
    return redirect(url_for("events.index"))


def _link(subject: notifications.Subject) -> tuple[str, str] | None:
    """(words, URL) of a notification's subject; None for a page this user may not open."""
    if subject.kind == "entity":
        return "the entity", url_for("entities.show", entity_id=subject.key)
    if subject.kind == "sweep_run":  # the run's own page: what it did, and its undo
        return f"sweep run #{subject.key}", url_for("sweeps.show_run", run_id=int(subject.key))
    if subject.kind == "bulk" and can("operate"):
        return "the bulk operation", url_for("bulk.show", cid=subject.key)
    return None


def _before() -> int | None:
    value = request.args.get("before", "")
    if value and not value.isdigit():
        raise InvalidInput("before must be a notification id.", {"before": "a whole number"})
    return int(value) if value else None
