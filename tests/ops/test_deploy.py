"""The deployment: the image and compose files (linted and checked without a container engine), every
setting documented, the entrypoint against PostgreSQL, PgBouncer in transaction mode, two app servers
under concurrent writes, and the outcome review read from the replica."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import date
from pathlib import Path

import jsonschema
import jwt
import psycopg2
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENTRYPOINT = (ROOT / "docker" / "entrypoint.sh").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
ON_POSTGRESQL = pytest.mark.skipif(connection.vendor != "postgresql", reason="runs against the local PostgreSQL")


# --- the files ---------------------------------------------------------------------------------


def test_it_lints_the_dockerfile_with_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_builds_in_two_bookworm_stages_as_a_non_root_user_with_a_health_check():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert len(stages) == 2 and all("bookworm" in s for s in stages)
    assert "gcc" in DOCKERFILE.split("\nFROM ")[1] and "gcc" not in DOCKERFILE.split("\nFROM ")[2]
    assert re.search(r"^USER 10001", DOCKERFILE, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/health/ready", DOCKERFILE, re.M)
    assert not re.search(r"^(ENV|ARG)\b[^\n]*(SECRET|PASSWORD)", DOCKERFILE, re.M)  # no secret baked in


def test_it_keeps_the_compose_file_valid_against_the_compose_spec():
    schema = json.loads((ROOT / "docker" / "schema" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)  # the schema's own draft
    validator.validate(COMPOSE)
    broken = {**COMPOSE, "services": {"web": {"image": "x", "depends_on": {"db": {"condition": "whenever"}}}}}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_it_starts_web_and_scheduler_after_a_healthy_database_and_the_migrate_job():
    services = COMPOSE["services"]
    assert {"db", "migrate", "web", "scheduler"} <= set(services)
    assert services["db"]["healthcheck"]["test"][1].startswith("pg_isready")
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    assert [services[n]["command"] for n in ("migrate", "web", "scheduler")] == [["migrate"], ["web"], ["scheduler"]]
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"] and "pgdata" in COMPOSE["volumes"]


def test_it_takes_every_secret_from_the_environment():
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|PASSWORD", key):
                # required (${X:?why}) or empty by default (${X:-}): never a value written here
                assert re.fullmatch(r"\$\{[A-Z_]*(SECRET|PASSWORD)[A-Z_]*:(\?[^}]*|-)\}", str(value)), (name, key)
            if "postgres://" in str(value):
                assert re.search(r"postgres://\w+:\$\{POSTGRES_PASSWORD:\?", str(value)), (name, key)
    assert COMPOSE["services"]["web"]["ports"] == ["${WEB_BIND:-127.0.0.1}:${WEB_PORT:-8000}:8000"]


def _settings_read():
    """Every environment variable the settings, envconf readers, gunicorn, commands and entrypoint read."""
    sources = [ROOT / "trialplanner" / "settings.py", ROOT / "trialplanner" / "envconf.py", ROOT / "gunicorn.conf.py"]
    sources += sorted((ROOT / "trialplanner").glob("*/management/commands/*.py"))
    found = set()
    for path in sources:
        text = path.read_text()
        found |= set(re.findall(r"env_(?:str|bool|int|list|time_zone)\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        found |= set(re.findall(r"environ(?:\.get)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        found |= set(re.findall(r"name=\"([A-Z][A-Z0-9_]+)\"", text))
    found |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", ENTRYPOINT))
    return found - {"DJANGO_SETTINGS_MODULE"}


def test_it_documents_every_environment_variable_the_app_reads():
    read = _settings_read()
    assert {"DATABASE_URL", "DATABASE_REPLICA_URL", "PGBOUNCER", "TRUSTED_PROXIES", "EMAIL_BACKEND", "BIND"} <= read
    missing = sorted(name for name in read if f"`{name}`" not in GUIDE)
    assert missing == []


def _manage_commands(text):
    return re.findall(r"manage\.py (\w+)", text)


def test_it_runs_in_the_image_what_make_serve_runs():
    makefile = (ROOT / "Makefile").read_text()
    serve = makefile.split("\nserve:", 1)[1].split("\n\n", 1)[0]
    image = DOCKERFILE + ENTRYPOINT.split("case", 1)[1]
    assert _manage_commands(serve) == [
        "collectstatic", "migrate", "load_catalog", "load_medicine_dictionary", "serverlock"
    ]  # fmt: skip
    assert [c for c in _manage_commands(image) if c in _manage_commands(serve)] == [
        "collectstatic",
        "migrate",
        "load_catalog",
        "load_medicine_dictionary",
    ]  # fmt: skip  (serverlock guards an SQLite file on one machine: not in a container on PostgreSQL)
    gunicorn = re.compile(r"gunicorn (-c gunicorn\.conf\.py trialplanner\.wsgi)")
    assert gunicorn.search(serve).group(1) == gunicorn.search(ENTRYPOINT).group(1)


# --- the replica -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_it_reads_the_outcome_review_from_the_replica_only(settings, catalog, active, clinic):
    from trialplanner.outcomes.review import clinic_review

    period = {"clinic": clinic, "indication": None, "start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    on_primary = clinic_review(**period, today=date(2026, 12, 20))
    settings.REPORTS_DATABASE = "replica"
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(connections["replica"]) as rep:
        on_replica = clinic_review(**period, today=date(2026, 12, 20))
    assert len(primary.captured_queries) == 0 and len(rep.captured_queries) > 0
    assert on_replica.started == on_primary.started == 1
    assert [(f.key, f.count) for f in on_replica.figures] == [(f.key, f.count) for f in on_primary.figures]


# --- against the local PostgreSQL: entrypoint, PgBouncer, two servers --------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(sql):
    settings = connection.settings_dict
    con = psycopg2.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                           user=settings["USER"] or "postgres", dbname="postgres")  # fmt: skip
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


def _env(url, **extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PGBOUNCER"}}
    env.update(
        DATABASE_URL=url, DEBUG="false", SECRET_KEY="deploy-test-secret-key-that-is-long-enough-0123456789",
        ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false", DB_WAIT_SECONDS="20",
        DJANGO_SETTINGS_MODULE="trialplanner.settings", PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        STATIC_ROOT=str(ROOT / "staticfiles-deploy-test"),
    )  # fmt: skip
    env.update(extra)
    return env


def entrypoint(url, *args, timeout=300, **extra):
    return subprocess.run(["sh", "docker/entrypoint.sh", *args], cwd=ROOT, env=_env(url, **extra),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def deployed():
    """A new PostgreSQL database set up the way the compose `migrate` job does it."""
    if connection.vendor != "postgresql":
        pytest.skip("runs against the local PostgreSQL")
    settings = connection.settings_dict
    name = f"tp_deploy_{uuid.uuid4().hex[:10]}"
    host, port, user = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432, settings["USER"] or "postgres"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield {"url": f"postgres://{user}@{host}:{port}/{name}", "name": name, "host": host, "port": port, "user": user}
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(ROOT / "staticfiles-deploy-test", ignore_errors=True)


@pytest.fixture(scope="module")
def migrated(deployed):
    result = entrypoint(deployed["url"], "migrate")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "database reachable" in result.stdout
    return deployed


@ON_POSTGRESQL
def test_it_runs_the_entrypoint_jobs_against_postgresql(migrated):
    """The migrate job ran in the fixture (migrations, catalog, dictionary on a new database)."""
    scheduler = entrypoint(migrated["url"], "manage", "run_scheduler", "--once")
    assert scheduler.returncode == 0 and "jobs run" in scheduler.stdout
    down = entrypoint("postgres://postgres@127.0.0.1:1/none", "web", DB_WAIT_SECONDS="1")
    assert down.returncode == 1 and "database not reachable" in down.stderr and "Traceback" not in down.stderr


def test_it_refuses_an_unknown_entrypoint_command_before_touching_the_database():
    unknown = entrypoint("postgres://postgres@127.0.0.1:1/none", "serve-forever")
    assert unknown.returncode == 64 and "unknown command 'serve-forever'" in unknown.stderr


@pytest.fixture(scope="module")
def pgbouncer(migrated):
    """Debian's PgBouncer on loopback in transaction mode, in front of the local PostgreSQL."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        pytest.fail("pgbouncer is missing: `make test` installs Debian's pgbouncer package")
    # As root, pgbouncer must drop to another user (postgres), who cannot enter pytest's 0700 temp folders.
    folder = Path(tempfile.mkdtemp(prefix="tp-pgbouncer-"))
    folder.chmod(0o755)
    port = _free_port()
    (folder / "users.txt").write_text(f'"{migrated["user"]}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={migrated['host']} port={migrated['port']}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\npool_mode = transaction\ndefault_pool_size = 4\n"
        f"max_client_conn = 200\nignore_startup_parameters = extra_float_digits,options\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [binary, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(folder / "pgbouncer.ini")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"pgbouncer did not start: {process.stdout.read()}")
    yield {**migrated, "url": f"postgres://{migrated['user']}@127.0.0.1:{port}/{migrated['name']}"}
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


BOUNCED = """
from django.db import connection, transaction
from trialplanner.catalog.models import Indication, Rule
from trialplanner.ops.health import readiness
assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
names = [i.name for i in Indication.objects.iterator(chunk_size=1)]   # outside a transaction
with transaction.atomic():
    rules = sum(1 for _ in Rule.objects.iterator(chunk_size=2))
    inner = [i.slug for i in Indication.objects.order_by("slug").iterator(chunk_size=1)]
assert names and rules and len(inner) == len(names)
assert readiness() == [], readiness()
print("through pgbouncer:", len(names), "indications,", rules, "rules")
"""


@ON_POSTGRESQL
def test_it_works_through_pgbouncer_in_transaction_mode(pgbouncer):
    result = entrypoint(pgbouncer["url"], "manage", "shell", "-c", BOUNCED, PGBOUNCER="true")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "through pgbouncer:" in result.stdout
    scheduler = entrypoint(pgbouncer["url"], "manage", "run_scheduler", "--once", PGBOUNCER="true")
    assert scheduler.returncode == 0, scheduler.stderr[-2000:]


REGISTER_CLIENT = """
import json, os
from django.contrib.auth import get_user_model
from trialplanner.interop.models import CdsClient
from trialplanner.patients.models import Clinic
clinic = Clinic.objects.create(name="Deploy test clinic", phone="0100 000 0000")
lead = get_user_model().objects.create_user(username="deploy-lead", password="deploy-test-password-1")
CdsClient.objects.create(clinic=clinic, name="EHR", issuer="https://ehr.deploy.test", created_by=lead,
                         jwks=json.loads(os.environ["DEPLOY_JWKS"]), patient_identifier_system="urn:mrn")
"""


def _serve(url, port, **extra):
    env = _env(url, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", **extra)
    return subprocess.Popen(["sh", "docker/entrypoint.sh", "web"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _wait_ready(port, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    pytest.fail(f"the server on {port} never became ready")


@ON_POSTGRESQL
def test_it_loses_nothing_with_two_servers_writing_to_one_postgresql(migrated, pgbouncer):
    """Two gunicorn servers (one direct, one through PgBouncer) take 120 CDS Hooks calls at once;
    each call writes its cards, its JWT id and an audit event: every row must be there."""
    key = ec.generate_private_key(ec.SECP384R1())
    jwks = {"keys": [{**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}]}
    made = entrypoint(migrated["url"], "manage", "shell", "-c", REGISTER_CLIENT, DEPLOY_JWKS=json.dumps(jwks))
    assert made.returncode == 0, made.stderr[-2000:]
    from tests.interop.docs import doc_fixtures

    body = json.dumps(doc_fixtures("cds-hooks.md")["order-select-request"]).encode()
    ports = [_free_port(), _free_port()]
    servers = [_serve(migrated["url"], ports[0]), _serve(pgbouncer["url"], ports[1], PGBOUNCER="true")]
    statuses, cards, lock = [], [], threading.Lock()

    def client(port, calls):
        path = "/cds-services/amitriptyline-order-select"
        for _ in range(calls):
            now = int(timezone.now().timestamp())
            claims = {"iss": "https://ehr.deploy.test", "sub": "ehr", "aud": f"http://127.0.0.1:{port}{path}",
                      "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}  # fmt: skip
            token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1"})
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                             headers={"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http on loopback
                    got = (response.status, len(json.loads(response.read())["cards"]))
            except urllib.error.HTTPError as exc:
                got = (exc.code, 0)
            with lock:
                statuses.append(got[0])
                cards.append(got[1])

    try:
        for port in ports:
            _wait_ready(port)
        threads = [threading.Thread(target=client, args=(port, 20)) for port in ports for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=60)
    assert statuses == [200] * 120
    con = psycopg2.connect(host=migrated["host"], port=migrated["port"], user=migrated["user"], dbname=migrated["name"])
    try:
        with con.cursor() as cur:
            counts = []
            for sql in (
                "SELECT COUNT(*) FROM interop_cdsjwtuse",
                "SELECT COUNT(*) FROM interop_cdscard",
                "SELECT COUNT(*) FROM audit_auditevent WHERE object_type = 'cds_call'",
            ):
                cur.execute(sql)
                counts.append(cur.fetchone()[0])
    finally:
        con.close()
    assert counts == [120, sum(cards), 120] and sum(cards) >= 120
