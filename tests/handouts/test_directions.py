"""Handout prescription directions in the reader's language: every patient sentence in Spanish on a
Spanish handout, and the English handout word for word the clinician's directions."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
import textstat
import time_machine
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from tests.conftest import PLAN_START
from trialplanner import engine
from trialplanner.catalog.models import Strength
from trialplanner.handouts.content import LIQUID_LABEL, step_directions
from trialplanner.plans import selectors, services

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 25)
# Words of the English directions ("Take 2 x 10 mg tablets (20 mg) at night for 7 nights, then ...").
NBSP = "\u00a0"
ENGLISH_DIRECTION_WORDS = re.compile(r"\b(take|tablets?|at night|nights?|then)\b", re.IGNORECASE)


@pytest.fixture
def liquid(young_patient, indication, clinician, with_profile):
    """A frail patient's plan: the first step is 5 mg, 2.5 ml of the 10 mg/5 ml solution."""
    with_profile(young_patient, frail=True)
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=PLAN_START)
    reasons = {card.code: "Discussed." for card in selectors.current_assessment(plan).warning_cards}
    services.plan_activate(plan=plan, user=clinician, lock_version=plan.lock_version, reasons=reasons)
    plan.refresh_from_db()
    first = plan.steps.order_by("number").first()
    assert (first.dose_mg, first.liquid_ml, first.liquid_label) == (5, Decimal("2.5"), "10 mg/5 ml oral solution")
    return plan


@pytest.fixture
def taper(active, clinician):
    """The stop of `active` from 30 mg: 20, 10, then 5 mg as liquid, then stop."""
    return services.plan_stop(
        plan=active, user=clinician, lock_version=active.lock_version, reason="x", stop_date=date(2026, 12, 20)
    )


PLANS = ["active", "liquid", "taper"]


def handout_html(client, plan, lang):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(plan.clinician)
        html = client.get(reverse("handouts:handout", args=[plan.uuid]), {"lang": lang}).content.decode()
    return html[html.index("<main>") : html.index("</main>")]  # the clinician's screen toolbar is outside


def handout_pdf_text(client, plan, lang):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(plan.clinician)
        response = client.get(reverse("handouts:handout_pdf", args=[plan.uuid]), {"lang": lang})
    assert response.status_code == 200
    return squash(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))


def squash(text):
    return re.sub(r"\s+", " ", text).replace("&#x27;", "'").strip()


def text_of(html):
    return squash(re.sub(r"<[^>]+>", " ", html))


def directions_of(html):
    section = re.search(r'<section class="dose-directions.*?<ol[^>]*>(.*?)</ol>', html, flags=re.S)
    assert section
    return [text_of(item) for item in re.findall(r"<li>(.*?)</li>", section.group(1), flags=re.S)]


@pytest.mark.parametrize("fixture", PLANS)
def test_it_gives_the_english_handout_the_clinicians_directions_word_for_word(client, request, fixture):
    plan = request.getfixturevalue(fixture)
    steps = list(plan.steps.all())
    clinician_text = [row["directions"] for row in selectors.dose_rows_from_steps(steps)]
    with translation.override("en"):
        assert [step_directions(step) for step in steps] == clinician_text
    assert directions_of(handout_html(client, plan, "en")) == clinician_text


@pytest.mark.parametrize("fixture", PLANS)
def test_it_leaves_no_english_direction_words_in_the_spanish_handout(client, request, fixture):
    plan = request.getfixturevalue(fixture)
    html = handout_html(client, plan, "es")
    assert "Indicaciones de la receta" in html and "Prescription directions" not in html
    for text in (text_of(html), handout_pdf_text(client, plan, "es")):
        assert not ENGLISH_DIRECTION_WORDS.findall(text), ENGLISH_DIRECTION_WORDS.findall(text)
        assert "Tome " in text


