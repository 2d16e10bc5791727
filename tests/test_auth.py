"""Login, logout, and the rule that every page needs login."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_renders_the_login_page(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_it_logs_in_and_lands_on_the_worklist(client, clinician, catalog):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("plans:worklist")
    assert "Follow-ups" in response.content.decode()


def test_it_shows_an_error_for_a_wrong_password(client, clinician):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_it_needs_post_for_logout_and_ends_the_session(client, clinician):
    client.force_login(clinician)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("patients:patient_list")).status_code == 302


@pytest.mark.parametrize("path", ["/", "/patients/", "/library/", "/library/insomnia/", "/library/sources/"])
def test_it_needs_login_for_every_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_says_in_the_footer_that_the_tool_supports_clinical_judgement(client):
    assert "supports clinical judgement" in client.get(reverse("login")).content.decode()


def test_it_names_the_product_not_the_host_on_logged_out_pages(client, clinician, settings):
    import re

    # Django's login view puts the host's name in the context as `site_name`: it must not become the brand.
    settings.ALLOWED_HOSTS = ["ward-pc.clinic.example"]
    client.force_login(clinician)
    response = client.post(reverse("logout"), follow=True, HTTP_HOST="ward-pc.clinic.example")
    html = response.content.decode()
    brand = re.search(r'class="navbar-brand[^"]*"[^>]*>(.*?)</a>', html, re.S).group(1).strip()
    footer = html[html.index("<footer") : html.index("</footer>")]
    assert brand == settings.SITE_NAME
    assert "ward-pc" not in brand + footer and "ward-pc" not in html[: html.index("</title>")]
    assert f"{settings.SITE_NAME} supports clinical judgement" in footer
    assert "You have signed out." in html and "_auth_user_id" not in client.session
