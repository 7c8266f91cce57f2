"""Real, throwaway PostgreSQL / Redis servers and the local Chromium, for tests.

The contract says tests that need these use the real thing or skip with a
one-line reason -- never a fake. So each ``start_*`` function either returns a
running server on 127.0.0.1 (free port, private temp dir) or raises
``ServiceUnavailable(reason)``, which a session fixture turns into a skip::

    @pytest.fixture(scope="session")
    def pg():
        try:
            server = start_postgres()
        except ServiceUnavailable as exc:
            pytest.skip(str(exc))
        yield server
        server.stop()

Cleanup is belt and braces: fixtures call ``stop()``; an ``atexit`` hook stops
whatever is still running; and the server processes are our direct children
with a parent-death signal, so even a SIGKILLed pytest takes them down.
Start servers from the main thread (session fixtures do): Linux delivers the
parent-death signal when the *thread* that started the child exits.

``scripts/ensure-services.sh`` installs the Debian packages these need.
No third-party imports here, so this module loads before the venv is complete.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = [
    "CHROMIUM_ARGS",
    "PgServer",
    "RedisServer",
    "ServiceUnavailable",
    "chromium_launch_options",
    "chromium_path",
    "start_postgres",
    "start_redis",
]

# Flags Debian's Chromium needs here: we run as root (no sandbox), there is no
# GPU, and the network is closed (background fetches would fail noisily).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_running: set = set()  # servers to stop at interpreter exit
_HINT = "(scripts/ensure-services.sh installs it)"


class ServiceUnavailable(Exception):
    """The service cannot be had on this machine; str() is the skip reason."""


# --------------------------------------------------------------- helpers


def _free_port() -> int:
    """Ask the kernel for an unused loopback port (tiny race, retried by callers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tied_to_us(cmd: list[str]) -> list[str]:
    """Prefix cmd so the kernel SIGKILLs it if the test process dies abruptly.

    setpriv (util-linux, always on Debian) sets the parent-death signal and then
    execs cmd; unlike a preexec_fn this is safe with threads running.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd] if setpriv else cmd


def _wait_until(check, proc: subprocess.Popen, timeout: float, what: str) -> None:
    """Poll check() until true; fail fast if the server process exited."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise ServiceUnavailable(f"{what} exited at start-up (code {proc.returncode})")
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.05)


