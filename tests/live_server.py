"""The app behind a real HTTP server: in a thread (browser tests) or as a gunicorn process.

Start these from the main thread (fixtures do); they stop themselves on exit.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Self
from urllib.parse import urlencode

from flask import Flask
from werkzeug.serving import make_server

from tests.helpers import csrf_token
from tests.services import _free_port, _tied_to_us

ROOT = Path(__file__).resolve().parents[1]


class ThreadedServer:
    """``with ThreadedServer(app) as server: page.goto(server.url + "/login")``."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class AppProcess:
    """``wsgi:app`` under gunicorn (one worker), configured through the environment only."""

    def __init__(self, env: dict[str, str], logfile: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logfile = logfile
        self.env = {**os.environ, **env, "PORT": str(self.port), "WEB_CONCURRENCY": "1",
                    "STATEKEEPER_BACKGROUND": "0"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Launch without waiting (start several, then enter each to wait for it)."""
        # No control socket: gunicorn would put one per user in ~/.gunicorn, shared by all.
        cmd = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket",
               "wsgi:app"]
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(_tied_to_us(cmd), cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Self:
        if self.proc is None:
            self.start()
        self._wait_until_up()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        self.proc.wait(timeout=20)

    def _wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.logfile.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"gunicorn not up after {timeout}s")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


class HttpBrowser:
    """Cookies and forms over real HTTP; answers are (status, headers, body), no redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirects)

    def request(self, path: str, data: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], str]:
        body = urlencode(data).encode() if data is not None else None
        try:
            with self._opener.open(self.base_url + path, data=body, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read().decode()

    def sign_in(self, username: str, password: str) -> tuple[int, dict[str, str], str]:
        token = csrf_token(self.request("/login")[2])
        return self.request("/login", {"csrf_token": token, "username": username,
                                       "password": password})
