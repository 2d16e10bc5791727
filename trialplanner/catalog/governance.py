"""Who may edit the shared catalog, and the audit of each change with its before and after values."""

from decimal import Decimal

from django.db import models, transaction

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log

EDIT_PERMISSION = "catalog.edit_catalog"


def may_edit_catalog(user) -> bool:
    """Only users an administrator granted the catalog-editor permission (superusers have it)."""
    return user.is_active and user.has_perm(EDIT_PERMISSION)


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set):
        return sorted(_plain(v) for v in value)
    return value


def snapshot(obj) -> dict:
    """The object's editable values (many-to-many as sorted names), JSON-ready."""
    values = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        values[field.name] = _plain(getattr(obj, field.attname))
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            values[field.name] = _plain([str(o) for o in getattr(obj, field.name).all()])
    return values


def diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def audit_catalog_change(*, user, obj, before: dict | None, after: dict | None) -> None:
    """One audit event for a catalog row created, changed (fields with before/after) or deleted."""
    model = obj._meta.model_name
    if before is None:
        action, verb, changes = AuditEvent.Action.CREATE, "added", diff({}, after)
    elif after is None:
        action, verb, changes = AuditEvent.Action.UPDATE, "deleted", diff(before, {})
    else:
        action, verb, changes = AuditEvent.Action.UPDATE, "changed", diff(before, after)
        if not changes:
            return
    detail = f"catalog {model} {obj} {verb}: " + ", ".join(changes)
    audit_log(action, None, object_type=f"catalog.{model}", user=user, detail=detail, changes=changes)


class CatalogEditorPermissionMixin:
    """Adding, changing or deleting catalog rows needs the catalog-editor permission besides the model's."""

    def has_add_permission(self, request, *args):
        return may_edit_catalog(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return may_edit_catalog(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return may_edit_catalog(request.user) and super().has_delete_permission(request, obj)


class CatalogEditorAdminMixin(CatalogEditorPermissionMixin):
    """Admin pages of catalog models: each change is audited with its before and after values,
    inside the admin's own transaction (so the change and its event commit together)."""

    def save_model(self, request, obj, form, change):
        stored = type(obj).objects.filter(pk=obj.pk).first() if change else None
        request._catalog_before = snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        audit_catalog_change(
            user=request.user, obj=obj, before=getattr(request, "_catalog_before", None), after=snapshot(obj)
        )

    def save_formset(self, request, form, formset, change):
        befores = {}
        for inline in formset.forms:
            if inline.instance.pk is not None:
                stored = type(inline.instance).objects.filter(pk=inline.instance.pk).first()
                befores[inline.instance.pk] = snapshot(stored) if stored is not None else None
        super().save_formset(request, form, formset, change)
        for obj in formset.deleted_objects:
            audit_catalog_change(user=request.user, obj=obj, before=befores.get(obj.pk), after=None)
        for obj in [*formset.new_objects, *(o for o, _ in formset.changed_objects)]:
            audit_catalog_change(user=request.user, obj=obj, before=befores.get(obj.pk), after=snapshot(obj))

    def delete_model(self, request, obj):
        before = snapshot(obj)
        with transaction.atomic():
            super().delete_model(request, obj)
            audit_catalog_change(user=request.user, obj=obj, before=before, after=None)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)
