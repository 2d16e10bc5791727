"""Hostile input on every form POST, query string and JSON entry point never gives a 500 or a
traceback; CSRF is enforced on every POST.

Dates at the extremes (0001-01-01, 9998-12-31, 9999-12-31) go into every date field, the plan
lifecycle's windows (trialplanner/plans/dates.py) included: each must come back as a message on
its field, or be stored where no page that reads it fails afterwards.
"""

import base64
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.test_authorization_matrix import FORM, MATRIX

pytestmark = pytest.mark.django_db

POST_FORMS = {
    # name: (url arguments, the form's field names)
    "patients:patient_create": (None, ["clinic", "display_name", "mrn", "date_of_birth", "sex", "preferred_language"]),
    "patients:patient_edit": ("patient", ["display_name", "mrn", "date_of_birth", "sex", "preferred_language"]),
    "patients:risk_profile_edit": ("patient", ["conditions", "frail", "alcohol", "qtc_ms", "ecg_date", "heart_rate",
                                               "bp_lying_systolic", "bp_lying_diastolic", "potassium", "sodium",
                                               "bp_date", "bloods_date", "meds-TOTAL_FORMS", "meds-INITIAL_FORMS",
                                               "meds-0-name", "meds-0-started_on", "meds-0-stopped_on"]),
    "plans:plan_new": ("patient", ["indication", "start_date", "target_mg", "tablet_strength_mg", "days_per_step"]),
    "plans:plan_revise": ("plan", ["start_date", "target_mg", "tablet_strength_mg", "days_per_step", "lock_version"]),
    "plans:plan_activate": ("plan", ["lock_version", "reason_older-age"]),
    "plans:plan_stop": ("plan", ["lock_version", "reason", "stop_date"]),
    "plans:plan_mark_error": ("plan", ["lock_version", "reason"]),
    "plans:followup_visit": ("followup", ["visit_date", "outcome_score", "side_effects", "side_effects_other",
                                          "adherence", "mood", "self_harm_thoughts", "qtc_ms", "ecg_date",
                                          "decision", "notes"]),
    "plans:followup_book": ("followup", ["day", "time", "sequence"]),
    "plans:followup_snooze": ("followup", ["reason"]),
    "plans:followup_missed": ("followup", ["reason"]),
    "accounts:two_factor_setup": (None, ["password", "token"]),
    "accounts:two_factor_remove": (None, ["remove-password"]),
    "accounts:recovery_codes_regenerate": (None, ["codes-password"]),
    "accounts:password_change": (None, ["old_password", "new_password1", "new_password2"]),
    "accounts:password_reset": (None, ["email"]),
    "accounts:member_two_factor_reset": ("clinic", ["member", "password"]),
    "accounts:two_factor_verify": (None, ["token", "next"]),
    "login": (None, ["username", "password"]),
    "interop:patient_import": (None, ["bundle_text", "confirm", "bundle", "patient-clinic", "patient-display_name",
                                      "patient-mrn", "patient-date_of_birth", "patient-sex"]),
    "interop:cds_clients": ("clinic", ["name", "issuer", "jwks", "patient_identifier_system"]),
}  # fmt: skip
LEAD_FORMS = {"accounts:member_two_factor_reset", "interop:cds_clients"}
QUERY_PAGES = {
    # name: (url arguments, the query parameters the page reads)
    "patients:patient_list": (None, ["q", "after", "before"]),
    "patients:patient_detail": ("patient", ["indication"]),
    "plans:plan_new": ("patient", ["indication", "start_date", "target_mg", "tablet_strength_mg", "days_per_step"]),
    "plans:worklist": (None, ["clinician", "indication", "kind", "after", "before"]),
    "audit:audit_list": (None, ["action", "user", "patient", "since", "until", "page"]),
    "outcomes:outcome_review": (None, ["clinic", "indication", "start", "end"]),
    "outcomes:outcome_review_csv": (None, ["clinic", "indication", "start", "end"]),
    "handouts:handout": ("plan", ["lang", "size", "paper"]),
    "interop:plan_fhir": ("plan", ["layout", "download"]),
}

FAR_DATES = ["0001-01-01", "1899-12-31", "1900-01-01", "2100-01-01", "2999-12-31", "3000-01-01", "9998-12-31",
             "9999-12-31", "10000-01-01"]  # fmt: skip
