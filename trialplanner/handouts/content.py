"""What a handout shows, built from the saved plan: the same data as the plan page."""

import hashlib
import json
import re
from datetime import timedelta
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from trialplanner.catalog import selectors as catalog_selectors
from trialplanner.plans.models import FollowUp

LANGUAGES = {"en": "English", "es": "Español"}

# What the medicine is for, in the patient's words (the catalog names are for clinicians),
# as the end of "You are taking amitriptyline ...": a purpose reads right in both languages,
# where "to help with fewer migraines" / "ayudar con: tener menos migrañas" did not.
PLAIN_PURPOSES = {
    "peripheral-neuropathic-pain": gettext_lazy("to ease nerve pain"),
    "postherpetic-neuralgia": gettext_lazy("to ease nerve pain after shingles"),
    "migraine-prophylaxis": gettext_lazy("to have fewer migraines"),
    "tension-type-headache": gettext_lazy("to have fewer tension headaches"),
    "fibromyalgia": gettext_lazy("to ease fibromyalgia pain"),
    "irritable-bowel-syndrome": gettext_lazy("to ease irritable bowel syndrome (IBS)"),
    "bladder-pain-syndrome": gettext_lazy("to ease bladder pain"),
    "insomnia": gettext_lazy("to help you sleep better"),
    "chronic-low-back-pain": gettext_lazy("to ease long-term back pain"),
}
# What each kind of appointment is for, in the patient's words.
APPOINTMENT_PURPOSES = {
    FollowUp.Kind.BASELINE: gettext_lazy("Checks before you start"),
    FollowUp.Kind.FIRST_REVIEW: gettext_lazy("First check: how the tablets suit you"),
    FollowUp.Kind.AT_TARGET: gettext_lazy("Check when you reach your full dose"),
    FollowUp.Kind.RESPONSE: gettext_lazy("Decide together if the medicine helps"),
    FollowUp.Kind.PERIODIC: gettext_lazy("Regular check-up"),
    FollowUp.Kind.TAPER_REVIEW: gettext_lazy("Check after stopping"),
    FollowUp.Kind.RECHECK: gettext_lazy("Extra check after your last visit"),
    FollowUp.Kind.CHECK: gettext_lazy("A check before your dose goes up (blood test or heart tracing)"),
    FollowUp.Kind.RISE_REVIEW: gettext_lazy("A check with the clinic before your dose goes up"),
}
# Why a course was stopped at once (reference A.3 critical findings), in the patient's words: what was
# found, what to watch for now, and the check booked. Keyed by the finding's card code.
STOP_NOW_FINDINGS = {
    "visit-qtc-critical": {
        "why": gettext_lazy(
            "Your heart tracing (ECG) showed a change in your heart rhythm. Amitriptyline can make this "
            "change worse, and that can lead to a dangerous heartbeat."
        ),
        "watch": gettext_lazy(
            "If you faint or have chest pain, call an ambulance. If your heartbeat feels fast or uneven, "
            "call us the same day."
        ),
        "check": gettext_lazy(
            "We will do your ECG again and check the salts in your blood. We will also ask a heart doctor to see you."
        ),
    },
    "visit-sodium-critical": {
        "why": gettext_lazy(
            "Your blood test showed too little salt (sodium) in your blood. Amitriptyline can cause this."
        ),
        "watch": gettext_lazy(
            "Watch for: feeling confused, falls, feeling sick or a headache. If these come on or get worse, "
            "call us the same day, or go to the emergency department if we are closed."
        ),
        "check": gettext_lazy("You need a check and a new blood test today."),
    },
    "visit-serotonin-toxicity": {
        "why": gettext_lazy(
            "You have signs of too much serotonin: for example shaking, twitching, sweating or a high "
            "temperature. Amitriptyline can add to this."
        ),
        "watch": gettext_lazy(
            "If you feel very hot, confused or stiff, or your heart beats fast, go to the emergency department now."
        ),
        "check": gettext_lazy("You need an urgent check today."),
    },
}
# What a step waits for (reference A.4: dated checks follow their cards), in the patient's words.
# Keyed by the catalog monitoring slug the engine puts on the step.
AWAITED_CHECKS = {
    "baseline-ecg": gettext_lazy("your heart tracing (ECG)"),
    "repeat-ecg-at-target": gettext_lazy("your heart tracing (ECG)"),
    "repeat-ecg-before-rise": gettext_lazy("your heart tracing (ECG)"),
    "ecg-before-higher-dose": gettext_lazy("your heart tracing (ECG)"),
    "potassium-magnesium": gettext_lazy("your blood test"),
    "sodium": gettext_lazy("your blood test"),
    "sodium-after-start": gettext_lazy("your blood test"),
    "sodium-recheck": gettext_lazy("your blood test"),
    "lying-standing-bp": gettext_lazy("your blood pressure check"),
    "rise-review": gettext_lazy("a check with the clinic (by phone or a visit)"),
}
PAPERS = {"a4": "A4", "letter": "Letter"}
WEEK = 7
# Weeks at the final dose listed one by one (each with its tick box) before the single
# "until your review" row: a layout choice that keeps a standard plan to two sheets (none since the
# tablet change at the target is printed in its row, reference A.4; the diary keeps the weekly record).
SETTLED_WEEKS = 0


