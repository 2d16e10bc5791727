"""Hostile input on every form POST never gives a 500; CSRF is enforced on every POST."""

import pytest
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
                                               "meds-TOTAL_FORMS", "meds-INITIAL_FORMS", "meds-0-name",
                                               "meds-0-started_on", "meds-0-stopped_on"]),
    "plans:plan_new": ("patient", ["indication", "start_date", "target_mg", "tablet_strength_mg", "days_per_step"]),
    "plans:plan_revise": ("plan", ["start_date", "target_mg", "tablet_strength_mg", "days_per_step", "lock_version"]),
    "plans:plan_activate": ("plan", ["lock_version", "reason_older-age"]),
    "plans:plan_stop": ("plan", ["lock_version", "reason", "stop_date"]),
    "plans:plan_mark_error": ("plan", ["lock_version", "reason"]),
    "plans:followup_visit": ("followup", ["visit_date", "outcome_score", "side_effects", "side_effects_other",
                                          "adherence", "qtc_ms", "decision", "notes"]),
    "plans:followup_snooze": ("followup", ["reason"]),
    "plans:followup_missed": ("followup", ["reason"]),
    "accounts:two_factor_setup": (None, ["password", "token"]),
    "accounts:two_factor_remove": (None, ["remove-password"]),
    "accounts:recovery_codes_regenerate": (None, ["codes-password"]),
    "accounts:two_factor_verify": (None, ["token", "next"]),
    "login": (None, ["username", "password"]),
}  # fmt: skip
QUERY_PAGES = {
    "patients:patient_list": ["q", "after", "before"],
    "plans:worklist": ["clinician", "indication", "kind", "after", "before"],
    "audit:audit_list": ["action", "user", "patient", "since", "until", "page"],
    "handouts:handout": ["lang", "size", "paper"],
}

hostile = st.one_of(
    st.text(max_size=50),
    st.text(min_size=2000, max_size=6000, alphabet="aé€\U0001f600"),
    st.sampled_from(["\x00", "a\x00b", "-1", "0", "99999999999999999999", "1e309", "NaN", "-0.0", "3.5", "[]", "{}",
                     "true", "0001-01-01", "9999-12-31", "2026-02-30", "10000-01-01", "1969-12-31T23:59:59",
                     "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "http://169.254.169.254/",
                     "00000000-0000-0000-0000-000000000000", "%00", "\u202e", " "]),
)  # fmt: skip
fuzz = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


def url_for(world, name, kind):
    if kind is None:
        return reverse(name)
    obj = world[kind]
    return reverse(name, args=[obj.uuid])


@pytest.mark.parametrize("name", sorted(POST_FORMS))
def test_form_posts_never_fail_with_a_server_error(world, name):
    kind, fields = POST_FORMS[name]
    url = url_for(world, name, kind)
    client = Client()
    if name != "login":
        client.force_login(world["users"]["clinician"])

    @fuzz
    @given(
        st.dictionaries(
            st.sampled_from(fields), st.one_of(hostile, st.lists(hostile, max_size=3)), max_size=len(fields)
        )
    )
    def check(data):
        response = client.post(url, data)
        assert response.status_code < 500, (name, data)

    check()


@pytest.mark.parametrize("name", sorted(QUERY_PAGES))
def test_query_strings_never_fail_with_a_server_error(world, name):
    url = url_for(world, name, "plan" if name.startswith("handouts") else None)
    client = Client()
    client.force_login(world["users"]["lead"])

    @fuzz
    @given(st.dictionaries(st.sampled_from(QUERY_PAGES[name]), hostile, max_size=4))
    def check(params):
        assert client.get(url, params).status_code < 500, (name, params)

    check()


def test_every_form_route_is_fuzzed():
    forms = {name for name, (_, rules) in MATRIX.items() if rules["POST"]["clinician"] == FORM}
    assert forms - set(POST_FORMS) == set()


@pytest.mark.parametrize("name", sorted(n for n, (_, rules) in MATRIX.items() if "POST" in rules))
def test_csrf_is_enforced_on_every_post(world, name):
    make_args, _ = MATRIX[name]
    url = reverse(name, args=make_args(world) if make_args else None)
    client = Client(enforce_csrf_checks=True)
    if name not in {"login", "reminders:feed"}:
        client.force_login(world["users"]["clinician"])
    response = client.post(url, {})
    if name == "admin:index":
        assert response.status_code in {302, 403}
    else:
        assert response.status_code in {403, 405}, (name, response.status_code)


def test_regressions_found_by_the_fuzzer(world):
    """Inputs that once gave a 500 on PostgreSQL: an over-long username, NUL bytes in a slug."""
    assert Client().post(reverse("login"), {"username": "a" * 5000, "password": "0"}).status_code == 200
    assert Client().post(reverse("login"), {"username": "al\x00ice", "password": "0"}).status_code == 200
    client = Client()
    client.force_login(world["users"]["clinician"])
    url = reverse("plans:plan_new", args=[world["patient"].uuid])
    assert client.post(url, {"indication": "\x00"}).status_code == 200
    assert client.get(url, {"indication": "a\x00b"}).status_code == 200
