"""Handout "watch for" blocks: one per acknowledged warning, catalog text in English and Spanish."""

import io
import re
from datetime import date

import pytest
import textstat
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from trialplanner.catalog.models import Indication, WatchFor
from trialplanner.patients.models import Patient
from trialplanner.plans import selectors, services

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 25)
START = date(2026, 12, 1)
HEADINGS = {"en": "Watch for these signs", "es": "Esté atento a estas señales"}


def activate_with_reasons(plan, user):
    """Activate, with a reason for every warning; return the plan and the codes acknowledged."""
    warnings = selectors.current_assessment(plan).warning_cards
    reasons = {card.code: "Discussed with the patient." for card in warnings}
    services.plan_activate(plan=plan, user=user, lock_version=plan.lock_version, reasons=reasons)
    plan.refresh_from_db()
    return plan, {card.code for card in warnings}


@pytest.fixture
def migraine(clinic, clinician, with_profile):
    """The demo migraine plan: Ann Example, 58, on sertraline (the serotonergic-drug warning), QTc on file."""
    patient = Patient.objects.create(
        clinic=clinic,
        display_name="Ann Example",
        mrn="DEMO-001",
        date_of_birth=date(1968, 3, 14),
        sex=Patient.Sex.FEMALE,
        created_by=clinician,
    )
    with_profile(patient, medications=["sertraline"], qtc_ms=438, ecg_date=date(2026, 9, 1))
    indication = Indication.objects.get(slug="migraine-prophylaxis")
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    plan, acknowledged = activate_with_reasons(plan, clinician)
    assert acknowledged == {"serotonergic-drug"}
    return plan


@pytest.fixture
def every_block(patient, indication, clinician, with_profile):
    """A 66-year-old with a prostate, bipolar disorder and self-harm, on citalopram: all five blocks."""
    with_profile(
        patient, "prostate-enlargement", "bipolar-disorder", medications=["citalopram"], self_harm_last_12_months=True
    )
    plan = services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)
    plan, acknowledged = activate_with_reasons(plan, clinician)
    # Female, citalopram and amitriptyline: a QT tally of 7, so the QT drug card folds under "raised QT risk"
    # and its reason covers both; the QT drug's block is still printed (reference A.4).
    assert {"older-age", "serotonergic-drug", "qt-tally-raised", "urinary-retention", "self-harm"} <= acknowledged
    return plan


def html_of(client, plan, lang):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(plan.clinician)
        return client.get(reverse("handouts:handout", args=[plan.uuid]), {"lang": lang}).content.decode()


def pdf_pages(client, plan, **params):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(plan.clinician)
        response = client.get(reverse("handouts:handout_pdf", args=[plan.uuid]), params)
    assert response.status_code == 200
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(response.content)).pages]


def block_text(html):
    """The prose of the watch-for section, without tags."""
    section = re.search(r'<section class="watch-for">(.*?)</section>', html, flags=re.S)
    assert section
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.group(1))).replace("&#x27;", "'").strip()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_it_shows_a_block_only_for_an_acknowledged_warning(client, migraine, lang):
    html = html_of(client, migraine, lang)
    serotonin = WatchFor.objects.get(key="serotonin").text(lang)
    assert HEADINGS[lang] in html
    assert serotonin["title"] in html and serotonin["signs"] in html and serotonin["action"] in html
    for other in WatchFor.objects.exclude(key="serotonin"):
        assert other.text(lang)["title"] not in html, other.key
    english = WatchFor.objects.get(key="serotonin").text("en")["title"]
    assert (english in html) == (lang == "en")


def test_it_gives_a_plan_without_acknowledged_warnings_no_block(client, active):
    assert not active.acknowledgements.exists()
    html = html_of(client, active, "en")
    assert HEADINGS["en"] not in html and 'class="watch-for"' not in html


@pytest.mark.parametrize("lang", ["en", "es"])
def test_it_gives_each_acknowledged_kind_of_warning_its_block_once(client, every_block, lang):
    html = html_of(client, every_block, lang)
    for block in WatchFor.objects.all():
        assert html.count(block.text(lang)["title"]) == 1, block.key


def test_it_makes_the_english_blocks_read_at_grade_8_or_below(client, every_block):
    text = block_text(html_of(client, every_block, "en"))
    assert len(text.split()) > 150
    grade = textstat.flesch_kincaid_grade(text)
    assert grade <= 8, grade


def test_it_makes_the_spanish_blocks_read_as_plain_spanish(client, every_block):
    text = block_text(html_of(client, every_block, "es"))
    # Fernández-Huerta reading ease: 60 or more is plain ("normal") Spanish, as a grade-8 English reader reads.
    textstat.set_lang("es")
    try:
        ease = textstat.fernandez_huerta(text)
    finally:
        textstat.set_lang("en_US")
    assert ease >= 60, ease


@pytest.mark.parametrize("lang", ["en", "es"])
def test_it_carries_the_block_in_the_pdf(client, migraine, lang):
    flat = " ".join(pdf_pages(client, migraine, lang=lang))
    serotonin = WatchFor.objects.get(key="serotonin").text(lang)
    assert HEADINGS[lang] in flat and serotonin["title"] in flat


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_it_fits_the_demo_migraine_plan_on_two_pages(client, migraine, paper, lang):
    pages = pdf_pages(client, migraine, lang=lang, paper=paper)
    assert len(pages) <= 2, (paper, lang, len(pages))
