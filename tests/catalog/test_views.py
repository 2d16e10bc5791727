"""The indication library pages."""

import pytest
from django.urls import reverse

from trialplanner.catalog import models as m

pytestmark = pytest.mark.django_db


def test_it_lists_all_nine_indications_with_their_sources(client, clinician, catalog):
    client.force_login(clinician)
    response = client.get(reverse("catalog:indication_list"))
    assert response.status_code == 200
    body = response.content.decode()
    indications = list(m.Indication.objects.prefetch_related("sources"))
    assert len(indications) == 9
    for indication in indications:
        assert indication.name in body
        assert indication.get_absolute_url() in body
        for source in indication.sources.all():
            assert f'href="{reverse("catalog:source_list")}#{source.key}"' in body


def test_it_shows_the_protocol_numbers(client, clinician, catalog):
    client.force_login(clinician)
    body = client.get(reverse("catalog:indication_list")).content.decode()
    ibs = m.Indication.objects.get(slug="irritable-bowel-syndrome")
    assert ibs.status in body
    assert "≥ 1 week apart" in body
    assert "≥ 2 weeks apart" in body


def test_it_uses_a_fixed_number_of_queries(client, clinician, catalog, django_assert_max_num_queries):
    client.force_login(clinician)
    with django_assert_max_num_queries(16):
        client.get(reverse("catalog:indication_list"))


def test_it_shows_mechanism_protocol_monitoring_and_citations_on_the_detail_page(client, clinician, catalog):
    client.force_login(clinician)
    indication = m.Indication.objects.get(slug="fibromyalgia")
    response = client.get(indication.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "How a low dose can help" in body
    assert indication.mechanism_note.split("\n")[0][:60] in body
    assert "Ceiling" in body and "50 mg" in body
    assert indication.outcome_measure.name in body
    for source in indication.sources.all():
        assert source.citation[:40] in body
    everyone = m.MonitoringItem.objects.filter(applies_to_all=True).first()
    assert everyone.name in body


def test_it_shows_the_caution_for_a_not_recommended_indication_on_the_detail_page(client, clinician, catalog):
    client.force_login(clinician)
    body = client.get(reverse("catalog:indication_detail", args=["insomnia"])).content.decode()
    assert "Caution when planning" in body
    assert "needs a recorded reason" in body


def test_it_returns_404_for_an_unknown_indication(client, clinician, catalog):
    client.force_login(clinician)
    assert client.get(reverse("catalog:indication_detail", args=["no-such-thing"])).status_code == 404


def test_it_lists_every_source_in_the_source_register(client, clinician, catalog):
    client.force_login(clinician)
    body = client.get(reverse("catalog:source_list")).content.decode()
    for key in m.Source.objects.values_list("key", flat=True):
        assert f'id="{key}"' in body


def test_it_lists_rules_by_indicator_on_the_safety_page(client, clinician, catalog):
    client.force_login(clinician)
    body = client.get(reverse("catalog:safety_rules")).content.decode()
    for rule in m.Rule.objects.all():
        assert f'id="rule-{rule.code}"' in body
    assert body.index('id="rules-critical"') < body.index('id="rules-warning"') < body.index('id="rules-info"')
    assert "Moclobemide" in body


@pytest.mark.parametrize("name", ["catalog:indication_list", "catalog:source_list", "catalog:safety_rules"])
def test_it_needs_login_for_library_pages(client, name, catalog):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_it_never_shows_internal_markers_or_file_names_on_any_library_page(client, clinician, catalog):
    client.force_login(clinician)
    pages = [reverse("catalog:indication_list"), reverse("catalog:safety_rules"), reverse("catalog:source_list")]
    pages += [i.get_absolute_url() for i in m.Indication.objects.all()]
    for url in pages:
        body = client.get(url).content.decode()
        for marker in ("UNCONFIRMED", "DISAGREEMENT", "DESIGN.md", "low-dose.md", "disagreement register"):
            assert marker not in body, f"{marker} on {url}"
