"""Reads of the catalog for pages and services, with their related rows prefetched."""

import re

from django.db.models import Prefetch, Q

from trialplanner import engine
from trialplanner.catalog import models as m
from trialplanner.engine.types import ConditionFacts
from trialplanner.requestmemo import once_per_request

SOURCES = Prefetch("sources", queryset=m.Source.objects.order_by("id"))
SLUG = re.compile(r"^[-a-z0-9_]{1,60}$")


def indication_by_slug(slug):
    """The indication with this slug, or None; anything that is not a slug never reaches the database."""
    if not isinstance(slug, str) or not SLUG.match(slug):
        return None
    return m.Indication.objects.select_related("protocol", "outcome_measure").filter(slug=slug).first()


def indications_with_protocols():
    return m.Indication.objects.select_related("protocol", "outcome_measure").prefetch_related(
        SOURCES, Prefetch("protocol__sources", queryset=m.Source.objects.order_by("id"))
    )


def monitoring_for(indication=None):
    items = m.MonitoringItem.objects.prefetch_related(SOURCES)
    if indication is None:
        return items.filter(applies_to_all=True)
    return items.filter(Q(applies_to_all=True) | Q(indications=indication)).distinct()


def check_validity() -> dict[str, int]:
    """Monitoring slug -> days a result on file stays valid (rows with a validity only)."""
    return dict(m.MonitoringItem.objects.filter(validity_days__isnull=False).values_list("slug", "validity_days"))


def rules():
    return m.Rule.objects.prefetch_related(SOURCES, "conditions")


def reason_presets(codes) -> dict[str, list]:
    """Rule code -> its preset reasons in display order, for the warnings in `codes`."""
    presets = {code: [] for code in codes}
    rows = m.ReasonPreset.rules.through.objects.filter(rule__code__in=presets).select_related("rule", "reasonpreset")
    for row in sorted(rows, key=lambda r: (r.reasonpreset.display_order, r.reasonpreset.key)):
        presets[row.rule.code].append(row.reasonpreset)
    return presets


def watch_for(codes):
    """The handout's watch-for blocks for the acknowledged warnings in `codes`, each once, in display order."""
    return list(m.WatchFor.objects.filter(rules__code__in=list(codes)).distinct().prefetch_related(SOURCES))


def interacting_drugs():
    return m.InteractingDrug.objects.prefetch_related(SOURCES)


def current_version():
    row = m.CatalogVersion.objects.first()
    return row.version if row else None


# --- the catalog as engine inputs ---------------------------------------------------------


def _refs(row):
    return tuple(
        engine.SourceRef(key=s.key, label=s.label, identifier=s.identifier, url=s.url) for s in row.sources.all()
    )


def rulebook() -> engine.RuleBook:
    """The engine's view of the catalog: rule texts, parameters, drugs and conditions (read once per request)."""
    return once_per_request("catalog-rulebook", _rulebook)


def _rulebook() -> engine.RuleBook:
    rules = {
        r.code: engine.RuleText(
            code=r.code,
            title=r.title,
            indicator=engine.Indicator(r.indicator),
            action=engine.Action(r.action),
            summary=r.summary,
            detail=r.detail,
            effect=r.effect,
            sources=_refs(r),
            order=r.display_order,
        )
        for r in m.Rule.objects.prefetch_related(SOURCES)
    }
    drugs = tuple(
        engine.DrugFacts(
            slug=d.slug,
            name=d.name,
            aliases=tuple(d.alias_list),
            drug_class=d.drug_class,
            note=d.note,
            action=d.action,
            ingredients=tuple(d.ingredient_list),
            is_amitriptyline=d.is_amitriptyline,
            is_tricyclic=d.is_tricyclic,
            is_maoi=d.is_maoi,
            washout_days=d.washout_days,
            persistence_days=d.persistence_days,
            contraindicated=d.contraindicated,
            serotonergic=d.serotonergic,
            lowers_seizure_threshold=d.lowers_seizure_threshold,
            cyp2d6_inhibition=d.cyp2d6_inhibition,
            cyp_inducer=d.cyp_inducer,
            raises_levels=d.raises_levels,
            qt_risk=d.qt_risk,
            anticholinergic_score=d.anticholinergic_score,
            cns_depressant=d.cns_depressant,
            cns_active=d.cns_active,
            lowers_electrolytes=d.lowers_electrolytes,
            sympathomimetic=d.sympathomimetic,
            lowers_blood_pressure=d.lowers_blood_pressure,
            thyroid_hormone=d.thyroid_hormone,
            sources=_refs(d),
        )
        for d in m.InteractingDrug.objects.prefetch_related(SOURCES)
    )
    conditions = {
        c.slug: ConditionFacts(slug=c.slug, name=c.name, group=c.group, rule_code=c.rule.code)
        for c in m.Condition.objects.select_related("rule")
    }
    amitriptyline = m.Drug.objects.get(slug="amitriptyline")
    return engine.RuleBook(
        rules=rules,
        parameters=dict(m.RuleParameter.objects.values_list("key", "value")),
        drugs=drugs,
        conditions=conditions,
        amitriptyline_acb=amitriptyline.anticholinergic_score,
    )


def indication_facts(indication: m.Indication) -> engine.IndicationFacts:
    return engine.IndicationFacts(
        slug=indication.slug, name=indication.name, caution=indication.caution_card, sources=_refs(indication)
    )


def protocol_facts(protocol: m.Protocol) -> engine.ProtocolFacts:
    return engine.ProtocolFacts(
        start_mg=protocol.start_mg,
        older_start_mg=protocol.older_start_mg,
        frail_start_mg=protocol.frail_start_mg,
        step_mg=protocol.step_mg,
        min_days_per_step=protocol.min_days_per_step,
        default_target_mg=protocol.default_target_mg,
        ceiling_mg=protocol.ceiling_mg,
        first_review_days=protocol.first_review_days,
        response_judgement_days=protocol.response_judgement_days,
        sources=_refs(protocol),
    )
