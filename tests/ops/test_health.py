"""/health/live and /health/ready: no login, no host check, no patient data; 503 with reasons when not ready.
And the client's address: from X-Forwarded-For only when a trusted proxy sent it."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.test import Client

from trialplanner.audit.models import AuditEvent
from trialplanner.catalog.models import Indication
from trialplanner.ops import health, proxy


@pytest.fixture
def probe():
    # A load balancer: its own address as Host, plain HTTP, no cookies.
    return Client(HTTP_HOST="10.0.0.7:8000")


def test_it_says_live_without_the_database(probe):
    response = probe.get(health.LIVE)  # no db fixture: any query would fail the test
    assert response.status_code == 200 and response.json() == {"status": "live"}
    assert response["Cache-Control"] == "no-store" and not response.cookies


@pytest.mark.django_db
def test_it_says_ready_with_the_database_migrations_and_catalog(probe, catalog, django_assert_max_num_queries):
    health._migrated = False
    assert probe.get(health.READY).json() == {"status": "ready"}
    with django_assert_max_num_queries(2):  # once migrated: SELECT 1 and the catalog
        response = probe.get(health.READY)
    assert response.status_code == 200 and not response.cookies
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_it_says_not_ready_without_the_catalog(probe, monkeypatch):
    monkeypatch.setattr(Indication.objects, "exists", lambda: False)  # as on a database never loaded
    response = probe.get(health.READY)
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "reasons": ["reference catalog not loaded"]}


@pytest.mark.django_db
def test_it_says_not_ready_with_migrations_to_apply(probe, catalog, monkeypatch):
    health._migrated = False
    monkeypatch.setattr(health.MigrationExecutor, "migration_plan", lambda self, targets: [("plans", "0099")])
    response = probe.get(health.READY)
    assert response.status_code == 503 and response.json()["reasons"] == ["1 migrations not applied"]
    assert health._migrated is False


def test_it_says_not_ready_when_the_database_is_unreachable(probe, monkeypatch):
    class Down:
        def __enter__(self):
            raise DatabaseError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Down())
    response = probe.get(health.READY)
    assert response.status_code == 503 and response.json()["reasons"] == ["database unreachable"]


def test_it_refuses_other_methods_on_health(probe):
    response = probe.post(health.READY)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_it_still_checks_the_host_and_login_everywhere_else(probe):
    assert probe.get("/patients/").status_code == 400  # DisallowedHost: only health skips the check


NETS = proxy.trusted_networks(["10.0.0.0/8", "192.0.2.1"])


@pytest.mark.parametrize(
    "peer, forwarded, client",
    [
        ("10.0.0.7", "203.0.113.9", "203.0.113.9"),  # the balancer names the client
        ("10.0.0.7", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # a spoofed left-most entry is ignored
        ("10.0.0.7", "203.0.113.9, 192.0.2.1", "203.0.113.9"),  # two trusted hops
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),  # not from a proxy: the header is ignored
        ("10.0.0.7", "", "10.0.0.7"),
        ("10.0.0.7", "not-an-ip, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.7", "203.0.113.9, garbage", "10.0.0.7"),  # a malformed hop: trust nothing in it
        ("10.0.0.7", "2001:db8::1", "2001:db8::1"),
        ("::ffff:10.0.0.7", "203.0.113.9", "203.0.113.9"),  # a dual-stack socket's form of a trusted peer
        ("10.0.0.7", "203.0.113.9, ::ffff:10.0.0.8", "203.0.113.9"),  # ... and of a trusted hop
    ],
)
def test_it_takes_the_client_address_from_a_trusted_proxy_only(peer, forwarded, client):
    assert proxy.forwarded_client(peer, forwarded, NETS) == client


def test_it_refuses_a_bad_trusted_proxy_setting():
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        proxy.trusted_networks(["10.0.0.0/8", "balancer.local"])


@pytest.mark.django_db
def test_it_throttles_logins_by_the_forwarded_client_not_the_balancer(settings, clinician):
    """Five wrong passwords through the balancer lock that client, and only that client."""
    from tests.conftest import PASSWORD

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    balancer = {"REMOTE_ADDR": "10.0.0.7"}
    for _ in range(5):
        Client(**balancer).post("/login/", {"username": "alice", "password": "wrong-password-here"},
                                HTTP_X_FORWARDED_FOR="203.0.113.9")  # fmt: skip
    locked = Client(**balancer).post("/login/", {"username": "alice", "password": PASSWORD},
                                     HTTP_X_FORWARDED_FOR="203.0.113.9")  # fmt: skip
    other = Client(**balancer).post("/login/", {"username": "alice", "password": PASSWORD},
                                    HTTP_X_FORWARDED_FOR="198.51.100.4")  # fmt: skip
    assert locked.status_code == 429 and other.status_code == 302
    assert AuditEvent.objects.filter(ip="203.0.113.9").exists()
