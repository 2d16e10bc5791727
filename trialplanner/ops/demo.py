"""Demo data for `make run`: one clinic, a clinician, a clinical lead and a few patients.

Idempotent: running it again finds the same rows and resets the demo passwords.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction

from trialplanner.catalog.models import Condition, Indication
from trialplanner.clinictime import clinic_today
from trialplanner.patients import selectors
from trialplanner.patients.models import Clinic, Membership, Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services
from trialplanner.plans.models import FollowUp, Plan

DEMO_PASSWORD = "amitriptyline-demo"
DEMO_CLINIC = {
    "name": "Riverside Health Centre (demo)",
    "phone": "0300 555 0142",
    "address": "1 River Street\nExampletown EX1 2AB",
    "time_zone": "Europe/London",
}
DEMO_USERS = [
    # username, first, last, role, is_staff
    ("demo", "Dana", "Demo", Membership.Role.CLINICIAN, False),
    ("demo-lead", "Lee", "Lead", Membership.Role.LEAD, True),
]
# Demo plans: (mrn, indication, days since the plan started) so the worklist has something in it.
DEMO_PLANS = [
    ("DEMO-001", "migraine-prophylaxis", 28),  # first review due today
    ("DEMO-002", "fibromyalgia", 20),  # first review (2 weeks for an older patient) overdue
    ("DEMO-003", "irritable-bowel-syndrome", 10),  # first review later
]
DEMO_PATIENTS = [
    # mrn, display name, date of birth, sex, language, first risk profile (conditions, medicines, other fields)
    ("DEMO-001", "Ann Example", date(1968, 3, 14), Patient.Sex.FEMALE, Patient.Language.ENGLISH,
     ([], ["sertraline"], {"qtc_ms": 438, "ecg_date": date(2026, 9, 1)})),
    ("DEMO-002", "Bob Sample", date(1949, 11, 2), Patient.Sex.MALE, Patient.Language.ENGLISH,
     (["prostate-enlargement", "diabetes"], ["amlodipine", "oxybutynin"], {"falls": True})),
    ("DEMO-003", "Carmen Prueba", date(1985, 7, 30), Patient.Sex.FEMALE, Patient.Language.SPANISH,
     ([], [], {"breastfeeding": True})),
    ("DEMO-004", "Dev Testcase", date(1992, 1, 9), Patient.Sex.MALE, Patient.Language.ENGLISH,
     (["epilepsy"], ["fluoxetine", "tramadol"], {"alcohol": "moderate"})),
    ("DEMO-005", "Eve Responder", date(1979, 4, 12), Patient.Sex.FEMALE, Patient.Language.ENGLISH, ([], [], {})),
    ("DEMO-006", "Frank Steady", date(1971, 8, 3), Patient.Sex.MALE, Patient.Language.ENGLISH, ([], [], {})),
    ("DEMO-007", "Grace Drowsy", date(1983, 2, 20), Patient.Sex.FEMALE, Patient.Language.ENGLISH, ([], [], {})),
]  # fmt: skip
# Trials with a history, so the trajectory chart and the clinic outcome review show something:
# (mrn, indication, days since the first dose, baseline score, visits, stop). Each visit is
# (follow-up kind, score, side effects, adherence), recorded on its due date, deciding "continue";
# a stop is (reason, details), stopping the day after the last visit.
DEMO_HISTORIES = [
    ("DEMO-005", "peripheral-neuropathic-pain", 100, "7",
     [("first-review", "5", ["dry_mouth"], "all"), ("response", "3", ["dry_mouth"], "all")], None),  # a responder
    ("DEMO-006", "irritable-bowel-syndrome", 120, "320",
     [("first-review", "300", ["constipation"], "most"), ("response", "290", [], "all")], None),  # no response
    ("DEMO-007", "fibromyalgia", 35, "62",
     [("first-review", "58", ["drowsiness", "dizziness"], "most")],
     ("side_effect", "Daytime drowsiness and dizziness; the patient did not want to go on.")),
]  # fmt: skip


@transaction.atomic
def seed_demo():
    """Create or refresh the demo clinic, users and patients; return the users."""
    clinic = Clinic.objects.filter(name=DEMO_CLINIC["name"]).first()
    if clinic is None:
        clinic = Clinic.objects.create(**DEMO_CLINIC)
    user_model = get_user_model()
    users = []
    for username, first, last, role, is_staff in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        user.first_name, user.last_name, user.is_staff = first, last, is_staff
        user.email = f"{username}@example.org"
        user.set_password(DEMO_PASSWORD)
        user.save()
        if is_staff:
            catalog_perms = Permission.objects.filter(content_type__app_label="catalog")
            user.user_permissions.add(*catalog_perms)
        Membership.objects.update_or_create(user=user, clinic=clinic, defaults={"role": role})
        users.append(user)
    for mrn, name, born, sex, language, (conditions, medicines, fields) in DEMO_PATIENTS:
        patient, _ = Patient.objects.get_or_create(
            clinic=clinic,
            mrn=mrn,
            defaults={
                "display_name": name,
                "date_of_birth": born,
                "sex": sex,
                "preferred_language": language,
                "created_by": users[0],
            },
        )
        if not patient.risk_profiles.exists():
            risk_profile_create(
                patient=patient,
                user=users[0],
                fields=fields,
                conditions=Condition.objects.filter(slug__in=conditions),
                medications=[{"name": medicine} for medicine in medicines],
            )
    for mrn, slug, days_ago in DEMO_PLANS:
        patient = Patient.objects.get(clinic=clinic, mrn=mrn)
        if not patient.plans.exists():
            _demo_plan(
                patient, users[0], Indication.objects.get(slug=slug), clinic_today(clinic) - timedelta(days=days_ago)
            )
    for mrn, slug, days_ago, baseline, visits, stop in DEMO_HISTORIES:
        patient = Patient.objects.get(clinic=clinic, mrn=mrn)
        if not patient.plans.exists():
            today = clinic_today(clinic)
            plan = _demo_plan(
                patient,
                users[0],
                Indication.objects.get(slug=slug),
                today - timedelta(days=days_ago),
                baseline_score=Decimal(baseline),
            )
            _demo_history(plan, users[0], visits, stop, today)
    return clinic, users


def _demo_history(plan, user, visits, stop, today):
    last = plan.start_date
    for kind, score, side_effects, adherence in visits:
        plan = Plan.objects.get(series=plan.series, status=Plan.Status.ACTIVE)
        followup = plan.followups.filter(kind=kind, status=FollowUp.Status.DUE, due_date__lte=today).first()
        if followup is None:
            break
        services.followup_record_visit(
            followup=followup,
            user=user,
            visit_date=followup.due_date,
            outcome_score=Decimal(score),
            side_effects=side_effects,
            side_effects_other="",
            adherence=adherence,
            qtc_ms=None,
            decision="continue",
            notes="Demo visit.",
        )
        last = followup.due_date
    if stop is not None:
        plan = Plan.objects.get(series=plan.series, status=Plan.Status.ACTIVE)
        reason, details = stop
        services.plan_stop(
            plan=plan,
            user=user,
            lock_version=plan.lock_version,
            reason=details,
            stop_date=min(last + timedelta(days=1), today),
            stop_reason=reason,
        )


def _demo_plan(patient, user, indication, start, baseline_score=None):
    plan = services.plan_create(
        patient=patient, indication=indication, user=user, start_date=start, baseline_score=baseline_score
    )
    warnings = selectors.assess(patient, selectors.current_profile(patient), indication, start).warning_cards
    reasons = {
        card.code: "Demo: discussed with the patient; benefits judged to outweigh the risk." for card in warnings
    }
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons=reasons)
    return plan
