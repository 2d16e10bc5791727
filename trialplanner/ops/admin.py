from django.contrib import admin

from trialplanner.ops.models import ScheduledRun


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    """The scheduler's ledger, read-only: what ran, for whom, when, and its one-line result."""

    list_display = ("day", "job", "scope", "status", "attempts", "owner", "started_at", "finished_at")
    list_filter = ("job", "status")
    readonly_fields = [f.name for f in ScheduledRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
