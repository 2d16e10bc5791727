"""Plan lifecycle: create, activate, revise, stop with a taper, mark entered in error. Each is one transaction."""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from trialplanner import engine
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.catalog import selectors as catalog
from trialplanner.outcomes import services as outcomes
from trialplanner.patients import selectors as patient_selectors
from trialplanner.plans import selectors
from trialplanner.plans.models import Acknowledgement, Plan
from trialplanner.plans.selectors import dose_on
from trialplanner.plans.services.engine_io import plan_options
from trialplanner.plans.services.errors import AcknowledgementRequired, PlanError
from trialplanner.plans.services.records import _close_followups, _end, _lock, _lock_patient, _require_fresh, _save


@transaction.atomic
def plan_create(*, patient, indication, user, start_date, target_mg=None, tablet_strength_mg=None,
                days_per_step=None, baseline_score=None) -> Plan:  # fmt: skip
    """Build a draft plan through the engine; raises engine errors instead of saving a bad plan."""
    _lock_patient(patient.pk)
    options = plan_options(target_mg=target_mg, tablet_strength_mg=tablet_strength_mg, days_per_step=days_per_step)
    profile = patient_selectors.current_profile(patient)
    assessment = selectors.assess_course(patient, profile, indication, start_date)
    draft = engine.build_plan(
        catalog.protocol_facts(indication.protocol), assessment, start_date, options, catalog.rulebook()
    )
    return _save(
        patient=patient,
        indication=indication,
        user=user,
        draft=draft,
        assessment=assessment,
        profile=profile,
        options=options,
        kind=Plan.Kind.TITRATION,
        start_date=start_date,
        baseline_score=baseline_score,
    )


@dataclass(frozen=True)
class CardReason:
    """Why a plan goes ahead despite one warning card: the words, and for a card that accepts only
    specialist advice (high QT risk), who gave the advice and when."""

    text: str = ""
    advice_by: str = ""
    advice_on: date | None = None

    def answers(self, card) -> bool:
        if card.needs_specialist_advice:
            return bool(self.advice_by.strip()) and self.advice_on is not None
        return bool(self.text.strip())

    def recorded(self, card) -> str:
        if not card.needs_specialist_advice:
            return self.text.strip()
        assert self.advice_on is not None  # answers() was checked first
        said = f"Specialist advice from {self.advice_by.strip()} on {self.advice_on.isoformat()}"
        return f"{said}: {self.text.strip()}" if self.text.strip() else f"{said}."


@transaction.atomic
def plan_activate(*, plan, user, lock_version, reasons: dict[str, CardReason]) -> Plan:
    """Activate a draft: refused while a critical card stands, a warning lacks a reason (or, for a card
    that accepts only specialist advice, who gave it and when), or the version it was built from is no
    longer the current one. `reasons` maps each warning card's code to its reason."""
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if plan.status != Plan.Status.DRAFT:
        raise PlanError(f"Only a draft can be activated; this version is {plan.get_status_display().lower()}.")
    _require_fresh(plan)
    profile = patient_selectors.current_profile(plan.patient)
    if (profile.pk if profile else None) != plan.risk_profile_id:
        raise PlanError("The risk profile changed after this draft was built. Revise the draft to rebuild it.")
    assessment = selectors.assess_course(plan.patient, profile, plan.indication, plan.start_date, series=plan.series)
    if assessment.blocked:
        raise engine.PlanBlocked(assessment.critical_cards)
    given = {
        code: reason if isinstance(reason, CardReason) else CardReason(str(reason or ""))
        for code, reason in reasons.items()
    }
    missing = [c for c in assessment.warning_cards if not given.get(c.code, CardReason()).answers(c)]
    if missing:
        raise AcknowledgementRequired(missing)
    Acknowledgement.objects.bulk_create(
        Acknowledgement(
            plan=plan,
            card_code=c.code,
            card_key=c.key,
            card_summary=c.summary,
            subjects=list(c.subjects),
            reason=given[c.code].recorded(c),
            advice_by=given[c.code].advice_by.strip() if c.needs_specialist_advice else "",
            advice_on=given[c.code].advice_on if c.needs_specialist_advice else None,
            acknowledged_by=user,
        )
        for c in assessment.warning_cards
    )
    for current in Plan.objects.filter(series=plan.series, status=Plan.Status.ACTIVE).exclude(pk=plan.pk):
        _end(current, user, Plan.Status.REVISED, f"Replaced by version {plan.version}.")
        _close_followups(current, user)
    plan.status = Plan.Status.ACTIVE
    plan.activated_by, plan.activated_at = user, timezone.now()
    plan.save(update_fields=["status", "activated_by", "activated_at"])
    plan.followups.refresh_worklist()
    audit_log(AuditEvent.Action.UPDATE, plan, user=user, detail=f"activated version {plan.version}")
    outcomes.refresh_trials([plan.series])  # the trial now counts in the outcome review (or its target moved)
    return plan


