from django.contrib import admin

from trialplanner.patients.models import Clinic, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "time_zone", "dispensing_interval_days"]
    search_fields = ["name", "phone"]
    list_filter = ["time_zone"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role"]
    list_filter = ["role", "clinic"]
    search_fields = ["user__username", "user__email", "clinic__name"]
    autocomplete_fields = ["user", "clinic"]
