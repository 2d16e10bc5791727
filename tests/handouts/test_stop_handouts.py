"""Handouts after a stop: a stop now says stop tonight and why; a taper says step down, never go up."""

import io
import re
from datetime import date

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from trialplanner.plans import services

pytestmark = pytest.mark.django_db
VISIT_DAY = date(2026, 12, 8)
# Advice for someone still taking, or raising, the medicine: wrong once the course has stopped.
TAKING = [
    "Do not stop it all at once",
    "Do not stop suddenly",
    "We will lower the dose slowly",
    "When to take it",
    "before you go up",
    "If you forget a dose",
    "Take your dose once a night",
]
TAKING_ES = ["No la deje de golpe", "Cuándo tomarla", "antes de subir", "Si olvida una dosis"]


def flat(text):
    return re.sub(r"\s+", " ", text).replace("&#x27;", "'")


def html_text(client, plan, lang):
    with time_machine.travel(VISIT_DAY, tick=False):
        client.force_login(plan.clinician)
        html = client.get(reverse("handouts:handout", args=[plan.uuid]), {"lang": lang}).content.decode()
    main = html[html.index("<main>") : html.index("</main>")]
    return flat(re.sub(r"<[^>]+>", " ", main))


def pdf_text(client, plan, lang):
    with time_machine.travel(VISIT_DAY, tick=False):
        client.force_login(plan.clinician)
        response = client.get(reverse("handouts:handout_pdf", args=[plan.uuid]), {"lang": lang})
    assert response.status_code == 200
    return flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))


@pytest.fixture
def stopped_now(active, clinician):
    followup = active.followups.filter(status="due").order_by("due_date").first()
    _, new = services.followup_record_visit(
        followup=followup,
        user=clinician,
        visit_date=VISIT_DAY,
        decision="stop_now",
        qtc_ms=520,
        mood="usual",
        self_harm_thoughts=False,
    )
    assert new.kind == "stop_now" and new.status == "active"
    return new


@pytest.fixture
def tapering(active, clinician):
    return services.plan_stop(
        plan=active, user=clinician, lock_version=active.lock_version, reason="x", stop_date=VISIT_DAY
    )


@pytest.mark.parametrize("render", [html_text, pdf_text])
def test_it_tells_a_stopped_now_patient_to_stop_tonight_and_why(client, stopped_now, render):
    text = render(client, stopped_now, "en")
    assert "Stop taking amitriptyline" in text and "Stop tonight" in text
    assert "Do not take any more amitriptyline, from tonight (Tuesday 8 December 2026)." in text
    assert "Your heart tracing (ECG) showed a change in your heart rhythm." in text
    assert "If you faint or have chest pain, call an ambulance." in text
    assert "We will do your ECG again" in text
    assert "After you stop" in text and "Call an ambulance or go to the emergency department now if" in text
    for wrong in TAKING + ["Lower the dose step by step", "Side effects", "Your diary"]:
        assert wrong not in text, wrong


@pytest.mark.parametrize("render", [html_text, pdf_text])
def test_it_tells_a_stopped_now_patient_in_spanish(client, stopped_now, render):
    text = render(client, stopped_now, "es")
    assert "Deje de tomar amitriptilina" in text and "Deje de tomarla esta noche" in text
    assert "No tome más amitriptilina desde esta noche (martes 8 de diciembre de 2026)." in text
    assert "El electrocardiograma (ECG) mostró un cambio en el ritmo de su corazón." in text
    for wrong in TAKING_ES + TAKING:
        assert wrong not in text, wrong


@pytest.mark.parametrize("render", [html_text, pdf_text])
def test_it_steps_down_in_a_taper_handout_and_never_says_go_up(client, tapering, render):
    text = render(client, tapering, "en")
    assert "Your plan to stop amitriptyline" in text and "Lower the dose step by step" in text
    assert "While the dose goes down" in text
    assert "stay on the same dose until you feel better before you take the next step down" in text
    assert "When to take it" in text and "If you forget a dose" in text  # still taking it
    for wrong in ["before you go up", "Do not stop suddenly", "after a dose goes up", "Stop going up",
                  "How long it takes to work"]:  # fmt: skip
        assert wrong not in text, wrong


def test_it_steps_down_in_a_spanish_taper_handout(client, tapering):
    text = html_text(client, tapering, "es")
    assert "Mientras baja la dosis" in text and "antes de subir" not in text
