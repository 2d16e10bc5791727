"""gunicorn's access log without secrets or patient data: no query strings (patient searches,
filters), no calendar-feed tokens (the token is the feed's only credential), no referrer."""

import re

from gunicorn.glogging import Logger

FEED_TOKEN = re.compile(r"^/calendar/[^/]+\.ics$")
FEED_TOKEN_IN_TEXT = re.compile(r"/calendar/[^/\s\"'?]+\.ics")
QUERY_IN_TEXT = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']*")
# Host, user, time, request line (redacted), status, size, duration in seconds.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(L)s'


def redact_path(path: str) -> str:
    """The request path without its query string, and with a feed token replaced."""
    path = (path or "").split("?", 1)[0]
    return "/calendar/[token].ics" if FEED_TOKEN.match(path) else path


def redact_text(text: str) -> str:
    """Any paths inside a log message (such as runserver's request line) without queries or feed tokens."""
    return FEED_TOKEN_IN_TEXT.sub("/calendar/[token].ics", QUERY_IN_TEXT.sub(r"\1", text))


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["q"] = ""
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {path} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["f"] = "-"
        for key in [k for k in atoms if k.startswith("{") and k.endswith("}i") and k != "{x-request-id}i"]:
            atoms[key] = "-"
        return atoms