def _num(value) -> str:
    return f"{Decimal(value).normalize():f}"


def each_night(step) -> str:
    """How much to take each night, in the patient's words and language."""
    if step.liquid_ml is not None:
        return _("%(ml)s ml of the liquid") % {"ml": _num(step.liquid_ml)}
    if not step.tablets:
        return _("Stop: do not take any more")
    parts = [
        ngettext("%(count)s tablet of %(mg)s mg", "%(count)s tablets of %(mg)s mg", t["count"])
        % {"count": t["count"], "mg": _num(t["strength_mg"])}
        for t in step.tablets
    ]
    return _(" and ").join(parts)


# The engine names a liquid by its StrengthFacts.label, "10 mg/5 ml oral solution": the strength
# part reads the same in every language, the words around it do not.
LIQUID_LABEL = re.compile(r"^(?P<strength>\S+ mg/\S+ ml) oral solution$")


def _liquid_amount(step) -> str:
    amount = {"ml": _num(step.liquid_ml)}
    label = LIQUID_LABEL.match(step.liquid_label)
    if label:
        return _("%(ml)s ml of %(strength)s oral solution") % {**amount, "strength": label["strength"]}
    if step.liquid_label:
        return _("%(ml)s ml of %(label)s") % {**amount, "label": step.liquid_label}
    return _("%(ml)s ml of oral solution") % amount


def step_directions(step) -> str:
    """A step's prescription direction in the active language; in English, word for word the
    clinician's text from engine.dosetext.step_directions (a test holds the two together)."""
    if step.kind == "stop" or (not step.tablets and step.liquid_ml is None):
        return _("Stop taking amitriptyline")
    if step.liquid_ml is not None:
        what = _liquid_amount(step)
    else:
        what = pgettext("between the tablets of one dose", " + ").join(
            ngettext("%(count)s x %(mg)s mg tablet", "%(count)s x %(mg)s mg tablets", t["count"])
            % {"count": t["count"], "mg": _num(t["strength_mg"])}
            for t in step.tablets
        )
    return ngettext(
        # Translators: a no-break space (U+00A0) before "mg" keeps each number with its unit on paper.
        "Take %(what)s (%(dose)s mg) at night for %(nights)s night",
        "Take %(what)s (%(dose)s mg) at night for %(nights)s nights",
        step.nights,
    ) % {"what": what, "dose": _num(step.dose_mg), "nights": step.nights}


def _awaits_note(step, first) -> str:
    """Reference A.4: the patient does not take a step that waits for a check until the clinic confirms."""
    what = list(dict.fromkeys(str(AWAITED_CHECKS.get(key, _("a check"))) for key in step.awaits))
    if not what:
        return ""
    checks = _(" and ").join(what)
    if first:
        return _("Do not start until the clinic has %(checks)s and tells you to go ahead.") % {"checks": checks}
    return _("Do not take this higher dose until the clinic has %(checks)s and tells you to go ahead.") % {
        "checks": checks
    }


def stopped_strengths(before, step) -> list[str]:
    """Reference A.4: the tablet strengths the step before used that this step no longer uses ([] if none)."""
    if before is None or step.kind == "stop" or not (step.tablets or step.liquid_ml is not None):
        return []
    new = {t["strength_mg"] for t in step.tablets}
    return [_num(t["strength_mg"]) for t in before.tablets if t["strength_mg"] not in new]


def step_notes(steps) -> tuple[dict[int, list[str]], dict[int, str]]:
    """What the first week of each step says beyond its dose: the checks it waits for (a note under the
    week) and the tablets to stop using when the strength changes (added to "take each night")."""
    notes: dict[int, list[str]] = {}
    changes: dict[int, str] = {}
    before = None
    for index, step in enumerate(steps):
        note = _awaits_note(step, index == 0)
        if note:
            notes[step.number] = [note]
        gone = stopped_strengths(before, step)
        if gone:
            strengths = _(" and ").join(_("%(mg)s mg") % {"mg": mg} for mg in gone)
            changes[step.number] = _("(new tablets: stop your %(strengths)s ones)") % {"strengths": strengths}
        if step.kind != "stop":
            before = step
    return notes, changes


def tablets_change(steps) -> bool:
    """Whether the patient changes tablet strength during the plan (the handout says to return the old ones)."""
    return any(stopped_strengths(before, step) for before, step in zip(steps, steps[1:], strict=False))


