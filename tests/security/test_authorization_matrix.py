"""Every URL x {anonymous, clinician, colleague, outsider, lead} x {GET, POST} -> expected status.

A meta-test fails when a route has no row, so a new page cannot ship without its access rule.
Django's admin is left to its own staff permissions and checked as a single row.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "clinician", "colleague", "outsider", "lead"]
LOGIN = {302}  # anonymous visitors are sent to the login page
FORM = {200, 302, 400}  # an empty or invalid form: errors shown, or redirected with a message
NOT_ALLOWED = {405}


def everyone(code):
    return dict.fromkeys(["clinician", "colleague", "outsider", "lead"], {code})


def clinic_only(inside, outside=404):
    """Inside the patient's clinic: `inside`; the outsider: 404; anonymous: login."""
    return {"anonymous": LOGIN, "clinician": inside, "colleague": inside, "lead": inside, "outsider": {outside}}


def signed_in(get=200, post=FORM):
    return {"GET": {"anonymous": LOGIN, **everyone(get)}, "POST": {"anonymous": LOGIN, **dict.fromkeys(
        ["clinician", "colleague", "outsider", "lead"], post if isinstance(post, set) else {post})}}  # fmt: skip


def post_only(inside=FORM):
    return {"GET": {**clinic_only(NOT_ALLOWED, 405), "anonymous": LOGIN}, "POST": clinic_only(inside)}


