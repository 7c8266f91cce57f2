"""Request-wide security: who is signed in (browser sessions that start and end on the
server, Bearer tokens), CSRF, security headers, API rate-limit keys."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request, Response, current_app, flash, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user, login_user, logout_user

from webapp.core.base.transactions import write_transaction
from webapp.core.users import sessions
from webapp.core.users.accounts import user_for_token
from webapp.extensions import csrf, db, login_manager
from webapp.models import User
from webapp.web_context import now

#: Where the session cookie keeps its server-side session's key (core/users/sessions.py).
SESSION_KEY = "_sk"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_user_from_token)
    app.session_interface = BearerCallsAreStateless()
    app.before_request(_check_csrf)
    app.after_request(_security_headers)


def bearer_token(req: Request | None = None) -> str | None:
    header = (req or request).headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class BearerCallsAreStateless(SecureCookieSessionInterface):
    """A request with a Bearer token neither reads nor sets the session cookie.

    The token is the whole credential. A stray cookie that came along (a script that once
    fetched /login) would otherwise trip Flask-Login's strong session protection, which
    then never asks for the token.
    """

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if bearer_token(request):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not bearer_token():
            super().save_session(app, session, response)


def start_session(user: User) -> None:
    """Sign this browser in as ``user`` with a new cookie (no fixation) and a new
    server-side session; a session the browser had before ends first."""
    end_session()
    with write_transaction(db.session):
        key = sessions.open_session(db.session, user, now(), _max_age())
    login_user(user)
    session[SESSION_KEY] = key


def end_session() -> None:
    """Sign this browser out for good: its server-side session ends, so a copy of the
    cookie taken before is signed out too."""
    key = session.get(SESSION_KEY)
    if key is not None:
        with write_transaction(db.session):
            sessions.close_session(db.session, key)
    logout_user()
    session.clear()


def _max_age() -> timedelta:
    """How long a sign-in lasts at most: Flask's session lifetime (31 days by default)."""
    return current_app.permanent_session_lifetime


def _load_user(session_id: str) -> sessions.SessionUser | None:
    """The user of the session's "<id>:<version>" (User.get_id) and key, unless it ended."""
    user = sessions.user_for_session(db.session, session_id, session.get(SESSION_KEY), now(),
                                     _max_age())
    if user is None:
        _forget_ended_session()
    return user


def _forget_ended_session() -> None:
    """Drop the id of an ended session (signed out elsewhere with a copy of this cookie, a
    password reset, a disabled account, one from before server-side sessions), so the
    browser is plainly signed out, told once why."""
    session.pop("_user_id", None)
    session.pop(SESSION_KEY, None)
    flash("Your session has ended. Please sign in again.", "info")


def keep_signed_in(user: User) -> bool:
    """Carry this browser over to the user's new session version when they ended their own
    sessions (reset their own password): the person making the change stays signed in,
    their other browsers are signed out. True when it was their own account.

    This browser's server-side session goes on; only the version in its cookie changes."""
    if not (current_user.is_authenticated and current_user.id == user.id):
        return False
    login_user(user)
    return True


def _load_user_from_token(_request: object) -> User | None:
    token = bearer_token()
    if token is None:
        return None
    user = user_for_token(db.session, token)
    g.token_auth = user is not None
    return user


def _check_csrf() -> None:
    # CSRF forges a signed-in browser's request. Bearer calls use no session, and an API call
    # from nobody signed in has nothing to forge: it goes on to the API's 401. Forms (the
    # sign-in form too) always need the token.
    if request.method in ("GET", "HEAD", "OPTIONS") or bearer_token():
        return
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return
    csrf.protect()


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    return response


def api_rate_key() -> str:
    """Rate-limit API calls per token (per address for anonymous callers)."""
    token = bearer_token()
    return f"token:{token[-12:]}" if token else f"ip:{request.remote_addr}"
