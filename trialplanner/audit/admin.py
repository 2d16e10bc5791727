from django.contrib import admin

from trialplanner.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: administrators browse every event, including account security and catalog changes."""

    list_display = ["at", "user", "action", "object_type", "detail", "clinic", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["user__username", "object_type", "detail", "request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
