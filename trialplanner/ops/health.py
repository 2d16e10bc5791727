"""Health for load balancers and orchestrators: `/health/live` and `/health/ready`.

Answered by the first middleware, before the host check, HTTPS redirect, session, login, two-factor
and audit: a probe from a load balancer's own address, over plain HTTP, every 5 seconds, touches
no session and no patient data. Live means the process answers; ready means the database is
reachable, every migration is applied and the reference catalog is loaded (503 with the reasons
otherwise, so a server that cannot serve patients is taken out of rotation).
"""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

LIVE = "/health/live"
READY = "/health/ready"
_migrated = False  # once every migration is applied, a running server never sees one un-applied


def readiness() -> list[str]:
    """Why this server cannot serve yet (empty when ready)."""
    global _migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return ["database unreachable"]
    problems = []
    try:
        if not _migrated:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                problems.append(f"{len(pending)} migrations not applied")
            else:
                _migrated = True
        from trialplanner.catalog.models import Indication

        if not problems and not Indication.objects.exists():
            problems.append("reference catalog not loaded")
    except DatabaseError:
        problems.append("database unreachable")
    return problems


def _answer(status, body):
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthMiddleware:
    """First in MIDDLEWARE: answers the two health paths itself (GET or HEAD), passes everything else on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path not in (LIVE, READY):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = _answer(405, {"status": "method not allowed"})
            response["Allow"] = "GET, HEAD"
            return response
        if request.path == LIVE:
            return _answer(200, {"status": "live"})
        problems = readiness()
        if problems:
            return _answer(503, {"status": "not ready", "reasons": problems})
        return _answer(200, {"status": "ready"})