MATRIX = {
    # name: (url arguments from the world, {method: {role: expected statuses}})
    "home": (None, signed_in(get=302, post=302)),
    "healthz": (None, {"GET": {"anonymous": {200}, **everyone(200)}, "POST": {"anonymous": {405}, **everyone(405)}}),
    "login": (None, {"GET": {"anonymous": {200}, **everyone(302)}, "POST": {"anonymous": {200}, **everyone(302)}}),
    "logout": (None, {"GET": {"anonymous": {302}, **everyone(405)}, "POST": {"anonymous": {302}, **everyone(302)}}),
    "catalog:indication_list": (None, signed_in(post=200)),
    "catalog:source_list": (None, signed_in(post=200)),
    "catalog:safety_rules": (None, signed_in(post=200)),
    "catalog:indication_detail": (lambda w: [w["indication"].slug], signed_in(post=200)),
    "patients:patient_list": (None, signed_in(post=200)),
    "patients:patient_create": (None, signed_in(post=200)),
    "patients:patient_detail": (lambda w: [w["patient"].uuid], {"GET": clinic_only({200}), "POST": clinic_only({200})}),
    "patients:patient_edit": (lambda w: [w["patient"].uuid], {"GET": clinic_only({200}), "POST": clinic_only({200})}),
    "patients:risk_profile_edit": (
        lambda w: [w["patient"].uuid],
        {"GET": clinic_only({200}), "POST": clinic_only(FORM)},
    ),
    "patients:risk_profile_detail": (
        lambda w: [w["patient"].uuid, 1],
        {"GET": clinic_only({200}), "POST": clinic_only({200})},
    ),
    "patients:clinic_detail": (
        lambda w: [w["patient"].clinic.uuid],
        {"GET": clinic_only({200}), "POST": clinic_only({200})},
    ),
    "plans:worklist": (None, signed_in(post=200)),
    "plans:plan_new": (lambda w: [w["patient"].uuid], {"GET": clinic_only({200}), "POST": clinic_only(FORM)}),
    "plans:plan_detail": (lambda w: [w["plan"].uuid], {"GET": clinic_only({200}), "POST": clinic_only({200})}),
    "plans:plan_revise": (lambda w: [w["plan"].uuid], {"GET": clinic_only({200}), "POST": clinic_only(FORM)}),
    "plans:plan_activate": (lambda w: [w["plan"].uuid], post_only()),
    "plans:plan_stop": (lambda w: [w["plan"].uuid], post_only()),
    "plans:plan_mark_error": (lambda w: [w["plan"].uuid], post_only()),
    "plans:followup_visit": (lambda w: [w["followup"].uuid], {"GET": clinic_only({200}), "POST": clinic_only(FORM)}),
    "plans:followup_book": (lambda w: [w["followup"].uuid], {"GET": clinic_only({200}), "POST": clinic_only(FORM)}),
    "plans:followup_snooze": (lambda w: [w["followup"].uuid], post_only()),
    "plans:followup_missed": (lambda w: [w["followup"].uuid], post_only()),
    "accounts:account": (None, signed_in(post=200)),
    "accounts:two_factor_setup": (None, signed_in(post=200)),
    "accounts:two_factor_verify": (None, signed_in(post=200)),
    "accounts:two_factor_remove": (None, signed_in(get=405, post=302)),
    "accounts:recovery_codes": (None, signed_in(post=200)),
    "accounts:recovery_codes_regenerate": (None, signed_in(get=405, post=302)),
    "accounts:password_change": (None, signed_in(post=200)),
    # Password reset is for people who cannot log in: open to everyone, and it tells nobody anything.
    "accounts:password_reset": (None, {m: {"anonymous": {200}, **everyone(200)} for m in ("GET", "POST")}),
    "accounts:password_reset_done": (
        None,
        {"GET": {"anonymous": {200}, **everyone(200)}, "POST": {"anonymous": {405}, **everyone(405)}},
    ),
    "accounts:password_reset_confirm": (
        lambda w: ["MQ", "not-a-token"],
        {m: {"anonymous": {200}, **everyone(200)} for m in ("GET", "POST")},
    ),
    "accounts:password_reset_complete": (
        None,
        {"GET": {"anonymous": {200}, **everyone(200)}, "POST": {"anonymous": {405}, **everyone(405)}},
    ),
    "accounts:member_two_factor_reset": (
        lambda w: [w["patient"].clinic.uuid],
        {
            m: {"anonymous": LOGIN, "clinician": {404}, "colleague": {404}, "outsider": {404}, "lead": {200}}
            for m in ("GET", "POST")
        },
    ),
    "reminders:feed_create": (
        None,
        {"GET": {"anonymous": LOGIN, **everyone(405)}, "POST": {"anonymous": LOGIN, **everyone(302)}},
    ),
    "reminders:feed_revoke": (
        None,
        {"GET": {"anonymous": LOGIN, **everyone(405)}, "POST": {"anonymous": LOGIN, **everyone(302)}},
    ),
    # The feed's secret token is its credential: calendar apps cannot log in.
    "reminders:feed": (
        lambda w: [w["feed"].token],
        {"GET": {"anonymous": {200}, **everyone(200)}, "POST": {"anonymous": {200}, **everyone(200)}},
    ),
    "reminders:plan_ics": (lambda w: [w["plan"].uuid], {"GET": clinic_only({200}), "POST": clinic_only({200})}),
    "handouts:handout": (lambda w: [w["plan"].uuid], {"GET": clinic_only({200}), "POST": clinic_only({200})}),
    "handouts:handout_pdf": (lambda w: [w["plan"].uuid], {"GET": clinic_only({200}), "POST": clinic_only({200})}),
    "audit:audit_list": (
        None,
        {
            m: {"anonymous": LOGIN, "clinician": {404}, "colleague": {404}, "outsider": {404}, "lead": {200}}
            for m in ("GET", "POST")
        },
    ),  # fmt: skip
    "audit:audit_csv": (
        None,
        {
            m: {"anonymous": LOGIN, "clinician": {404}, "colleague": {404}, "outsider": {404}, "lead": {200}}
            for m in ("GET", "POST")
        },
    ),  # fmt: skip
    # Every signed-in user sees the review of their own clinic (the outsider: Beta Clinic's).
    "outcomes:outcome_review": (None, signed_in(post=200)),
    "outcomes:outcome_review_csv": (None, signed_in(post=200)),
    "interop:patient_import": (None, signed_in(post=200)),
    # CDS Hooks endpoints take a signed JWT, never a session: 401 for everyone without one.
    "interop:cds_discovery": (
        None,
        {"GET": {"anonymous": {401}, **everyone(401)}, "POST": {"anonymous": {405}, **everyone(405)}},
    ),
    "interop:cds_service": (
        lambda w: ["amitriptyline-order-select"],
        {"GET": {"anonymous": {405}, **everyone(405)}, "POST": {"anonymous": {401}, **everyone(401)}},
    ),
    "interop:cds_feedback": (
        lambda w: ["amitriptyline-order-select"],
        {"GET": {"anonymous": {405}, **everyone(405)}, "POST": {"anonymous": {401}, **everyone(401)}},
    ),
    "interop:cds_clients": (
        lambda w: [w["patient"].clinic.uuid],
        {
            m: {"anonymous": LOGIN, "clinician": {404}, "colleague": {404}, "outsider": {404}, "lead": {200}}
            for m in ("GET", "POST")
        },
    ),  # fmt: skip
    "interop:cds_client_deactivate": (
        lambda w: [w["patient"].clinic.uuid, "00000000-0000-0000-0000-000000000000"],
        {"GET": {"anonymous": LOGIN, **everyone(405)}, "POST": {"anonymous": LOGIN, **everyone(404)}},
    ),
    "interop:plan_fhir": (
        lambda w: [w["plan"].uuid],
        {"GET": clinic_only({200}), "POST": {"anonymous": LOGIN, **everyone(405)}},
    ),
    "admin:index": (None, {m: {"anonymous": {302}, **everyone(302)} for m in ("GET", "POST")}),  # staff only
}


def route_names(patterns=None, namespace=None):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns == "admin":
                yield "admin:index"
                continue
            yield from route_names(entry.url_patterns, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}:{entry.name}" if namespace else entry.name


def test_it_has_a_row_for_every_route():
    missing = sorted(set(route_names()) - set(MATRIX))
    assert missing == [], f"Add these routes to the authorization matrix: {missing}"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_it_gives_each_route_its_expected_access(world, name):
    make_args, expectations = MATRIX[name]
    url = reverse(name, args=make_args(world) if make_args else None)
    failures = []
    for method, by_role in expectations.items():
        assert set(by_role) == set(ROLES), f"{name} {method} must list every role"
        for role in ROLES:
            client = Client()
            if world["users"][role] is not None:
                client.force_login(world["users"][role])
            response = client.get(url) if method == "GET" else client.post(url, {})
            if response.status_code not in by_role[role]:
                failures.append(f"{method} as {role}: {response.status_code}, expected {sorted(by_role[role])}")
    assert failures == [], f"{name} ({url}): " + "; ".join(failures)
