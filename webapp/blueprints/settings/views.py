"""Settings pages: everyone may look; admins and config editors may change."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from webapp.blueprints.settings import bp
from webapp.blueprints.settings.forms import groups, settings_form, submitted_values
from webapp.core.base.errors import InvalidInput, StatekeeperError
from webapp.core.base.words import label
from webapp.core.changes.manager import StateManager
from webapp.core.settings import configuration, scheduling
from webapp.core.sweeps import sweep
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import current_actor, now


def store():
    return StateManager.get_instance().settings


def registry():
    """The settings in force: the generic ones and those the workflows declare."""
    return store().registry(db.session)


@bp.get("/")
@requires("view")
def index():
    return index_page(settings_form(registry(), store().all(db.session)))


def index_page(form, **extra) -> str:
    """The settings page: the form, the pending scheduled changes, the recent history."""
    return render_template("settings/index.html", form=form, groups=groups(registry()),
                           history=configuration.history(db.session, limit=50),
                           scheduled=scheduling.listed(db.session),
                           failed=scheduling.recently_failed(db.session),
                           effective_at=request.form.get("effective_at", ""), **extra)


@bp.post("/validate")
@requires("configure")
def validate():
    """Inline validation: the whole form is checked, errors come back in place."""
    form = settings_form(registry(), store().all(db.session), request.form)
    check_form(form)
    return render_template("settings/_errors.html", form=form, groups=groups(registry()))


@bp.post("/")
@requires("configure")
def save():
    form = settings_form(registry(), store().all(db.session), request.form)
    if not check_form(form):
        return index_page(form), 400
    changed = configuration.update(db.session, store(), current_actor(),
                                   submitted_values(form, registry()), now())
    flash(_summary(changed) if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for("settings.index"))


@bp.post("/changes/<int:change_id>/revert")
@requires("configure")
def revert(change_id: int):
    try:
        changed = configuration.revert(db.session, store(), current_actor(), change_id, now())
    except StatekeeperError as err:  # unknown id, or a value no longer allowed: say why
        fields = getattr(err, "fields", None) or {}
        flash(f"Could not revert: {' '.join(fields.values()) or err.message}", "error")
        return redirect(url_for("settings.index"))
    flash(_summary(changed) if changed else "That value is already in force.", "success")
    return redirect(url_for("settings.index"))


def check_form(form) -> bool:
    """Field checks (types, bounds) and then the cross-field checks of the registry."""
    if not form.validate():
        return False
    try:
        store().validate(db.session, submitted_values(form, registry()))
    except InvalidInput as err:
        for key, message in err.fields.items():
            if hasattr(form, key):
                getattr(form, key).errors = [*getattr(form, key).errors, message.capitalize() + "."]
        return False
    return True


def _summary(changed: dict) -> str:
    parts = [f"{label(k)}: {old} → {new}" for k, (old, new) in changed.items()]
    return "Saved. " + "; ".join(parts)


@bp.post("/preview")
@requires("configure")
def preview():
    """What the next sweep would do with the values in the form, beside today's values."""
    form = settings_form(registry(), store().all(db.session), request.form)
    if not check_form(form):
        return render_template("settings/_impact.html", invalid=True)
    sm = StateManager.get_instance()
    current = store().all(db.session)
    proposed = {k: v for k, v in submitted_values(form, registry()).items() if current.get(k) != v}
    at = now()
    # Today's figures only as a rough comparison (counts, no rule checks); the proposal exactly,
    # with the sweep's own dry-run code, so the preview matches what the sweep will do.
    before = sweep.forecast(db.session, sm, at, exact=False).by_type
    after = sweep.forecast(db.session, sm, at, settings_override=proposed).by_type
    return render_template("settings/_impact.html", invalid=False, proposed=proposed,
                           rows=_impact_rows(before, after, {**current, **proposed},
                                             sm.workflows.all(db.session)))


def _impact_rows(before: dict, after: dict, values: dict, workflows: dict) -> list[dict]:
    rows = []
    for type_ in sorted(before.keys() | after.keys()):
        b, a = before.get(type_, {}), after.get(type_, {})
        sweep = workflows[type_].sweep
        grace = values.get(sweep.grace_setting) if sweep else None
        rows.append({"type": type_, "grace": grace,
                     "warning": values.get(sweep.warning_setting) if sweep else None,
                     "inactivate": a.get("inactivate", 0), "warn": a.get("warn", 0),
                     "inactivate_before": b.get("inactivate", 0), "warn_before": b.get("warn", 0),
                     "refused": a.get("refused", 0),
                     "quiet_days": grace})
    return rows
