"""Sign in and out."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from webapp.blueprints.auth.forms import LoginForm
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.users.accounts import LoginResult, authenticate
from webapp.extensions import db, limiter
from webapp.permissions import PUBLIC, requires
from webapp.security import end_session, start_session
from webapp.web_context import now, record_event

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if request.method == "GET" and current_user.is_authenticated:
        # Signed in already: on to where they were going. The sign-in page would show the
        # layout's "Sign out" form first, and a script (or a hurried click) pressing the
        # page's first button signed out instead of in, every other attempt.
        return _onward()
    form, refused = LoginForm(), None
    if form.validate_on_submit():
        result = _authenticate(form.username.data, form.password.data)
        if result.outcome == "ok":
            start_session(result.user)
            return _onward()
        refused = result.outcome
        form.password.errors.append(_failure_message(result))
    status = 200 if request.method == "GET" or not form.errors else 401
    lockout = _lockout_rule() if refused in ("bad_credentials", "locked") else None
    return render_template("auth/login.html", form=form, lockout=lockout), status


def _authenticate(username: str, password: str) -> LoginResult:
    cfg = current_app.config
    with write_transaction(db.session):
        result = authenticate(db.session, username, password, now(), cfg["LOGIN_MAX_FAILURES"],
                              timedelta(seconds=cfg["LOGIN_LOCKOUT_SECONDS"]))
    if result.outcome != "ok":
        actor = Actor(username[:80], "anonymous", request.remote_addr,
                      request.headers.get("User-Agent"))
        risk = "high" if result.outcome == "locked" else "medium"
        record_event(f"login.{result.outcome}", f"sign-in refused: {result.outcome}", actor, risk)
    return result


def _failure_message(result: LoginResult) -> str:
    """A locked account gets the same answer as a wrong password or an unknown name: "this
    account is locked" would tell a stranger that the name exists. (Only someone who knows
    the password learns that an account is disabled.)"""
    if result.outcome == "disabled":
        return "This account is disabled. Ask an administrator."
    return "Wrong username or password."


def _lockout_rule() -> str:
    """The lockout, told to everyone alike after a failed attempt."""
    cfg = current_app.config
    minutes = max(1, round(cfg["LOGIN_LOCKOUT_SECONDS"] / 60))
    return (f"After {cfg['LOGIN_MAX_FAILURES']} wrong passwords in a row an account is locked "
            f"for {minutes} minute{'s' if minutes != 1 else ''}, even against the right "
            "password. An administrator can set a new password at once.")


def _onward():
    return redirect(_local_path(request.args.get("next", "")) or url_for("dashboard.index"))


def _local_path(target: str) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects).

    Browsers read a backslash as a slash and drop tabs and newlines, so those are refused
    along with ``//host`` and ``scheme:`` addresses.
    """
    if any(ch == "\\" or ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/logout", methods=["POST"])
@requires("view")
def logout():
    # A POST with the CSRF token (CSRFProtect checks it), so a link on another site cannot
    # sign you out; the layout's sign-out form carries the token.
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))