def weekly_rows(plan, steps):
    """One row per week while the dose changes and for the first weeks at the final dose, then one
    row for 'keep going until your review'. The first row of a step carries its notes."""
    notes, changes = step_notes(steps)
    rows = []
    horizon = plan.response_date
    dosing = [step for step in steps if step.kind != "stop"]
    if dosing:
        horizon = min(horizon, dosing[-1].start_date + timedelta(days=SETTLED_WEEKS * WEEK))
    for step in steps:
        if step.kind == "stop":
            rows.append(
                {
                    "start": step.start_date,
                    "end": None,
                    "dose_mg": step.dose_mg,
                    "how": each_night(step),
                    "ongoing": False,
                    "stop": True,
                }
            )
            continue
        day = step.start_date
        while day <= step.end_date:
            if day >= horizon and step.end_date > horizon:
                rows.append(
                    {
                        "start": day,
                        "end": None,
                        "dose_mg": step.dose_mg,
                        "how": each_night(step),
                        "ongoing": True,
                        "stop": False,
                    }
                )
                break
            end = min(day + timedelta(days=WEEK - 1), step.end_date)
            rows.append(
                {
                    "start": day,
                    "end": end,
                    "dose_mg": step.dose_mg,
                    "how": each_night(step),
                    "ongoing": False,
                    "stop": False,
                }
            )
            day = end + timedelta(days=1)
    first_rows = {step.start_date: step.number for step in steps}
    for number, row in enumerate(rows, start=1):
        row["week"] = number
        step_number = first_rows.pop(row["start"], None)
        row["notes"] = notes.get(step_number, [])
        if step_number in changes:
            row["how"] = f"{row['how']} {changes[step_number]}"
    return rows


def _time(followup):
    return [followup.appointment_time.isoformat("minutes")] if followup.appointment_time else []


def fingerprint(plan, steps, followups) -> str:
    """A short digest of what the patient is told, printed in the footer to match copies to versions."""
    content = {
        "plan": str(plan.uuid),
        "version": plan.version,
        "steps": [
            [
                s.start_date.isoformat(),
                s.end_date.isoformat(),
                _num(s.dose_mg),
                s.tablets,
                None if s.liquid_ml is None else _num(s.liquid_ml),
                *([s.awaits] if s.awaits else []),  # what a step waits for is part of what the patient is told
            ]
            for s in steps
        ],  # fmt: skip
        # A booked time is part of what the patient is told; without one the digest is as before.
        "followups": [[f.effective_date.isoformat(), f.kind, *_time(f)] for f in followups],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:10]


def _stop_findings(plan):
    """The patient's-words text for each critical finding that stopped the course, in card order."""
    codes = dict.fromkeys(card["code"] for card in plan.cards if card.get("indicator") == "critical")
    return [STOP_NOW_FINDINGS[code] for code in codes if code in STOP_NOW_FINDINGS]


def handout_context(plan, *, language, large, paper, today):
    """Everything the handout template needs, in the chosen language."""
    steps = list(plan.steps.all())
    followups = [f for f in plan.followups.all() if f.status in (FollowUp.Status.DUE, FollowUp.Status.SNOOZED)]
    with translation.override(language):
        rows = weekly_rows(plan, steps)
        directions = [{"directions": step_directions(step)} for step in steps]
    upcoming = [
        {"date": f.effective_date, "time": f.appointment_time,
         "purpose": APPOINTMENT_PURPOSES.get(f.kind, f.get_kind_display())}
        for f in followups
        if f.effective_date >= today
    ]  # fmt: skip
    clinician = plan.clinician
    acknowledged = set(plan.acknowledgements.values_list("card_code", flat=True))
    # A reason given for a stacked card covers the cards folded under it: their advice is printed too.
    acknowledged |= {f["code"] for card in plan.cards if card["code"] in acknowledged for f in card.get("folded", [])}
    return {
        "plan": plan,
        "patient": plan.patient,
        "clinic": plan.patient.clinic,
        "clinician_name": clinician.get_full_name() or clinician.username,
        "measure": plan.indication.outcome_measure,
        "purpose": PLAIN_PURPOSES.get(plan.indication.slug)
        or _("to treat %(condition)s") % {"condition": plan.indication.name},
        "rows": rows,
        "direction_rows": directions,
        "appointments": upcoming,
        # What to watch for and do, for each warning the plan went ahead despite (catalog text).
        "watch_for": [block.text(language) for block in catalog_selectors.watch_for(acknowledged)],
        # The bed-sharing advice is for a patient who is breastfeeding (reference A.2), not for everyone.
        "breastfeeding": any(card["code"] == "breastfeeding" for card in plan.cards),
        "is_taper": plan.kind == plan.Kind.TAPER,
        "is_stop_now": plan.kind == plan.Kind.STOP_NOW,
        "stop_findings": _stop_findings(plan) if plan.kind == plan.Kind.STOP_NOW else [],
        "uses_liquid": any(step.liquid_ml is not None for step in steps),
        "tablets_change": tablets_change([s for s in steps if s.kind != "stop"]),
        "first_dose": steps[0] if steps else None,
        "language": language,
        "large": large,
        "paper": paper,
        "fingerprint": fingerprint(plan, steps, followups),
        "diary_weeks": range(1, 7),
        "today": today,
    }