# Huge and deeply nested JSON, for the fields that take JSON (a FHIR bundle, a JWKS) and for any other.
DEEP_JSON = ["[" * 5000 + "]" * 5000, '{"a":' * 2000 + "1" + "}" * 2000,
             '{"resourceType": "Bundle", "entry": ' + "[" * 1200 + "]" * 1200 + "}",
             '{"keys": [' + '{"kid": "k", "kty": "EC"},' * 3000 + "{}]}"]  # fmt: skip
hostile = st.one_of(
    st.text(max_size=50),
    st.text(min_size=2000, max_size=6000, alphabet="aé€\U0001f600"),
    st.sampled_from(DEEP_JSON),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "-1",
            "0",
            "99999999999999999999",
            "1e309",
            "NaN",
            "-0.0",
            "3.5",
            "[]",
            "{}",
            "true",
            "2026-02-30",
            "1969-12-31T23:59:59",
            *FAR_DATES,
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "../../etc/passwd",
            "http://169.254.169.254/",
            "00000000-0000-0000-0000-000000000000",
            "%00",
            "\u202e",
            " ",
        ]
    ),
    # Unicode digits (int() reads most of them; "²" passes str.isdigit() but not int()).
    st.sampled_from(["²", "0²", "١٢", "１２", "٢٠٢٦-١٢-٠١", "２０２６-12-01", "߂", "𝟏𝟐"]),
    # Control and bidi characters, alone and inside ordinary text.
    st.builds(
        "{}{}{}".format,
        st.text(max_size=5),
        st.sampled_from(
            ["\r\n", "\n", "\t", "\x1b[2J", "\x7f", "\x85", "\u2028", "\u202a", "\u202e", "\u2066", "\u2069", "\x0b"]
        ),
        st.text(max_size=5),
    ),
)
# Date fields get an extreme date more often than the mix above would give them.
date_value = st.one_of(st.sampled_from(FAR_DATES), hostile)
fuzz = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


def field_values(fields):
    """A strategy of form data: hostile values (or lists of them) for some of `fields`."""
    per_field = {f: date_value if "date" in f or f.endswith(("_on", "since", "until")) else hostile for f in fields}
    return st.fixed_dictionaries(
        {}, optional={f: st.one_of(strategy, st.lists(strategy, max_size=3)) for f, strategy in per_field.items()}
    )


def assert_no_server_error(response, *context):
    assert response.status_code < 500, context
    assert b"Traceback" not in response.content, context


def url_for(world, name, kind):
    if kind is None:
        return reverse(name)
    obj = world["patient"].clinic if kind == "clinic" else world[kind]
    return reverse(name, args=[obj.uuid])


@pytest.mark.parametrize("name", sorted(POST_FORMS))
def test_it_never_fails_form_posts_with_a_server_error(world, name):
    kind, fields = POST_FORMS[name]
    url = url_for(world, name, kind)
    client = Client()
    if name not in {"login", "accounts:password_reset"}:
        client.force_login(world["users"]["lead" if name in LEAD_FORMS else "clinician"])

    new_plan = reverse("plans:plan_new", args=[world["patient"].uuid]) + f"?indication={world['indication'].slug}"
    readers = [world["patient"].get_absolute_url(), new_plan]

    @fuzz
    @given(field_values(fields))
    def check(data):
        assert_no_server_error(client.post(url, data), name, data)
        if name.startswith(("patients:", "interop:patient_import")):
            # Whatever was saved must not break the pages that read it.
            for page in readers:
                assert_no_server_error(client.get(page), name, data, page)

    check()


@pytest.mark.parametrize("name", sorted(QUERY_PAGES))
def test_it_never_fails_query_strings_with_a_server_error(world, name):
    kind, names = QUERY_PAGES[name]
    url = url_for(world, name, kind)
    client = Client()
    client.force_login(world["users"]["lead"])

    @fuzz
    @given(field_values(names))
    def check(params):
        if "indication" in names and "indication" not in params:
            params = {**params, "indication": world["indication"].slug}  # so the dates reach the engine
        assert_no_server_error(client.get(url, params), name, params)

    check()


def test_it_fuzzes_every_form_route():
    forms = {name for name, (_, rules) in MATRIX.items() if rules["POST"]["clinician"] == FORM}
    assert forms - set(POST_FORMS) == set()


JWT_ROUTES = {"interop:cds_service", "interop:cds_feedback"}


