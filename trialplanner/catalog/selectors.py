"""Reads of the catalog for pages and services, with their related rows prefetched."""

import re

from django.db.models import Prefetch, Q
from django.utils.text import slugify

from trialplanner import engine
from trialplanner.catalog import models as m
from trialplanner.engine.types import DRUG_FACT_CHOICES, DRUG_FACT_FLAGS, ConditionFacts, normalise_name
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


def monitoring_names() -> dict[str, str]:
    """Monitoring slug -> its name (read once per request)."""
    return once_per_request(
        "catalog-monitoring-names", lambda: dict(m.MonitoringItem.objects.values_list("slug", "name"))
    )


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
        engine.SourceRef(key=s.key, label=s.label, identifier=s.identifier, url=s.url, reviewed_on=s.review_date)
        for s in row.sources.all()
    )


def _facts(row):
    """The facts the rules read, from a medicine's or a class's row."""
    return {
        "note": row.note,
        "action": row.action,
        "washout_days": row.washout_days,
        "persistence_days": row.persistence_days,
        "anticholinergic_score": row.anticholinergic_score,
        **{name: getattr(row, name) for name in (*DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES)},
        "sources": _refs(row),
    }


def _class_members(rows, catalogued):
    """Each class member with no row of its own, as a medicine with the class's facts (reference A.4)."""
    members = []
    for cls in m.DrugClass.objects.prefetch_related(SOURCES):
        for member, aliases in cls.member_list:
            key = normalise_name(member)
            if key in catalogued:
                continue
            catalogued.add(key)
            members.append(
                engine.DrugFacts(
                    slug=slugify(member),
                    name=member[:1].upper() + member[1:],
                    aliases=tuple(aliases),
                    drug_class=cls.name,
                    reviewed_class=cls.name,
                    **_facts(cls),
                )
            )
    return members


class DictionaryLookup:
    """The open dictionary's generic name for a normalised name: one indexed query per name, remembered."""

    def __init__(self):
        self.found = {}

    def __call__(self, name):
        if name not in self.found:
            row = m.DictionaryName.objects.filter(name=name[:200]).values_list("medicine", flat=True).first()
            self.found[name] = row
        return self.found[name]


def _by_generic(drugs):
    """The dictionary's generic name of each catalogued medicine -> its facts, so brands reach the catalog."""
    names = {}
    for drug in drugs:
        for name in (drug.name, *drug.aliases):
            names.setdefault(normalise_name(name), drug)
    found = {}
    for name, generic in m.DictionaryName.objects.filter(name__in=list(names)).values_list("name", "medicine"):
        found.setdefault(normalise_name(generic), names[name])
    return found


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
            concern=r.concern,
            stacked=r.stacked,
            needs_specialist_advice=r.needs_specialist_advice,
        )
        for r in m.Rule.objects.prefetch_related(SOURCES)
    }
    rows = [
        engine.DrugFacts(
            slug=d.slug,
            name=d.name,
            aliases=tuple(d.alias_list),
            drug_class=d.drug_class,
            ingredients=tuple(d.ingredient_list),
            **_facts(d),
        )
        for d in m.InteractingDrug.objects.prefetch_related(SOURCES)
    ]
    catalogued = {normalise_name(n) for d in rows for n in (d.name, d.slug, *d.aliases)}
    drugs = (*rows, *_class_members(rows, catalogued))
    limits = tuple(
        engine.DoseLimit(
            drug_slug=limit.drug.slug,
            rule_code=limit.rule.code,
            max_mg_a_day=limit.max_mg_a_day,
            inclusive=limit.inclusive,
            older_age=limit.older_age,
            older_max_mg_a_day=limit.older_max_mg_a_day,
            liver_max_mg_a_day=limit.liver_max_mg_a_day,
        )
        for limit in m.DoseLimit.objects.select_related("drug", "rule")
    )
    recognised = {normalise_name(name): row.medicine for row in m.MedicineName.objects.all() for name in row.name_list}
    conditions = {
        c.slug: ConditionFacts(
            slug=c.slug,
            name=c.name,
            group=c.group,
            rule_code=c.rule.code,
            qt_tally_points=c.qt_tally_points,
            qt_risk_condition=c.qt_risk_condition,
            frail_shaping=c.frail_shaping,
        )
        for c in m.Condition.objects.select_related("rule")
    }
    amitriptyline = m.Drug.objects.get(slug="amitriptyline")
    return engine.RuleBook(
        rules=rules,
        parameters=dict(m.RuleParameter.objects.values_list("key", "value")),
        drugs=drugs,
        conditions=conditions,
        amitriptyline_acb=amitriptyline.anticholinergic_score,
        dose_limits=limits,
        recognised_names=recognised,
        by_generic=_by_generic(drugs),
        recognise=DictionaryLookup(),
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
