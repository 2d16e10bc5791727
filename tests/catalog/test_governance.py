"""The shared catalog is edited only by people an administrator named, and every change is audited."""

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from trialplanner.audit.models import AuditEvent
from trialplanner.catalog.models import Source
from trialplanner.ops.demo import seed_demo

pytestmark = pytest.mark.django_db


def staff_with_model_permissions(user):
    """What a clinic lead used to get: staff, with every catalog model permission but not the editor one."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="catalog").exclude(codename="edit_catalog")
    )
    return user


def grant_editor(user):
    user.user_permissions.add(Permission.objects.get(codename="edit_catalog", content_type__app_label="catalog"))


def protocol_form(protocol, **overrides):
    fields = ["indication", "start_mg", "older_start_mg", "frail_start_mg", "step_mg", "min_days_per_step",
              "default_target_mg", "ceiling_mg", "first_review_days", "response_judgement_days"]  # fmt: skip
    data = {}
    for name in fields:
        value = getattr(protocol, protocol._meta.get_field(name).attname)
        data[name] = "" if value is None else str(value)
    for field in protocol._meta.concrete_fields:
        if field.name not in data and not field.primary_key and field.editable:
            value = getattr(protocol, field.attname)
            data[field.name] = "" if value is None else ("on" if value is True else str(value))
    data["sources"] = [str(s.pk) for s in protocol.sources.all()]
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not False}


def test_it_does_not_let_a_clinic_lead_without_the_editor_permission_change_the_catalog(client, lead, indication):
    staff_with_model_permissions(lead)
    client.force_login(lead)
    protocol = indication.protocol
    url = reverse("admin:catalog_protocol_change", args=[protocol.pk])
    assert client.get(url).status_code == 200  # may still read it
    response = client.post(url, protocol_form(protocol, ceiling_mg="150"))
    assert response.status_code == 403
    protocol.refresh_from_db()
    assert protocol.ceiling_mg != 150
    assert client.post(reverse("admin:catalog_source_add"), {"key": "x", "label": "x"}).status_code == 403


def test_it_lets_an_editor_change_a_protocol_and_the_audit_keeps_before_and_after(client, lead, indication):
    staff_with_model_permissions(lead)
    grant_editor(lead)
    client.force_login(lead)
    protocol = indication.protocol
    old_step = protocol.min_days_per_step
    url = reverse("admin:catalog_protocol_change", args=[protocol.pk])
    response = client.post(url, protocol_form(protocol, min_days_per_step=str(old_step + 7)))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    protocol.refresh_from_db()
    assert protocol.min_days_per_step == old_step + 7
    event = AuditEvent.objects.get(object_type="catalog.protocol")
    assert event.user == lead and event.action == "update"
    assert event.changes == {"min_days_per_step": [old_step, old_step + 7]}
    assert event.detail.endswith("changed: min_days_per_step")


def test_it_audits_deleting_a_source_with_its_values(client, django_user_model, catalog):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.org", "a-long-admin-password")
    client.force_login(admin_user)
    reviewed = date(2026, 1, 1)
    source = Source.objects.create(key="temp-source", label="Temporary", identifier="PMID 1", review_date=reviewed)
    response = client.post(reverse("admin:catalog_source_delete", args=[source.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Source.objects.filter(pk=source.pk).exists()
    event = AuditEvent.objects.get(object_type="catalog.source")
    assert event.changes["key"] == ["temp-source", None] and "deleted" in event.detail


def test_it_names_the_demo_lead_a_catalog_editor_explicitly(catalog):
    _, demo_users = seed_demo()
    users = {u.username: u for u in demo_users}
    assert users["demo-lead"].has_perm("catalog.edit_catalog")
    assert not users["demo"].has_perm("catalog.edit_catalog")