@pytest.mark.parametrize("name", sorted(n for n, (_, rules) in MATRIX.items() if "POST" in rules))
def test_it_enforces_csrf_on_every_post(world, name):
    make_args, _ = MATRIX[name]
    url = reverse(name, args=make_args(world) if make_args else None)
    client = Client(enforce_csrf_checks=True)
    if name not in {"login", "reminders:feed", "accounts:password_reset", "accounts:password_reset_confirm"}:
        client.force_login(world["users"]["clinician"])
    response = client.post(url, {})
    if name in JWT_ROUTES:
        # Authenticated by a signed JWT only: a signed-in session (the CSRF risk) gets no further than 401.
        assert response.status_code == 401, (name, response.status_code)
    elif name == "admin:index":
        assert response.status_code in {302, 403}
    else:
        assert response.status_code in {403, 405}, (name, response.status_code)


CDS_ROUTES = [
    "/cds-services",
    "/cds-services/amitriptyline-order-select",
    "/cds-services/amitriptyline-order-select/feedback",
]


def _jwt_segment(text):
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


bearer_token = st.one_of(
    hostile,
    st.builds(
        lambda h, c: f"{_jwt_segment(h)}.{_jwt_segment(c)}.c2ln",
        st.one_of(hostile, st.sampled_from(DEEP_JSON)),
        st.one_of(hostile, st.sampled_from(DEEP_JSON)),
    ),
)


@pytest.mark.parametrize("path", CDS_ROUTES)
def test_it_never_fails_cds_hooks_with_a_server_error(world, path):
    """Anyone on the network reaches these: hostile tokens and bodies get 4xx, never a 500."""
    client = Client()

    @fuzz
    @given(bearer_token, hostile)
    def check(token, body):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if path == "/cds-services":
            response = client.get(path, **auth)
        else:
            response = client.post(path, body.encode("utf-8", "surrogatepass"), content_type="application/json", **auth)
        assert_no_server_error(response, path, token[:80], body[:80])

    check()


def test_it_handles_the_regressions_found_by_the_fuzzer(world):
    """Inputs that once gave a 500 on PostgreSQL: an over-long username, NUL bytes in a slug."""
    assert Client().post(reverse("login"), {"username": "a" * 5000, "password": "0"}).status_code == 200
    assert Client().post(reverse("login"), {"username": "al\x00ice", "password": "0"}).status_code == 200
    client = Client()
    client.force_login(world["users"]["clinician"])
    url = reverse("plans:plan_new", args=[world["patient"].uuid])
    assert client.post(url, {"indication": "\x00"}).status_code == 200
    assert client.get(url, {"indication": "a\x00b"}).status_code == 200


# --- preview_plan ---------------------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile,
    st.sampled_from(["2026-12-01", "migraine-prophylaxis", "female", "none", "phenelzine", "poor"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
plan_request = st.fixed_dictionaries(
    {},
    optional={
        "indication": st.one_of(st.just("migraine-prophylaxis"), json_value),
        "start_date": st.one_of(st.just("2026-12-01"), st.sampled_from(FAR_DATES), json_value),
        "patient": st.one_of(
            st.fixed_dictionaries(
                {"age": st.one_of(st.integers(0, 130), json_value), "sex": st.one_of(st.just("male"), json_value)},
                optional={"frail": json_value, "alcohol": json_value},
            ),
            json_value,
        ),
        "conditions": json_value,
        "medications": st.one_of(
            st.lists(
                st.one_of(
                    hostile,
                    st.fixed_dictionaries(
                        {
                            "name": st.one_of(st.just("phenelzine"), hostile),
                            "stopped_on": st.one_of(st.none(), st.sampled_from(FAR_DATES), hostile),
                        }
                    ),
                ),
                max_size=3,
            ),
            json_value,
        ),
        "qtc_ms": json_value,
        "cyp2d6": json_value,
        "options": st.one_of(
            st.fixed_dictionaries({}, optional={"target_mg": json_value, "strength_mg": json_value}), json_value
        ),
    },
)
raw_request = st.one_of(
    plan_request.map(json.dumps),
    st.integers(1, 60_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 60_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.builds(lambda n: json.dumps({"medications": ["x" * n]}), st.integers(1, 150_000)),
    st.text(max_size=200),
)


def test_it_never_prints_a_traceback_from_preview_plan(tmp_path, catalog):
    path = tmp_path / "request.json"

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(raw_request)
    def check(text):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        out = io.StringIO()
        try:
            call_command("preview_plan", "--input", str(path), stdout=out)
        except CommandError as exc:
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message, message
        else:
            assert isinstance(json.loads(out.getvalue()), dict)

    check()
