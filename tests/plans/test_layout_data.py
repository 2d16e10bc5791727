"""What the pages show a busy clinician: dose tonight and phone on the worklist, tonight's step
marked in the dose table, actions on follow-up rows, and a signed-out message."""

from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse

from trialplanner.plans.models import FollowUp

pytestmark = pytest.mark.django_db
# The active fixture plan starts 1 Dec 2026 at 10 mg and rises 10 mg a week.
DURING_WEEK_3 = datetime(2026, 12, 16, 12, 0)


def test_it_shows_the_dose_tonight_and_the_phone_on_a_worklist_row(client, active):
    active.patient.phone = "07700 900123"
    active.patient.save()
    with time_machine.travel(DURING_WEEK_3, tick=False):
        client.force_login(active.clinician)  # sessions expire: log in at the travelled-to time
        html = client.get(reverse("plans:worklist")).content.decode()
    row = html[html.index("data-followup=") :]
    row = row[: row.index("</tr>")]
    assert '<td data-label="Dose tonight" class="text-nowrap">30 mg</td>' in row
    assert '<a class="small" href="tel:07700900123">07700 900123</a>' in row


def test_it_says_not_started_on_the_row_before_the_first_night(client, active):
    first = active.followups.order_by("due_date").first()
    first.due_date = date(2026, 11, 21)  # a baseline visit before the first night
    first.save()
    with time_machine.travel(datetime(2026, 11, 20, 12, 0), tick=False):
        client.force_login(active.clinician)
        html = client.get(reverse("plans:worklist")).content.decode()
    assert '<td data-label="Dose tonight" class="text-nowrap">not started</td>' in html


def test_it_marks_tonights_step_in_the_dose_table(client, active):
    with time_machine.travel(DURING_WEEK_3, tick=False):
        client.force_login(active.clinician)  # sessions expire: log in at the travelled-to time
        html = client.get(active.get_absolute_url()).content.decode()
    marked = html[: html.index('aria-current="date"')]
    assert html.count('aria-current="date"') == 1
    assert marked[marked.rindex("<tr") :].count("dose-today") == 1
    after = html[html.index('aria-current="date"') :]
    assert "Tue 15 Dec 2026" in after[: after.index("</tr>")] and "30 mg" in after[: after.index("</tr>")]


def test_it_links_open_followup_rows_to_their_visit_page(client, active):
    client.force_login(active.clinician)
    html = client.get(active.get_absolute_url()).content.decode()
    for followup in active.followups.all():
        link = reverse("plans:followup_visit", args=[followup.uuid])
        assert (link in html) == (followup.status in FollowUp.OPEN)
    assert html.count("Record visit or reschedule") == active.followups.filter(status__in=FollowUp.OPEN).count()


def test_it_says_so_after_logging_out(client, clinician):
    client.force_login(clinician)
    response = client.post(reverse("logout"), follow=True)
    assert "You have signed out." in response.content.decode()
    assert "_auth_user_id" not in client.session
