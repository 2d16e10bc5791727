from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from trialplanner.catalog import models as m
from trialplanner.catalog import selectors


def indication_list(request):
    ctx = {
        "indications": selectors.indications_with_protocols(),
        "monitoring": selectors.monitoring_for(None),
    }
    return render(request, "catalog/indication_list.html", ctx)


def indication_detail(request, slug):
    indication = get_object_or_404(selectors.indications_with_protocols(), slug=slug)
    measure = m.OutcomeMeasure.objects.prefetch_related(selectors.SOURCES).get(pk=indication.outcome_measure_id)
    ctx = {
        "indication": indication,
        "protocol": indication.protocol,
        "measure": measure,
        "monitoring": selectors.monitoring_for(indication),
    }
    return render(request, "catalog/indication_detail.html", ctx)


def source_list(request):
    sources = m.Source.objects.order_by("id")
    return render(request, "catalog/source_list.html", {"sources": sources})


def safety_rules(request):
    rules = selectors.rules()
    groups = [
        (m.Rule.Indicator.CRITICAL, [r for r in rules if r.indicator == m.Rule.Indicator.CRITICAL]),
        (m.Rule.Indicator.WARNING, [r for r in rules if r.indicator == m.Rule.Indicator.WARNING]),
        (m.Rule.Indicator.INFO, [r for r in rules if r.indicator == m.Rule.Indicator.INFO]),
    ]
    ctx = {
        "groups": groups,
        "parameters": m.RuleParameter.objects.prefetch_related(selectors.SOURCES),
        "drugs": selectors.interacting_drugs(),
        "strengths": m.Strength.objects.select_related("drug").prefetch_related(
            Prefetch("sources", queryset=m.Source.objects.order_by("id"))
        ),
    }
    return render(request, "catalog/safety_rules.html", ctx)
