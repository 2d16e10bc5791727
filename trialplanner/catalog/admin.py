from django.contrib import admin

from trialplanner.catalog import models as m
from trialplanner.catalog.governance import CatalogEditorAdminMixin, CatalogEditorPermissionMixin


class CitedAdmin(CatalogEditorAdminMixin, admin.ModelAdmin):
    filter_horizontal = ["sources"]
    list_filter = ["sources"]


@admin.register(m.Source)
class SourceAdmin(CatalogEditorAdminMixin, admin.ModelAdmin):
    list_display = ["key", "label", "identifier", "review_date", "unconfirmed"]
    search_fields = ["key", "label", "citation", "identifier"]
    list_filter = ["unconfirmed", "review_date"]


@admin.register(m.Drug)
class DrugAdmin(CitedAdmin):
    list_display = ["name", "drug_class", "anticholinergic_score", "qt_risk"]
    search_fields = ["name", "slug", "brand_names"]


@admin.register(m.Strength)
class StrengthAdmin(CitedAdmin):
    list_display = ["__str__", "form", "amount_mg", "per_volume_ml", "markets", "is_active", "rxnorm_code", "dmd_code"]
    list_filter = ["form", "is_active", "drug", "sources"]
    search_fields = ["drug__name", "markets"]


@admin.register(m.OutcomeMeasure)
class OutcomeMeasureAdmin(CitedAdmin):
    list_display = ["name", "short_name", "scale_min", "scale_max", "response_rule", "response_threshold"]
    search_fields = ["name", "slug", "short_name"]


@admin.register(m.PublishedOutcome)
class PublishedOutcomeAdmin(CitedAdmin):
    list_display = [
        "indication", "definition", "measure", "response_threshold", "treated_percent", "comparator_percent"
    ]  # fmt: skip
    search_fields = ["slug", "definition"]


class ProtocolInline(CatalogEditorPermissionMixin, admin.StackedInline):
    model = m.Protocol
    filter_horizontal = ["sources"]
    extra = 0


@admin.register(m.Indication)
class IndicationAdmin(CitedAdmin):
    list_display = ["name", "recommendation", "evidence_level", "outcome_measure", "snomed_code", "display_order"]
    list_filter = ["recommendation", "sources"]
    search_fields = ["name", "slug", "status", "evidence_summary"]
    inlines = [ProtocolInline]


@admin.register(m.Protocol)
class ProtocolAdmin(CitedAdmin):
    list_display = [
        "indication",
        "start_mg",
        "older_start_mg",
        "frail_start_mg",
        "step_mg",
        "min_days_per_step",
        "default_target_mg",
        "ceiling_mg",
        "first_review_days",
        "response_judgement_days",
    ]
    search_fields = ["indication__name"]


@admin.register(m.MonitoringItem)
class MonitoringItemAdmin(CitedAdmin):
    list_display = ["name", "when", "applies_to_all", "display_order"]
    list_filter = ["when", "applies_to_all", "indications"]
    search_fields = ["name", "slug", "criteria"]
    filter_horizontal = ["sources", "indications"]


@admin.register(m.Rule)
class RuleAdmin(CitedAdmin):
    list_display = ["code", "title", "indicator", "action", "display_order"]
    list_filter = ["indicator", "action", "sources"]
    search_fields = ["code", "title", "summary", "detail"]


@admin.register(m.RuleParameter)
class RuleParameterAdmin(CitedAdmin):
    list_display = ["key", "name", "value", "unit"]
    search_fields = ["key", "name"]


@admin.register(m.Condition)
class ConditionAdmin(CitedAdmin):
    list_display = ["name", "slug", "group", "rule"]
    list_filter = ["group", "rule__indicator"]
    search_fields = ["name", "slug", "help_text"]


@admin.register(m.InteractingDrug)
class InteractingDrugAdmin(CitedAdmin):
    list_display = [
        "name",
        "drug_class",
        "action",
        "is_maoi",
        "serotonergic",
        "cyp2d6_inhibition",
        "qt_risk",
        "anticholinergic_score",
        "cns_depressant",
    ]
    list_filter = [
        "action",
        "is_maoi",
        "contraindicated",
        "serotonergic",
        "cyp2d6_inhibition",
        "raises_levels",
        "qt_risk",
        "anticholinergic_score",
        "cns_depressant",
        "cns_active",
        "lowers_electrolytes",
        "sympathomimetic",
        "lowers_blood_pressure",
    ]
    search_fields = ["name", "slug", "aliases", "drug_class"]


@admin.register(m.CatalogVersion)
class CatalogVersionAdmin(CatalogEditorAdminMixin, admin.ModelAdmin):
    list_display = ["version", "loaded_at"]

    def has_add_permission(self, request):
        return False


@admin.register(m.ObservationCode)
class ObservationCodeAdmin(CitedAdmin):
    list_display = ["key", "name", "loinc_code", "unit", "display_order"]
    search_fields = ["key", "name", "loinc_code"]


@admin.register(m.ReasonPreset)
class ReasonPresetAdmin(CitedAdmin):
    list_display = ["text", "key", "needs_details", "display_order"]
    list_filter = ["needs_details", "rules", "sources"]
    search_fields = ["key", "text"]
    filter_horizontal = ["sources", "rules"]


@admin.register(m.WatchFor)
class WatchForAdmin(CitedAdmin):
    list_display = ["title_en", "title_es", "key", "display_order"]
    list_filter = ["rules", "sources"]
    search_fields = ["key", "title_en", "signs_en", "title_es", "signs_es"]
    filter_horizontal = ["sources", "rules"]
