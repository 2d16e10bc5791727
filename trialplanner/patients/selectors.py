"""Reads of patient records that need care: the current profile and its engine view."""

from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from django.db.models import Q, Subquery

from trialplanner import engine
from trialplanner.catalog import selectors as catalog
from trialplanner.catalog.models import MonitoringItem
from trialplanner.engine import risk
from trialplanner.engine.checks import without_checks_on_file
from trialplanner.engine.types import Alcohol, Effects, Phenotype, Sex
from trialplanner.patients.models import RiskProfile


def current_profile(patient) -> RiskProfile | None:
    return patient.risk_profiles.prefetch_related("conditions", "medications").order_by("-version").first()


def baseline_qtc(patient, profile: RiskProfile) -> int | None:
    """The first QTc on record, if it comes from an earlier ECG than the profile's."""
    if profile.qtc_ms is None or profile.ecg_date is None:
        return None
    first = (
        patient.risk_profiles.filter(qtc_ms__isnull=False, ecg_date__lt=profile.ecg_date)
        .order_by("ecg_date", "version")
        .values_list("qtc_ms", flat=True)
        .first()
    )
    return first


def engine_profile(patient, profile: RiskProfile | None, on: date) -> engine.PatientProfile:
    """The engine's view of a patient as of one risk-profile version (or none yet)."""
    base = {"age": patient.age_on(on), "sex": Sex(patient.sex)}
    if profile is None:
        return engine.PatientProfile(**base)
    return engine.PatientProfile(
        **base,
        frail=profile.frail,
        falls=profile.falls,
        pregnant=profile.pregnant,
        breastfeeding=profile.breastfeeding,
        self_harm_last_12_months=profile.self_harm_last_12_months,
        alcohol=Alcohol(profile.alcohol),
        conditions=frozenset(c.slug for c in profile.conditions.all()),
        medications=tuple(medication_facts(m) for m in profile.medications.all()),
        cyp2d6=Phenotype(profile.cyp2d6) if profile.cyp2d6 else None,
        cyp2c19=Phenotype(profile.cyp2c19) if profile.cyp2c19 else None,
        qtc_ms=profile.qtc_ms,
        previous_qtc_ms=baseline_qtc(patient, profile),
        weight_kg=profile.weight_kg,
        potassium=profile.potassium,
        magnesium=profile.magnesium,
        sodium=profile.sodium,
        ecg_on=profile.ecg_date,
        bloods_on=profile.bloods_date,
    )


def medication_facts(entry) -> engine.Medication:
    """One saved medicine line as the engine reads it."""
    return engine.Medication(
        entry.name,
        entry.stopped_on,
        confirmed_as=getattr(entry, "confirmed_as", ""),
        started_on=getattr(entry, "started_on", None),
        this_course=getattr(entry, "this_course", False),
        daily_mg=getattr(entry, "daily_mg", None),
    )


def checks_on_file(profile: RiskProfile | None) -> dict[str, date]:
    """Baseline checks with a dated result on this profile version: monitoring slug -> date.

    Values entered without a date are used by the rules but never count as a check done.
    """
    if profile is None:
        return {}
    done = {}
    if profile.qtc_ms is not None and profile.ecg_date:
        done[risk.BASELINE_ECG] = profile.ecg_date
    if profile.bloods_date:
        if profile.potassium is not None and profile.magnesium is not None:
            done[risk.ELECTROLYTES] = profile.bloods_date
        if profile.sodium is not None:
            done[risk.SODIUM] = profile.bloods_date
    bp = (
        profile.bp_lying_systolic,
        profile.bp_lying_diastolic,
        profile.bp_standing_systolic,
        profile.bp_standing_diastolic,
    )
    if profile.bp_date and all(v is not None for v in bp):
        done[risk.LYING_STANDING_BP] = profile.bp_date
    return done


