"""User management pages (admins only): accounts, roles, passwords, API tokens."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from webapp.blueprints.users import bp
from webapp.blueprints.users.forms import (
    ActionForm,
    CreateUserForm,
    PasswordForm,
    RoleForm,
    TokenForm,
)
from webapp.core.base.errors import InvalidInput
from webapp.core.base.words import label
from webapp.core.users import admin as user_admin
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.permissions import requires
from webapp.security import keep_signed_in
from webapp.web_context import current_actor, now

T = TypeVar("T")


@bp.get("/")
@requires("manage_users")
def index():
    return _index_page(CreateUserForm())


@bp.post("/")
@requires("manage_users")
def create():
    form = CreateUserForm()
    user = form.validate_on_submit() and _attempt(form, lambda: user_admin.create_user(
        db.session, current_actor(), form.username.data, form.role.data, form.password.data, now()))
    if not user:
        return _index_page(form, 400)
    flash(f"Created {label(user.role)} {user.username}.", "success")
    return redirect(url_for("users.show", user_id=user.id))


@bp.get("/<int:user_id>")
@requires("manage_users")
def show(user_id: int):
    return _user_page(user_id)


@bp.post("/<int:user_id>/role")
@requires("manage_users")
def change_role(user_id: int):
    form = RoleForm()
    user = form.validate_on_submit() and _attempt(form, lambda: user_admin.change_role(
        db.session, current_actor(), user_id, form.role.data, now()))
    if not user:
        return _user_page(user_id, 400, role_form=form)
    flash(f"{user.username} is now {label(user.role)}.", "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/<int:user_id>/disable")
@requires("manage_users")
def disable(user_id: int):
    return _switch(user_id, enabled=False)


@bp.post("/<int:user_id>/enable")
@requires("manage_users")
def enable(user_id: int):
    return _switch(user_id, enabled=True)


@bp.post("/<int:user_id>/password")
@requires("manage_users")
def reset_password(user_id: int):
    form = PasswordForm()
    user = form.validate_on_submit() and _attempt(form, lambda: user_admin.reset_password(
        db.session, current_actor(), user_id, form.password.data, now()))
    if not user:
        return _user_page(user_id, 400, password_form=form)
    ended = "your other sessions" if keep_signed_in(user) else f"{user.username}'s sessions"
    flash(f"New password set for {user.username}; any lockout is lifted and {ended} "
          "are signed out.", "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.post("/<int:user_id>/tokens")
@requires("manage_users")
def create_token(user_id: int):
    form = TokenForm()
    token = form.validate_on_submit() and _attempt(form, lambda: user_admin.create_token(
        db.session, current_actor(), user_id, form.name.data, now()))
    status = 200 if token else 400
    # The token is shown in this answer only (never flashed: the session cookie is not secret).
    if is_htmx():
        return render_template("users/_tokens.html", **_token_context(user_id, form, token or None))
    return _user_page(user_id, status, token_form=form, new_token=token or None)


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@requires("manage_users")
def revoke_token(user_id: int, token_id: int):
    ActionForm()
    token = user_admin.revoke_token(db.session, current_actor(), user_id, token_id, now())
    if is_htmx():
        return render_template("users/_tokens.html", **_token_context(user_id))
    flash(f"Token “{token.name}” revoked.", "success")
    return redirect(url_for("users.show", user_id=user_id))


# ------------------------------------------------------------------ helpers


def _switch(user_id: int, enabled: bool):
    ActionForm()
    try:
        user = user_admin.set_enabled(db.session, current_actor(), user_id, enabled, now())
    except InvalidInput as err:
        flash(_sentence(err), "error")
    else:
        done = "may sign in again" if enabled else "is signed out and can no longer sign in"
        flash(f"{user.username} {done}.", "success")
    return redirect(url_for("users.show", user_id=user_id))


def _attempt(form: FlaskForm, command: Callable[[], T]) -> T | None:
    """Run the command; a refusal becomes errors on the form's fields (or its first field)."""
    try:
        return command()
    except InvalidInput as err:
        db.session.rollback()
        known = {name: message for name, message in err.fields.items()
                 if name in form and name != "csrf_token"}
        if not known:
            first = next(f for f in form if f.name != "csrf_token")
            known = {first.name: _sentence(err)}
        for name, message in known.items():
            form[name].errors = [*form[name].errors, message]
        return None


def _sentence(err: InvalidInput) -> str:
    return " ".join([err.message, *err.fields.values()])


def _index_page(form: CreateUserForm, status: int = 200):
    return render_template("users/index.html", rows=user_admin.list_users(db.session),
                           form=form, now=now()), status


def _token_context(user_id: int, form: TokenForm | None = None,
                   new_token: str | None = None) -> dict[str, Any]:
    return {"user": user_admin.get_user(db.session, user_id),
            "tokens": user_admin.tokens(db.session, user_id),
            "token_form": form or TokenForm(formdata=None), "new_token": new_token,
            "action_form": ActionForm()}


def _user_page(user_id: int, status: int = 200, **forms: Any):
    user = user_admin.get_user(db.session, user_id)
    context = {**_token_context(user_id, forms.pop("token_form", None),
                                forms.pop("new_token", None)),
               "role_form": RoleForm(formdata=None, role=user.role),
               "password_form": PasswordForm(formdata=None), "now": now(), **forms}
    return render_template("users/show.html", **context), status
