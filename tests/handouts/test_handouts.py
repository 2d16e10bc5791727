"""Handouts: content in the PDF in both languages, large print, reading level, no outside fetches."""

import io
import re
from datetime import date

import pytest
import textstat
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from tests.plans.conftest import with_history
from trialplanner.handouts import pdf as handout_pdf
from trialplanner.plans import services

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 25)


def pdf_pages(client, plan, **params):
    with time_machine.travel(TODAY, tick=False):
        client.force_login(plan.clinician)
        response = client.get(reverse("handouts:handout_pdf", args=[plan.uuid]), params)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return [squash(page.extract_text()) for page in PdfReader(io.BytesIO(response.content)).pages]


def pdf_text(client, plan, **params):
    pages = pdf_pages(client, plan, **params)
    return "\n".join(pages), len(pages)


def squash(text):
    return re.sub(r"\s+", " ", text)


def test_it_puts_the_plan_in_the_english_pdf(client, active):
    text, pages = pdf_text(client, active, lang="en")
    flat = squash(text)
    assert pages <= 2
    assert "Your amitriptyline plan" in flat and "nerve pain" in flat
    for dose in ["10 mg", "20 mg", "30 mg", "40 mg", "50 mg"]:
        assert dose in flat
    assert "Tue 1 Dec" in flat and "Mon 7 Dec" in flat
    assert "1 tablet of 10 mg" in flat and "4 tablets of 10 mg" in flat and "1 tablet of 50 mg" in flat
    assert "Tuesday 29 December 2026: First check: how the tablets suit you" in flat
    assert "You are taking amitriptyline to ease nerve pain." in flat
    assert "Alpha Practice" in flat and "0100 000 0001" in flat
    assert "Plan version 1" in flat and "Check code" in flat


def test_it_puts_the_same_plan_in_the_spanish_pdf(client, active):
    flat = squash(pdf_text(client, active, lang="es")[0])
    assert "Su plan de amitriptilina" in flat and "el dolor de nervios" in flat
    assert "1 comprimido de 10 mg" in flat and "1 comprimido de 50 mg" in flat
    assert "mar 1 dic" in flat and "Dic" not in flat  # Spanish writes months in lower case
    assert "martes 29 de diciembre de 2026" in flat
    assert "para aliviar el dolor de nervios" in flat and "ayudar con" not in flat
    assert "Alpha Practice" in flat and "0100 000 0001" in flat
    assert "Plan versión 1" in flat


def test_it_defaults_the_language_to_the_patients_preference(client, active):
    active.patient.preferred_language = "es"
    active.patient.save()
    assert "Su plan de amitriptilina" in squash(pdf_text(client, active)[0])


def test_it_uses_at_least_16pt_for_large_print(client, active):
    client.force_login(active.clinician)
    html = client.get(reverse("handouts:handout", args=[active.uuid]), {"size": "large"}).content.decode()
    assert 'class="handout paper-a4 large-print"' in html
    css = (handout_pdf.settings.BASE_DIR / "static" / "css" / "handout.css").read_text()
    assert re.search(r"body\.handout\.large-print \{ font-size: 16pt;", css)
    normal_pages = pdf_text(client, active)[1]
    assert pdf_text(client, active, size="large")[1] > normal_pages


def test_it_explains_stopping_in_a_taper_handout(client, active, clinician):
    taper = services.plan_stop(
        plan=active, user=clinician, lock_version=active.lock_version, reason="x", stop_date=date(2026, 12, 20)
    )
    flat = squash(pdf_text(client, taper, lang="en")[0])
    assert "Your plan to stop amitriptyline" in flat
    assert "Stop: do not take any more" in flat and "2.5 ml of the liquid" in flat