def profile_findings(patient, profile: RiskProfile | None) -> tuple[engine.Finding, ...]:
    """Reference A.3 applied to the lying/standing blood pressure on the profile (a low sodium on file
    is the engine's own rule, with its dated recheck)."""
    if profile is None:
        return ()
    measured = engine.VisitFindings(
        sex=Sex(patient.sex),
        bp_lying_systolic=profile.bp_lying_systolic,
        bp_lying_diastolic=profile.bp_lying_diastolic,
        bp_standing_systolic=profile.bp_standing_systolic,
        bp_standing_diastolic=profile.bp_standing_diastolic,
    )
    return engine.assess_findings(measured, catalog.rulebook())


def with_profile_findings(assessment, findings):
    """A critical finding blocks; a warning holds the start dose until reviewed (no rise)."""
    if not findings:
        return assessment
    cards = [replace(f.card, effects=Effects(hold_at_start=not f.critical)) for f in findings]
    return replace(
        assessment,
        cards=tuple(sorted((*assessment.cards, *cards), key=lambda c: c.sort_key)),
        hold_at_start=assessment.hold_at_start or any(not f.critical for f in findings),
    )


def assess(patient, profile, indication, on: date) -> engine.Assessment:
    """Run the engine's risk assessment for one indication, planned to start on `on`; baseline
    checks with a valid result on file are not asked again."""
    assessment = engine.assess_risk(
        engine_profile(patient, profile, on),
        catalog.indication_facts(indication),
        catalog.protocol_facts(indication.protocol),
        catalog.rulebook(),
        on,
    )
    assessment = with_profile_findings(assessment, profile_findings(patient, profile))
    return without_checks_on_file(assessment, checks_on_file(profile), catalog.check_validity(), on)


def monitoring_items(keys):
    """Catalog monitoring rows for the engine's monitoring keys, in the engine's order."""
    rows = {m.slug: m for m in MonitoringItem.objects.filter(slug__in=keys).prefetch_related(catalog.SOURCES)}
    return [rows[k] for k in keys if k in rows]


PATIENT_COUNT_CAP = 1000  # the list says "1,000+ patients" past this, rather than counting them all


@dataclass
class PatientPage:
    """A keyset page of patients by name: `after` / `before` are the UUIDs of the rows around it."""

    rows: list
    count: int  # at most PATIENT_COUNT_CAP + 1
    has_previous: bool
    has_next: bool

    @property
    def previous_cursor(self):
        return str(self.rows[0].uuid) if self.rows and self.has_previous else ""

    @property
    def next_cursor(self):
        return str(self.rows[-1].uuid) if self.rows and self.has_next else ""


def _cursor(raw):
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


def patient_page(patients, *, after=None, before=None, size=25, columns=None) -> PatientPage:
    """Patients in (name, id) order from a cursor: an ordered range scan of (clinic, display_name).

    The cursor is a patient UUID; its name and id are read inside the same query, so a URL
    never carries a name and a deep page costs what the first page costs. `columns` adds the
    shown values to the rows' query only (never to the cursor or count queries).
    """
    after, before = _cursor(after), _cursor(before)
    cursor = before or after
    rows = (columns or (lambda qs: qs))(patients.select_related("clinic"))
    if cursor:
        ref = patients.filter(uuid=cursor).order_by()
        name, pk = Subquery(ref.values("display_name")[:1]), Subquery(ref.values("id")[:1])
        if before:
            rows = rows.filter(Q(display_name__lte=name), Q(display_name__lt=name) | Q(id__lt=pk))
        else:
            rows = rows.filter(Q(display_name__gte=name), Q(display_name__gt=name) | Q(id__gt=pk))
    order = ("-display_name", "-id") if before else ("display_name", "id")
    found = list(rows.order_by(*order)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if before:
        found.reverse()
    if cursor and not found:
        return patient_page(patients, size=size, columns=columns)  # a cursor row gone or never visible: start again
    count = patients.order_by().values_list("clinic_id")[: PATIENT_COUNT_CAP + 1].count()
    return PatientPage(
        rows=found,
        count=count,
        has_previous=more if before else cursor is not None,
        has_next=True if before else more,
    )