def _end(proc: subprocess.Popen | None, sig: int) -> None:
    """Send sig, wait briefly, then SIGKILL; safe on already-dead processes."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _last_line(path: str) -> str:
    """Last non-empty line of a log file, for one-line failure reasons."""
    try:
        with open(path, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


@atexit.register
def _stop_all() -> None:
    """Safety net: stop servers a fixture forgot (or never got to) stop."""
    for server in list(_running):
        server.stop()


# --------------------------------------------------------------- PostgreSQL


def _pg_bindir() -> str:
    """Directory with initdb, postgres, pg_isready and psql: Debian's newest, else PATH's.

    Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<major>/bin.
    """

    def major(path: str) -> int:
        version = path.split("/")[-2]
        return int(version) if version.isdigit() else 0

    on_path = shutil.which("postgres")
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=major, reverse=True)
    candidates += [os.path.dirname(os.path.realpath(on_path))] if on_path else []
    tools = ("initdb", "postgres", "pg_isready", "psql")
    for bindir in candidates:
        if all(os.access(os.path.join(bindir, t), os.X_OK) for t in tools):
            return bindir
    raise ServiceUnavailable(f"PostgreSQL server not installed {_HINT}")


def _pg_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root, so as root we switch to `postgres`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise ServiceUnavailable("running as root and no unprivileged user to run PostgreSQL")


class PgServer:
    """A throwaway PostgreSQL cluster: superuser `postgres`, trust auth, no fsync."""

    host = "127.0.0.1"

    def __init__(self, bindir: str, workdir: str, user: pwd.struct_passwd | None):
        self.bindir, self.workdir, self.user = bindir, workdir, user
        self.datadir = os.path.join(workdir, "data")
        self.logfile = os.path.join(workdir, "postgres.log")
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) for a database on this server."""
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """Plain libpq URL, for psycopg.connect() or psql."""
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with psql (no Python driver needed); returns its output."""
        cmd = [self._tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
        cmd += ["-d", self.dsn(dbname), "-c", sql]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`) and delete all files."""
        _end(self.proc, signal.SIGQUIT)
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        _running.discard(self)

    # -- start-up internals
    def _tool(self, name: str) -> str:
        return os.path.join(self.bindir, name)

    def _run_as_owner(self, cmd: list[str], **kw) -> subprocess.Popen:
        """Start cmd as the unprivileged owner of the cluster, tied to our lifetime."""
        ids = {}
        if self.user is not None:
            ids = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.Popen(_tied_to_us(cmd), cwd=self.workdir, **ids, **kw)

    def _initdb(self) -> None:
        """Create the cluster: trust auth for everyone (it only listens on loopback)."""
        if self.user is not None:
            os.chown(self.workdir, self.user.pw_uid, self.user.pw_gid)
        cmd = [self._tool("initdb"), "-D", self.datadir, "-U", "postgres", "-A", "trust"]
        cmd += ["-E", "UTF8", "--locale=C.UTF-8", "--lc-messages=C", "--no-sync"]
        with open(self.logfile, "ab") as log:
            code = self._run_as_owner(cmd, stdout=log, stderr=subprocess.STDOUT).wait()
        if code:
            raise ServiceUnavailable(f"initdb failed: {_last_line(self.logfile)}")

    def _accepting(self) -> bool:
        """pg_isready: true once recovery is over and connections are accepted."""
        cmd = [self._tool("pg_isready"), "-q", "-h", self.host, "-p", str(self.port)]
        return subprocess.run(cmd, check=False).returncode == 0

    def _start(self, port: int) -> bool:
        """Start the postmaster on port; False if it died (e.g. port taken)."""
        self.port = port
        settings = {
            "port": port,
            "listen_addresses": self.host,
            "unix_socket_directories": self.workdir,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        cmd = [self._tool("postgres"), "-D", self.datadir]
        cmd += [f"-c{k}={v}" for k, v in settings.items()]
        with open(self.logfile, "ab") as log:
            self.proc = self._run_as_owner(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until(self._accepting, self.proc, 30, "postgres")
        except ServiceUnavailable:
            _end(self.proc, signal.SIGQUIT)
            return False
        return True


def start_postgres() -> PgServer:
    """Start a fresh PostgreSQL on 127.0.0.1:<free port>; raise ServiceUnavailable if impossible."""
    server = PgServer(_pg_bindir(), tempfile.mkdtemp(prefix="sk-pg-"), _pg_user())
    try:
        server._initdb()
        for _ in range(3):  # a fresh port each try, in case another process grabbed ours
            if server._start(_free_port()):
                _running.add(server)
                return server
        raise ServiceUnavailable(f"postgres did not start: {_last_line(server.logfile)}")
    except BaseException:
        server.stop()
        raise


# --------------------------------------------------------------- Redis


class RedisServer:
    """A throwaway, non-persistent redis-server. kill()/restart() simulate an outage."""

    host = "127.0.0.1"

    def __init__(self, binary: str, workdir: str, port: int):
        self.binary, self.workdir, self.port = binary, workdir, port
        self.logfile = os.path.join(workdir, "redis.log")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def ping(self) -> bool:
        """True if the server answers PING (raw protocol, no client library needed)."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        """(Re)start on the same port with an empty dataset; wait until it answers."""
        cmd = [self.binary, "--port", str(self.port), "--bind", self.host, "--save", ""]
        cmd += ["--appendonly", "no", "--daemonize", "no", "--dir", self.workdir]
        cmd += ["--logfile", self.logfile]
        self.proc = subprocess.Popen(_tied_to_us(cmd), stdin=subprocess.DEVNULL)
        try:
            _wait_until(self.ping, self.proc, 10, "redis-server")
        except ServiceUnavailable as exc:
            _end(self.proc, signal.SIGKILL)
            raise ServiceUnavailable(f"{exc}: {_last_line(self.logfile)}") from None
        _running.add(self)

    def kill(self) -> None:
        """Abrupt outage: SIGKILL, port closed, data gone. Files are kept for restart()."""
        _end(self.proc, signal.SIGKILL)
        self.proc = None

    def restart(self) -> None:
        """Bring the server back (empty) on the same port and URL."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Shut down for good and delete the temp dir. Safe to call twice."""
        _end(self.proc, signal.SIGTERM)
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        _running.discard(self)


def start_redis() -> RedisServer:
    """Start redis-server on 127.0.0.1:<free port>; raise ServiceUnavailable if impossible."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailable(f"redis-server not installed {_HINT}")
    last = None
    for _ in range(3):  # a fresh port each try, in case another process grabbed ours
        server = RedisServer(binary, tempfile.mkdtemp(prefix="sk-redis-"), _free_port())
        try:
            server.start()
            return server
        except ServiceUnavailable as exc:
            server.stop()
            last = exc
    raise last


# --------------------------------------------------------------- Chromium


def chromium_path() -> str | None:
    """Debian's Chromium, which Playwright can drive via executable_path."""
    path = "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


def chromium_launch_options() -> dict:
    """kwargs for Playwright's ``p.chromium.launch(**opts)``; raise ServiceUnavailable if absent."""
    path = chromium_path()
    if path is None:
        raise ServiceUnavailable(f"chromium not installed {_HINT}")
    return {"executable_path": path, "args": list(CHROMIUM_ARGS), "headless": True}
