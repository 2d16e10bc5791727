"""Activation: each warning's reason sits inside its card, chosen from the rule's catalog presets or typed."""

import re

import pytest
from django.urls import reverse

from tests.plans.conftest import START
from trialplanner.catalog.models import ReasonPreset
from trialplanner.plans import selectors, services
from trialplanner.plans.forms import ActivateForm

pytestmark = pytest.mark.django_db
SEROTONIN = "serotonergic-drug"


@pytest.fixture
def draft(young_patient, indication, clinician, with_profile):
    """A draft whose one warning is the serotonergic drug (sertraline)."""
    with_profile(young_patient, medications=["sertraline"])
    return services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)


@pytest.fixture
def two_warnings(patient, indication, clinician, with_profile):
    """A draft for a 66-year-old on sertraline: the older-age and the serotonergic-drug warnings."""
    with_profile(patient, medications=["sertraline"])
    return services.plan_create(patient=patient, indication=indication, user=clinician, start_date=START)


def activate(client, plan, **fields):
    client.force_login(plan.clinician)
    data = {"lock_version": plan.lock_version, **fields}
    return client.post(reverse("plans:plan_activate", args=[plan.uuid]), data)


def card_html(html, code):
    """The rendered <article> of one card."""
    match = re.search(rf'<article class="card[^"]*" data-code="{code}".*?</article>', html, flags=re.S)
    assert match, code
    return match.group(0)


def preset(key):
    return ReasonPreset.objects.get(key=key)


def test_it_shows_the_rules_presets_inside_its_card(client, draft):
    client.force_login(draft.clinician)
    html = client.get(draft.get_absolute_url()).content.decode()
    card = card_html(html, SEROTONIN)
    for row in preset("serotonin-advice-given").rules.get(code=SEROTONIN).reason_presets.all():
        assert f'value="{row.key}"' in card and row.text in card
    assert f'name="preset_{SEROTONIN}"' in card and f'name="reason_{SEROTONIN}"' in card
    assert ActivateForm.own_words_label in card
    # Presets of other rules are not offered here.
    assert preset("eye-specialist-agrees").text not in card