REVISE_REFUSED = "Only a draft or active titration plan can be revised."


def plan_revisable(plan) -> bool:
    """Whether plan_revise accepts this version: a draft or active titration plan."""
    return plan.is_open and plan.kind == Plan.Kind.TITRATION


@transaction.atomic
def plan_revise(*, plan, user, lock_version, start_date, target_mg=None, tablet_strength_mg=None,
                days_per_step=None) -> Plan:  # fmt: skip
    """Make a new draft version from new choices; the revised version is kept as it was."""
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if not plan_revisable(plan):
        raise PlanError(REVISE_REFUSED)
    _require_fresh(plan)
    options = plan_options(target_mg=target_mg, tablet_strength_mg=tablet_strength_mg, days_per_step=days_per_step)
    profile = patient_selectors.current_profile(plan.patient)
    assessment = selectors.assess_course(plan.patient, profile, plan.indication, start_date, series=plan.series)
    draft = engine.build_plan(
        catalog.protocol_facts(plan.indication.protocol), assessment, start_date, options, catalog.rulebook()
    )
    if plan.status == Plan.Status.DRAFT:
        _end(plan, user, Plan.Status.REVISED, "Replaced by a revised draft.")
        _close_followups(plan, user)
    return _save(
        patient=plan.patient,
        indication=plan.indication,
        user=user,
        draft=draft,
        assessment=assessment,
        profile=profile,
        options=options,
        kind=Plan.Kind.TITRATION,
        series=plan.series,
        previous=plan,
        start_date=start_date,
        built_from=plan if plan.status == Plan.Status.ACTIVE else plan.built_from,
    )


@transaction.atomic
def plan_stop(*, plan, user, lock_version, reason, stop_date, stop_reason=Plan.StopReason.OTHER) -> Plan | None:
    """Stop an active plan and create its taper (the new active version). Returns the taper."""
    if stop_reason not in Plan.StopReason.values:
        raise PlanError("Choose why the trial is stopped.")
    if stop_reason == Plan.StopReason.OTHER and not reason.strip():
        raise PlanError("Describe why the trial is stopped.")
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if plan.status != Plan.Status.ACTIVE or plan.kind != Plan.Kind.TITRATION:
        raise PlanError("Only an active titration plan can be stopped with a taper.")
    if stop_date < plan.start_date:
        raise PlanError("The taper cannot start before the plan started.")
    current = dose_on(plan, stop_date)
    first_start = Plan.objects.filter(series=plan.series).order_by("version").values_list("start_date", flat=True)[0]
    weeks = (stop_date - first_start).days // 7
    _end(plan, user, Plan.Status.STOPPED, reason.strip(), stop_reason)
    _close_followups(plan, user)
    taper = None
    if current > 0:
        options = plan_options(tablet_strength_mg=plan.tablet_strength_mg)
        draft = engine.build_taper(
            current, weeks, stop_date, catalog.rulebook(), options.strengths, options.tablet_strength_mg
        )
        taper = _save(
            patient=plan.patient,
            indication=plan.indication,
            user=user,
            draft=draft,
            assessment=None,
            profile=plan.risk_profile,
            options=options,
            kind=Plan.Kind.TAPER,
            series=plan.series,
            previous=plan,
            status=Plan.Status.ACTIVE,
            start_date=stop_date,
            built_from=plan,
        )
    outcomes.refresh_trials([plan.series])  # stopped, and why
    return taper


@transaction.atomic
def plan_mark_entered_in_error(*, plan, user, lock_version, reason) -> Plan:
    """Mark a version as entered in error; it stays on record, its follow-ups are cancelled."""
    _lock_patient(plan.patient_id)
    _lock(plan, lock_version)
    if plan.status == Plan.Status.ENTERED_IN_ERROR:
        raise PlanError("This version is already marked as entered in error.")
    if not reason.strip():
        raise PlanError("Give a reason.")
    _end(plan, user, Plan.Status.ENTERED_IN_ERROR, reason.strip())
    _close_followups(plan, user)
    outcomes.refresh_trials([plan.series])  # the version no longer counts
    return plan
