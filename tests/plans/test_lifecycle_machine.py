"""The plan lifecycle as a Hypothesis state machine: any order of create, revise, activate, visit,
snooze, stop and entered in error keeps the invariants of docs/lifecycle.md."""

from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.conftest import PLAN_START as START
from trialplanner.catalog.models import Indication
from trialplanner.engine import EngineError
from trialplanner.patients.models import Clinic, Membership, Patient
from trialplanner.patients.services import risk_profile_create
from trialplanner.plans import services
from trialplanner.plans.models import FollowUp, Plan, Visit

pytestmark = pytest.mark.django_db

INDICATIONS = ("peripheral-neuropathic-pain", "migraine-prophylaxis")
DECISIONS = ("continue", "step_up", "hold", "step_down", "stop")
REFUSED = (services.PlanError, EngineError)  # a refusal with a message; anything else is a bug
which = st.integers(min_value=0, max_value=3)  # small: actions often meet the same plan
days = st.integers(min_value=0, max_value=90)


class Lifecycle(RuleBasedStateMachine):
    """One patient, two indications, one or two clinicians acting in any order."""

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # each run is rolled back in teardown
        self.visits = 0

    @initialize()
    def setup(self):
        from django.contrib.auth import get_user_model

        clinic = Clinic.objects.create(name="Machine Clinic", phone="0100", time_zone="Europe/London")
        self.user = get_user_model().objects.create_user(username="machine", password="x-machine-x")
        Membership.objects.create(user=self.user, clinic=clinic, role=Membership.Role.CLINICIAN)
        self.patient = Patient.objects.create(
            clinic=clinic,
            display_name="Machine Patient",
            date_of_birth=date(1991, 3, 1),
            sex="female",
            created_by=self.user,
        )
        risk_profile_create(patient=self.patient, user=self.user, fields={}, conditions=[], medications=[])
        self.indications = list(Indication.objects.select_related("protocol").filter(slug__in=INDICATIONS))
        first = services.plan_create(
            patient=self.patient, indication=self.indications[0], user=self.user, start_date=START
        )
        services.plan_activate(plan=first, user=self.user, lock_version=first.lock_version, reasons={})

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def pick(self, n, **filters):
        plans = list(Plan.objects.filter(patient=self.patient, **filters).order_by("pk"))
        return plans[n % len(plans)] if plans else None

    def attempt(self, action, **kwargs):
        try:
            return action(**kwargs)
        except REFUSED:
            return None

    # --- actions -----------------------------------------------------------------------------

    @rule(n=which, offset=days)
    def create(self, n, offset):
        indication = self.indications[n % len(self.indications)]
        self.attempt(
            services.plan_create,
            patient=self.patient,
            indication=indication,
            user=self.user,
            start_date=START + timedelta(days=offset),
        )

    @rule(n=which, offset=days)
    def revise(self, n, offset):
        plan = self.pick(n, status__in=["draft", "active"], kind="titration")
        if plan is not None:
            self.attempt(
                services.plan_revise,
                plan=plan,
                user=self.user,
                lock_version=plan.lock_version,
                start_date=START + timedelta(days=offset),
            )

    @rule(n=which)
    def activate(self, n):
        plan = self.pick(n, status="draft")
        if plan is not None:
            self.attempt(services.plan_activate, plan=plan, user=self.user, lock_version=plan.lock_version, reasons={})

    @rule(n=which, offset=days, decision=st.sampled_from(DECISIONS))
    def visit(self, n, offset, decision):
        followup = self.open_followup(n)
        if followup is None:
            return
        plan = followup.plan
        if plan.kind == "taper" and decision not in ("continue", "hold"):
            decision = "continue"
        result = self.attempt(
            services.followup_record_visit,
            followup=followup,
            user=self.user,
            visit_date=plan.start_date + timedelta(days=offset),
            outcome_score=None,
            side_effects=[],
            side_effects_other="",
            adherence="all",
            qtc_ms=None,
            decision=decision,
            notes="",
        )
        if result is not None:
            self.visits += 1

    @rule(n=which, offset=days)
    def snooze(self, n, offset):
        followup = self.open_followup(n)
        if followup is not None:
            self.attempt(
                services.followup_snooze,
                followup=followup,
                user=self.user,
                reason="Phone engaged",
                today=START + timedelta(days=offset),
            )

    @rule(n=which, offset=days)
    def stop(self, n, offset):
        plan = self.pick(n, status="active", kind="titration")
        if plan is not None:
            self.attempt(
                services.plan_stop,
                plan=plan,
                user=self.user,
                lock_version=plan.lock_version,
                reason="Side effects",
                stop_date=plan.start_date + timedelta(days=offset),
            )

    @rule(n=which)
    def entered_in_error(self, n):
        plan = self.pick(n)
        if plan is not None:
            self.attempt(
                services.plan_mark_entered_in_error,
                plan=plan,
                user=self.user,
                lock_version=plan.lock_version,
                reason="Wrong entry",
            )

    def open_followup(self, n):
        followups = list(
            FollowUp.objects.filter(plan__patient=self.patient, plan__status="active", status__in=FollowUp.OPEN)
            .select_related("plan__patient__clinic", "plan__indication__outcome_measure")
            .order_by("pk")
        )
        return followups[n % len(followups)] if followups else None

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def one_active_course(self):
        if hasattr(self, "patient"):
            assert Plan.objects.filter(patient=self.patient, status="active").count() <= 1

    @invariant()
    def active_steps_are_contiguous_from_the_start(self):
        for plan in Plan.objects.filter(status="active").prefetch_related("steps"):
            steps = list(plan.steps.all())
            assert steps and steps[0].start_date == plan.start_date
            for before, after in zip(steps, steps[1:], strict=False):
                assert after.start_date == before.end_date + timedelta(days=1)

    @invariant()
    def no_open_followup_off_an_open_plan(self):
        followups = FollowUp.objects.all()
        assert not followups.filter(status__in=FollowUp.OPEN).exclude(plan__status__in=["active", "draft"]).exists()
        assert not followups.filter(worklist_date__isnull=False).exclude(plan__status="active").exists()

    @invariant()
    def each_activation_builds_on_the_one_before(self):
        """No version is lost: each version that went live was built from the one live before it."""
        series = {}
        for plan in Plan.objects.filter(activated_at__isnull=False).order_by("activated_at", "pk"):
            series.setdefault(plan.series, []).append(plan)
        for chain in series.values():
            assert chain[0].built_from_id is None or chain[0].built_from_id not in {p.pk for p in chain}
            for before, after in zip(chain, chain[1:], strict=False):
                assert after.built_from_id == before.pk, (before, after)

    @invariant()
    def no_lost_visit(self):
        assert Visit.objects.count() == self.visits
        assert not Visit.objects.exclude(followup__status="done").exists()
        # A version that took effect at a visit is replaced only by something built after it.
        for v in Visit.objects.filter(new_plan__activated_at__isnull=False).select_related("new_plan"):
            active = Plan.objects.filter(series=v.new_plan.series, status="active").first()
            if active is not None:
                assert active.pk >= v.new_plan.pk, (active, v.new_plan)


def test_it_keeps_the_lifecycle_invariants(catalog):
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=12, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
