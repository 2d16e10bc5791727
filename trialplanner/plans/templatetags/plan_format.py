"""Formatting filters for plan pages: the wording itself comes from the engine."""

from django import template

from trialplanner.catalog import selectors as catalog_selectors
from trialplanner.plans import selectors

register = template.Library()


@register.filter
def directions(rows):
    """Dose-table rows -> the whole plan as one prescription direction."""
    return selectors.directions(rows)


@register.filter
def card_titles(codes, cards):
    """An adjustment's `because` card codes -> the cards' titles, as clinicians read them (codes stay in JSON)."""
    titles = {}
    for card in cards or ():
        folded = card.get("folded", []) if isinstance(card, dict) else card.folded
        for one in (card, *folded):  # a card folded under a stacked one still shapes the plan
            code, title = (one["code"], one["title"]) if isinstance(one, dict) else (one.code, one.title)
            titles.setdefault(code, title)
    rules = None
    shown = []
    for code in codes:
        if code not in titles:
            rules = rules or catalog_selectors.rulebook().rules
            titles[code] = rules[code].title if code in rules else code.replace("-", " ")
        shown.append(titles[code])
    return "; ".join(dict.fromkeys(shown))
