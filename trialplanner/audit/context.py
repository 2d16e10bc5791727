"""Who is acting, for audit events written deep inside services (set per request by middleware)."""

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    ip: str | None
    request_id: str


current = ContextVar("audit_actor", default=None)


def client_ip(request):
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips);
    # X-Forwarded-For is not trusted here because anyone can send it.
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Give each request an id (echoed in X-Request-ID) and remember the actor for audit events."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        token = current.set(Actor(user_id=user_id, ip=client_ip(request), request_id=request.request_id))
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