def test_it_makes_the_english_text_read_at_grade_8_or_below(client, active):
    client.force_login(active.clinician)
    html = client.get(reverse("handouts:handout", args=[active.uuid]), {"lang": "en"}).content.decode()
    main = html[html.index("<main>") : html.index("</main>")]
    prose = re.sub(r"<table.*?</table>", " ", main, flags=re.S)  # the dose and diary tables are not prose
    prose = re.sub(r"<footer.*?</footer>", " ", prose, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", prose)
    text = re.sub(r"\s+", " ", text).replace("&#x27;", "'")
    grade = textstat.flesch_kincaid_grade(text)
    assert len(text.split()) > 400
    assert grade <= 8, grade


def test_it_does_not_let_free_text_make_the_pdf_fetch_anything(client, active, monkeypatch):
    fetched = []
    real_fetch = handout_pdf.StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        fetched.append(url)
        return real_fetch(self, url, headers)

    monkeypatch.setattr(handout_pdf.StaticOnlyFetcher, "fetch", spy)
    active.patient.display_name = '<img src="http://169.254.169.254/">'
    active.patient.save()
    clinic = active.patient.clinic
    clinic.name = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://169.254.169.254/x.css">'
    clinic.save()
    text, _ = pdf_text(client, active)
    assert fetched == []  # the stylesheet comes parsed (handouts.pdf.stylesheets); the injected tags fetch nothing
    assert "root:x:0:0" not in text
    assert '<img src="http://169.254.169.254/">' in squash(text)  # shown as text, not fetched


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "file:///etc/passwd",
        "data:text/plain,hi",
        "https://example.org/static/css/handout.css",
        "https://handout.invalid/static/../../etc/passwd",
        "https://handout.invalid/etc/passwd",
    ],
)
def test_it_refuses_everything_but_static_files_in_the_fetcher(url):
    with pytest.raises(handout_pdf.BlockedFetch):
        handout_pdf.StaticOnlyFetcher().fetch(url)


def test_it_serves_static_files_through_the_fetcher():
    response = handout_pdf.StaticOnlyFetcher().fetch("https://handout.invalid/static/css/handout.css")
    assert b"large-print" in response.read()


def test_it_scopes_handouts_and_offers_them_only_for_active_plans(client, outsider, colleague, active):
    client.force_login(outsider)
    assert client.get(reverse("handouts:handout", args=[active.uuid])).status_code == 404
    assert client.get(reverse("handouts:handout_pdf", args=[active.uuid])).status_code == 404
    client.force_login(colleague)
    response = client.get(reverse("handouts:handout", args=[active.uuid]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    services.plan_mark_entered_in_error(plan=active, user=colleague, lock_version=active.lock_version, reason="x")
    assert client.get(reverse("handouts:handout", args=[active.uuid])).status_code == 302


@pytest.mark.parametrize(
    ("lang", "page_word", "of", "born"),
    [("en", "Page", "of", "Born 17 May 1960"), ("es", "Página", "de", "Fecha de nacimiento 17 may 1960")],
)
def test_it_names_the_patient_and_the_page_number_on_every_pdf_page(client, active, lang, page_word, of, born):
    active.patient.display_name = "Rosa Footer"
    active.patient.date_of_birth = date(1960, 5, 17)
    active.patient.save()
    # Large print runs to several pages, so pages 2+ are checked too.
    pages = pdf_pages(client, active, lang=lang, size="large")
    assert len(pages) >= 3
    code = re.search(r"(?:Check code|Código de control) ([0-9a-f]{10})", pages[0]).group(1)
    for number, text in enumerate(pages, start=1):
        assert "Rosa Footer" in text, number
        assert born in text, number
        assert f"{page_word} {number} {of} {len(pages)}" in text, number
        assert code in text and ("Plan version 1" in text or "Plan versión 1" in text), number


def test_it_gives_the_missed_dose_advice_to_leave_it_out(client, active):
    flat = squash(pdf_text(client, active, lang="en")[0])
    assert "If you forget a dose, leave it out. Take the next dose at the usual time." in flat
    assert "take it when you remember" not in flat


def test_it_shows_the_time_of_an_appointment_when_booked(client, active):
    first = active.followups.order_by("due_date").first()
    first.appointment_time = "14:30"
    first.save()
    flat = squash(pdf_text(client, active, lang="en")[0])
    assert "Tuesday 29 December 2026, 14:30: First check: how the tablets suit you" in flat


# session, user, two-factor devices (TOTP, recovery codes), memberships, the plan with its patient, clinic
# and indication, steps, follow-ups, the plan's clinician, the acknowledged warnings' watch-for blocks,
# navigation counts, audit insert
HANDOUT_QUERIES = 12


@pytest.mark.parametrize("visits, followups", [(0, 0), (4, 40)])
def test_it_renders_the_handout_with_a_fixed_number_of_queries(
    client, clinician, active, visits, followups, django_assert_num_queries
):
    plan = with_history(active, clinician, visits=visits, followups=followups)
    last = plan.followups.order_by("due_date").last()
    with time_machine.travel(date(2027, 1, 15), tick=False):
        client.force_login(clinician)
        client.get(reverse("handouts:handout", args=[plan.uuid]))  # the first request of a session writes it
        with django_assert_num_queries(HANDOUT_QUERIES):
            response = client.get(reverse("handouts:handout", args=[plan.uuid]))
    assert response.status_code == 200
    assert f"{last.due_date:%A} {last.due_date.day} {last.due_date:%B %Y}" in response.content.decode()
