"""Webhook subscriptions, a test send, the delivery log and what each delivery sent: admins
only (URLs, secrets and payloads are sensitive). Receivers must be public addresses unless
the deployment allows private ones (config WEBHOOK_ALLOW_PRIVATE)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from webapp.blueprints.events import bp
from webapp.core.base.errors import InvalidInput
from webapp.core.events import webhooks
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.models import WebhookDelivery
from webapp.permissions import requires
from webapp.web_context import current_actor, now

#: Webhooks belong to whoever manages users and tokens (CONTRACT.md §4: admins).
ADMIN = "manage_users"
STATES = ("pending", "delivered", "dead")
PAGE = 50


@bp.get("/webhooks")
@requires(ADMIN)
def webhooks_index():
    return _webhooks_page()


def _webhooks_page(status: int = 200, **extra):
    context = {"subscriptions": webhooks.subscriptions(db.session),
               "event_types": webhooks.EVENT_TYPES, "errors": {}, "form": {}, **extra}
    return render_template("events/webhooks.html", **context), status


@bp.post("/webhooks")
@requires(ADMIN)
def create_webhook():
    url, types = request.form.get("url", ""), request.form.getlist("event_types")
    try:
        sub, secret = webhooks.create_subscription(db.session, current_actor(), url, types, now(),
                                                   _allow_private())
    except InvalidInput as err:
        return _webhooks_page(400, errors=err.fields, form={"url": url, "event_types": types})
    # The secret is shown once, on this page, never in a (readable) session cookie.
    return _webhooks_page(201, created=sub, secret=secret)


@bp.post("/webhooks/<int:sub_id>/test")
@requires(ADMIN)
def test_webhook(sub_id: int):
    """Send a signed test event now and show the answer with exactly what was sent."""
    sent = webhooks.send_test(db.session, current_actor(), sub_id, now(), _allow_private())
    if is_htmx():
        return render_template("events/_test_result.html", sent=sent)
    return _webhooks_page(tested=sent)


def _allow_private() -> bool:
    return current_app.config["WEBHOOK_ALLOW_PRIVATE"]


@bp.post("/webhooks/<int:sub_id>/active")
@requires(ADMIN)
def toggle_webhook(sub_id: int):
    active = request.form.get("active") == "1"
    sub = webhooks.set_active(db.session, current_actor(), sub_id, active, now())
    flash(f"Webhook to {sub.url} {'enabled' if active else 'disabled'}.", "success")
    return redirect(url_for("events.webhooks_index"))


@bp.post("/webhooks/<int:sub_id>/delete")
@requires(ADMIN)
def delete_webhook(sub_id: int):
    webhooks.delete_subscription(db.session, current_actor(), sub_id, now())
    flash("Webhook deleted, with its delivery log.", "success")
    return redirect(url_for("events.webhooks_index"))


@bp.get("/deliveries")
@requires(ADMIN)
def deliveries():
    state = request.args.get("state") or None
    if state not in (None, *STATES):
        raise InvalidInput("Unknown delivery state.", {"state": f"one of {', '.join(STATES)}"})
    before = request.args.get("before", "")
    rows = webhooks.deliveries(db.session, state, int(before) if before.isdigit() else None, PAGE + 1)
    older = rows[PAGE - 1][0].id if len(rows) > PAGE else None
    return render_template("events/deliveries.html", rows=rows[:PAGE], state=state, older=older,
                           states=STATES)


@bp.get("/deliveries/<int:delivery_id>")
@requires(ADMIN)
def delivery(delivery_id: int):
    """One delivery and the request it sends: the exact body and headers."""
    found, sent = webhooks.sent_request(db.session, delivery_id)
    return render_template("events/delivery.html", d=found, sent=sent)


@bp.post("/deliveries/<int:delivery_id>/retry")
@requires(ADMIN)
def retry_delivery(delivery_id: int):
    delivery = webhooks.retry(db.session, current_actor(), delivery_id, now())
    if is_htmx():
        return render_template("events/_delivery_row.html", row=_row(delivery), state=None)
    flash(f"Delivery {delivery_id} will be sent again shortly.", "success")
    return redirect(url_for("events.deliveries", state=request.args.get("state") or None))


def _row(delivery: WebhookDelivery) -> tuple:
    return next(r for r in webhooks.deliveries(db.session, before_id=delivery.id + 1, limit=1))