def test_it_writes_tablet_directions_in_clinical_spanish(client, active):
    directions = directions_of(handout_html(client, active, "es"))
    assert directions[0] == "Tome 1 comprimido de 10 mg (10 mg) por la noche durante 7 noches"
    assert directions[1] == "Tome 2 comprimidos de 10 mg (20 mg) por la noche durante 7 noches"
    assert directions[-1].startswith("Tome 1 comprimido de 50 mg (50 mg) por la noche durante ")
    flat = handout_pdf_text(client, active, "es")
    assert "Tome 2 comprimidos de 10 mg (20 mg) por la noche durante 7 noches" in flat


def test_it_writes_liquid_directions_in_clinical_spanish(client, liquid):
    first = directions_of(handout_html(client, liquid, "es"))[0]
    nights = liquid.steps.order_by("number").first().nights
    assert first == f"Tome 2.5 ml de la solución oral de 10 mg/5 ml (5 mg) por la noche durante {nights} noches"
    assert "2.5 ml de la solución oral de 10 mg/5 ml (5 mg)" in handout_pdf_text(client, liquid, "es")


@pytest.mark.parametrize(("fixture", "has_liquid"), [("active", False), ("liquid", True)])
def test_it_gives_the_liquid_measuring_advice_only_to_a_plan_with_liquid(client, request, fixture, has_liquid):
    plan = request.getfixturevalue(fixture)
    assert ("measure it with the syringe" in handout_html(client, plan, "en")) == has_liquid
    assert ("mídalo con la jeringa" in handout_html(client, plan, "es")) == has_liquid


def test_it_writes_taper_directions_and_the_stop_in_clinical_spanish(client, taper):
    directions = directions_of(handout_html(client, taper, "es"))
    assert directions[-1] == "Deje de tomar amitriptilina"
    assert any(d.startswith("Tome 2.5 ml de la solución oral de 10 mg/5 ml (5 mg)") for d in directions)
    assert "Su plan para dejar la amitriptilina" in handout_pdf_text(client, taper, "es")


def test_it_joins_the_tablets_of_one_dose_with_y(active):
    step = active.steps.order_by("number").first()
    step.tablets = [{"strength_mg": "25", "count": 1}, {"strength_mg": "10", "count": 1}]
    step.dose_mg = Decimal(35)
    with translation.override("es"):
        text = step_directions(step)
    # A number and its unit never part at the end of a line (a no-break space between them).
    expected = "Tome 1 comprimido de 25 mg y 1 comprimido de 10 mg (35 mg) por la noche durante 7 noches"
    assert text == expected.replace(" mg", NBSP + "mg")
    with translation.override("en"):
        assert step_directions(step).startswith("Take 1 x 25 mg tablet + 1 x 10 mg tablet (35 mg) at night")


def test_it_names_every_catalog_liquid_by_its_strength_in_spanish(catalog):
    liquids = Strength.objects.filter(form="oral_solution")
    assert liquids.count() >= 3
    for s in liquids:
        label = engine.StrengthFacts(engine.Form(s.form), s.amount_mg, s.per_volume_ml).label
        strength = LIQUID_LABEL.match(label)["strength"]
        assert strength == f"{s.amount_mg.normalize():f} mg/{s.per_volume_ml.normalize():f} ml", label


@pytest.mark.parametrize("fixture", PLANS)
def test_it_makes_the_whole_spanish_handout_read_as_plain_spanish(client, request, fixture):
    html = handout_html(client, request.getfixturevalue(fixture), "es")
    prose = re.sub(r"<table.*?</table>", " ", html, flags=re.S)  # the dose and diary tables are not prose
    text = text_of(re.sub(r"<footer.*?</footer>", " ", prose, flags=re.S))
    assert "Tome " in text and len(text.split()) > 400
    # Fernández-Huerta reading ease: 60 or more is plain ("normal") Spanish, as a grade-8 English reader reads.
    textstat.set_lang("es")
    try:
        ease = textstat.fernandez_huerta(text)
    finally:
        textstat.set_lang("en_US")
    assert ease >= 60, ease