def test_it_saves_a_chosen_preset_as_the_reason(client, draft):
    response = activate(client, draft, **{f"preset_{SEROTONIN}": "serotonin-advice-given"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "active"
    assert draft.acknowledgements.get().reason == preset("serotonin-advice-given").text


def test_it_adds_the_details_after_a_chosen_preset(client, draft):
    activate(client, draft, **{f"preset_{SEROTONIN}": "discussed-benefit", f"reason_{SEROTONIN}": "Low dose only."})
    expected = f"{preset('discussed-benefit').text}. Low dose only."
    assert draft.acknowledgements.get().reason == expected


@pytest.mark.parametrize("choice", ["", "own"])
def test_it_saves_free_text_as_typed(client, draft, choice):
    typed = {f"preset_{SEROTONIN}": choice, f"reason_{SEROTONIN}": "  Low dose; agreed.  "}
    response = activate(client, draft, **typed)
    assert response.status_code == 302
    assert draft.acknowledgements.get().reason == "Low dose; agreed."


def test_it_shows_the_error_for_a_missing_reason_under_its_card(client, two_warnings):
    typed = "Frail start agreed with the patient."
    response = activate(client, two_warnings, **{"reason_older-age": typed})
    assert response.status_code == 400
    html = response.content.decode()
    missing = ActivateForm.error_messages["reason_missing"]
    assert missing in card_html(html, SEROTONIN)
    assert missing not in card_html(html, "older-age") and typed in card_html(html, "older-age")
    summary = html[html.index("data-error-summary") : html.index("</ul>", html.index("data-error-summary"))]
    assert f'href="#id_preset_{SEROTONIN}_0"' in summary and "Other serotonergic drug" in summary
    two_warnings.refresh_from_db()
    assert two_warnings.status == "draft" and not two_warnings.acknowledgements.exists()


def test_it_needs_the_words_for_another_reason(client, draft):
    response = activate(client, draft, **{f"preset_{SEROTONIN}": "own", f"reason_{SEROTONIN}": " "})
    assert response.status_code == 400
    card = card_html(response.content.decode(), SEROTONIN)
    assert ActivateForm.error_messages["own_words_missing"] in card
    assert f'id="id_reason_{SEROTONIN}"' in card and "is-invalid" in card


def test_it_refuses_a_preset_of_another_rule_on_its_field(client, draft):
    response = activate(client, draft, **{f"preset_{SEROTONIN}": "eye-specialist-agrees"})
    assert response.status_code == 400
    assert "Select a valid choice" in card_html(response.content.decode(), SEROTONIN)
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_it_offers_the_review_preset_on_the_medicine_not_checked_card(client, young_patient, indication, clinician,
                                                                        with_profile):  # fmt: skip
    with_profile(young_patient, medications=["zorblaxitol"])
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    client.force_login(clinician)
    card = card_html(client.get(plan.get_absolute_url()).content.decode(), "medicine-not-checked")
    assert "Reviewed the medicine: no interaction expected" in card
    activate(client, plan, **{"preset_medicine-not-checked": "medicine-reviewed-no-interaction"})
    ack = plan.acknowledgements.get()
    assert ack.reason == "Reviewed the medicine: no interaction expected"
    assert "zorblaxitol" in " ".join(ack.subjects).lower()


# --- presets that ask for details --------------------------------------------------------------

QT_DRUG = "qt-drug"


@pytest.fixture
def qt_draft(young_patient, indication, clinician, with_profile):
    """A draft for a 35-year-old man on citalopram: the QT-drug warning, whose presets include specialist
    advice (a QT tally of 6: no stacked card folds it)."""
    young_patient.sex = young_patient.Sex.MALE
    young_patient.save()
    with_profile(young_patient, medications=["citalopram"])
    plan = services.plan_create(patient=young_patient, indication=indication, user=clinician, start_date=START)
    assert QT_DRUG in [c.code for c in selectors.current_assessment(plan).warning_cards]
    return plan


def other_reasons(plan, skip):
    return {f"reason_{c.code}": "Agreed." for c in selectors.current_assessment(plan).warning_cards if c.code != skip}


def test_it_marks_the_presets_that_ask_for_details_from_the_catalog():
    asking = set(ReasonPreset.objects.filter(needs_details=True).values_list("key", flat=True))
    assert (
        asking
        == {p.key for p in ReasonPreset.objects.all() if "in the details" in p.text}
        == {"specialist-advice", "other-dose-lowered"}
    )


def test_it_refuses_a_preset_that_asks_for_details_without_them(client, qt_draft):
    chosen = {f"preset_{QT_DRUG}": "specialist-advice", **other_reasons(qt_draft, QT_DRUG)}
    response = activate(client, qt_draft, **chosen, **{f"reason_{QT_DRUG}": "  "})
    assert response.status_code == 400
    assert response.context["activate_form"].errors[f"reason_{QT_DRUG}"] == [
        ActivateForm.error_messages["details_missing"]
    ]
    card = card_html(response.content.decode(), QT_DRUG)
    assert ActivateForm.error_messages["details_missing"] in card
    qt_draft.refresh_from_db()
    assert qt_draft.status == "draft" and not qt_draft.acknowledgements.exists()
    # With the details the same choice goes ahead, details after the preset.
    response = activate(client, qt_draft, **chosen, **{f"reason_{QT_DRUG}": "Dr Cardio, cardiology, 3 Dec."})
    assert response.status_code == 302
    reason = qt_draft.acknowledgements.get(card_code=QT_DRUG).reason
    assert reason == f"{preset('specialist-advice').text}. Dr Cardio, cardiology, 3 Dec."
