"""Deterministic load data: N patients with risk profiles, active plans, follow-ups and visits.

Plans are built by the engine for a handful of patient templates, then copied with shifted
dates, so 10,000 patients take seconds rather than minutes.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import Indication
from trialplanner.clinictime import clinic_today
from trialplanner.engine import Medication, PatientProfile, assess_risk, build_plan
from trialplanner.engine.types import Sex
from trialplanner.outcomes import services as outcomes
from trialplanner.patients.models import Clinic, Membership, Patient, RiskProfile
from trialplanner.plans import services
from trialplanner.plans.models import FollowUp, Plan, Step, Visit

LOAD_CLINIC = "Load Test Clinic"
LOAD_PASSWORD = "load-test-password-2026"
BATCH = 2000
# Baseline scores, so the outcome review judges the seeded visits (scored 0-9) against something.
BASELINES = [Decimal(n) for n in (6, 7, 8, 9)]
# (age, sex, medicines, indication slug): profiles with no critical finding, so every plan builds.
TEMPLATES = [
    (45, "female", [], "peripheral-neuropathic-pain"),
    (70, "male", ["amlodipine"], "fibromyalgia"),
    (33, "female", ["sumatriptan"], "migraine-prophylaxis"),
    (58, "male", [], "irritable-bowel-syndrome"),
    (29, "female", [], "tension-type-headache"),
    (66, "female", ["sertraline"], "postherpetic-neuralgia"),
    (51, "male", [], "bladder-pain-syndrome"),
    (40, "female", [], "insomnia"),
]


def _drafts(today):
    rules = catalog.rulebook()
    options = services.plan_options(tablet_strength_mg=10)
    indications = {i.slug: i for i in Indication.objects.select_related("protocol")}
    drafts = []
    for age, sex, medicines, slug in TEMPLATES:
        indication = indications[slug]
        protocol = catalog.protocol_facts(indication.protocol)
        profile = PatientProfile(age=age, sex=Sex(sex), medications=tuple(Medication(m) for m in medicines))
        start = today - timedelta(days=21)
        assessment = assess_risk(profile, catalog.indication_facts(indication), protocol, rules, start)
        drafts.append((indication, build_plan(protocol, assessment, start, options, rules), assessment))
    return drafts


@transaction.atomic
def seed_load(patients: int, seed: int = 2026, today: date | None = None) -> dict:
    """Create `patients` load-test patients (on top of any earlier ones); return row counts created."""
    rng = random.Random(seed)
    clinic, _ = Clinic.objects.get_or_create(name=LOAD_CLINIC, defaults={"phone": "0100 555 0000"})
    today = today or clinic_today(clinic)
    user, created = get_user_model().objects.get_or_create(username="load", defaults={"first_name": "Load"})
    if created:
        user.set_password(LOAD_PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": Membership.Role.LEAD})
    start_index = Patient.objects.filter(clinic=clinic).count()
    drafts = _drafts(today)
    counts = {"patients": 0, "plans": 0, "steps": 0, "followups": 0, "visits": 0}
    for first in range(start_index, start_index + patients, BATCH):
        last = min(first + BATCH, start_index + patients)
        batch = list(range(first, last))
        people = Patient.objects.bulk_create(
            Patient(
                clinic=clinic,
                display_name=f"Load Patient {i:05d}",
                mrn=f"L{i:06d}",
                date_of_birth=date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
                sex=("female", "male")[i % 2],
                created_by=user,
            )
            for i in batch
        )
        people = list(Patient.objects.filter(clinic=clinic, mrn__in=[p.mrn for p in people]).order_by("mrn"))
        RiskProfile.objects.bulk_create(RiskProfile(patient=p, version=1, created_by=user) for p in people)
        plans = []
        shifts = []
        for patient in people:
            indication, draft, assessment = drafts[rng.randrange(len(drafts))]
            shift = timedelta(days=rng.randrange(-40, 40))
            shifts.append((draft, shift))
            plans.append(
                Plan(
                    patient=patient,
                    indication=indication,
                    kind=Plan.Kind.TITRATION,
                    status=Plan.Status.ACTIVE,
                    start_date=draft.start_date + shift,
                    end_date=draft.end_date + shift,
                    start_mg=draft.start_mg,
                    target_mg=draft.target_mg,
                    ceiling_mg=draft.ceiling_mg,
                    days_per_step=draft.days_per_step,
                    supply_limit_days=draft.supply_limit_days,
                    target_date=draft.target_date + shift,
                    response_date=draft.response_date + shift,
                    protocol_snapshot={},
                    engine_input={"seeded": True},
                    cards=[services.card_json(c) for c in assessment.cards],
                    adjustments=[services.adjustment_json(a) for a in draft.adjustments],
                    monitoring=list(draft.monitoring),
                    clinician=user,
                    created_by=user,
                    activated_by=user,
                    activated_at=timezone.now(),
                    baseline_score=BASELINES[len(plans) % len(BASELINES)],
                )
            )
        Plan.objects.bulk_create(plans)
        plans = list(Plan.objects.filter(patient__in=people).order_by("patient__mrn"))
        steps, followups = [], []
        for plan, (draft, shift) in zip(plans, shifts, strict=True):
            for s in draft.steps:
                steps.append(
                    Step(
                        plan=plan,
                        number=s.number,
                        kind=s.kind.value,
                        start_date=s.start + shift,
                        end_date=s.end + shift,
                        dose_mg=s.dose_mg,
                        tablets=[
                            {"strength_mg": f"{t.strength_mg.normalize():f}", "count": t.count} for t in s.tablets
                        ],
                        liquid_ml=s.liquid_ml,
                    )
                )
            for f in draft.followups:
                followups.append(
                    FollowUp(
                        plan=plan,
                        clinic=clinic,
                        due_date=f.due + shift,
                        kind=f.kind.value,
                        assess=list(f.assess),
                        worklist_date=f.due + shift,
                    )
                )
        Step.objects.bulk_create(steps, batch_size=BATCH)
        FollowUp.objects.bulk_create(followups, batch_size=BATCH)
        # One past follow-up in three has been seen: a visit that continued the plan.
        done = list(FollowUp.objects.filter(plan__in=plans, due_date__lt=today).order_by("id")[: len(plans) // 3])
        FollowUp.objects.filter(pk__in=[f.pk for f in done]).update(status=FollowUp.Status.DONE, worklist_date=None)
        Visit.objects.bulk_create(
            Visit(
                followup=f,
                plan_id=f.plan_id,
                visit_date=f.due_date,
                dose_mg=10,
                outcome_score=rng.randrange(0, 10),
                adherence="all",
                decision="continue",
                recorded_by=user,
                side_effects=[],
            )
            for f in done
        )
        series = [plan.series for plan in plans]  # the outcome review's rows, as the services keep them
        for first_trial in range(0, len(series), outcomes.BATCH):
            outcomes.refresh_trials(series[first_trial : first_trial + outcomes.BATCH])
        counts["patients"] += len(people)
        counts["plans"] += len(plans)
        counts["steps"] += len(steps)
        counts["followups"] += len(followups)
        counts["visits"] += len(done)
    return counts


def vacuum_analyze():
    """After a bulk load on PostgreSQL (outside any transaction): planner statistics, without
    which it picks nested loops that take seconds per query, and the visibility map that lets
    the worklist counts be index-only scans. Autovacuum would get there too, later."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # VACUUM cannot run inside a transaction (as in the tests); ANALYZE alone can.
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
