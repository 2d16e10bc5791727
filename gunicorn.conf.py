"""gunicorn settings for `make serve` (and production): override with GUNICORN_* env or CLI flags."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Two workers per core plus one: the app waits on the database and on PDF rendering.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = 1
timeout = 30
graceful_timeout = 20
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# Access lines carry no query strings, feed tokens, referrers or other headers (ops/accesslog.py).
logger_class = "trialplanner.ops.accesslog.RedactingLogger"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(L)s'
errorlog = "-"
