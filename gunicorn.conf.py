"""gunicorn settings for `make run` (see docs/operations.md for production)."""
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gunicorn's gthread worker, answering the requests gunicorn itself refuses (an over-long
# request line or header) in the contract's JSON error shape instead of an HTML page.
worker_class = "webapp.serving.Worker"
timeout = 60
# The longest request line gunicorn accepts (its default, 4,094, refused a list page's selection
# of a few hundred entities sent to the bulk page as ids=...). The app answers an address past
# webapp.inputs.URL_MAX (8,000 bytes) with a 414 in the contract's shape; the worker above
# answers a line past this limit in the same shape.
limit_request_line = 8190
graceful_timeout = 20
# The app logs one JSON line per request itself (webapp/logging.py).
accesslog = None
# No preload: each worker builds its own app, so worker threads are started after the fork.
preload_app = False
# gunicorn 27's control socket defaults to ~/.gunicorn/, shared by every server of the user:
# two `make run`s (or test servers) would collide. We do not use it.
control_socket_disable = True
