"""gunicorn settings for `make run` (see docs/operations.md for production)."""
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
# The app logs one JSON line per request itself (webapp/logging.py).
accesslog = None
# No preload: each worker builds its own app, so worker threads are started after the fork.
preload_app = False
# gunicorn 27's control socket defaults to ~/.gunicorn/, shared by every server of the user:
# two `make run`s (or test servers) would collide. We do not use it.
control_socket_disable = True
