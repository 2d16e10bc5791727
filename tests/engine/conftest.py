"""Engine fixtures built straight from the catalog file: no database, no Django."""

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from trialplanner.engine.medicines import parse_members
from trialplanner.engine.types import (
    DRUG_FACT_CHOICES,
    DRUG_FACT_FLAGS,
    Action,
    ConditionFacts,
    DoseLimit,
    DrugFacts,
    IndicationFacts,
    Indicator,
    ProtocolFacts,
    RuleBook,
    RuleText,
    SourceRef,
    normalise_name,
)

CATALOG_FILE = Path(__file__).resolve().parents[2] / "trialplanner" / "catalog" / "data" / "catalog.toml"
DRUG_FLAGS = DRUG_FACT_FLAGS
DRUG_CHOICES = DRUG_FACT_CHOICES


def load_file():
    with open(CATALOG_FILE, "rb") as fh:
        return tomllib.load(fh)


def _facts(row, refs):
    return dict(
        note=row.get("note", ""),
        action=row["action"],
        washout_days=row.get("washout_days"),
        persistence_days=row.get("persistence_days", row.get("washout_days") or 0),
        anticholinergic_score=row.get("anticholinergic_score", 0),
        sources=refs(row),
        **{f: bool(row.get(f, False)) for f in DRUG_FLAGS},
        **{f: row.get(f, "") for f in DRUG_CHOICES},
    )


def rulebook_from(data, dictionary=None):
    """The catalog file as the engine reads it; `dictionary` stands in for the open dictionary (name -> generic)."""
    sources = {
        s["key"]: SourceRef(s["key"], s["label"], s.get("identifier", ""), s.get("url", "")) for s in data["sources"]
    }

    def refs(row):
        return tuple(sources[k] for k in row["sources"])

    rules = {
        r["code"]: RuleText(
            code=r["code"], title=r["title"], indicator=Indicator(r["indicator"]), action=Action(r["action"]),
            summary=r["summary"], detail=r["detail"], effect=r["effect"], sources=refs(r),
            order=r.get("display_order", 0), concern=r.get("concern", ""), stacked=r.get("stacked", False),
            needs_specialist_advice=r.get("needs_specialist_advice", False),
        )
        for r in data["rules"]
    }  # fmt: skip
    rows = [
        DrugFacts(
            slug=d["slug"],
            name=d["name"],
            drug_class=d["drug_class"],
            aliases=tuple(a.strip() for a in d.get("aliases", "").split(",") if a.strip()),
            ingredients=tuple(a.strip() for a in d.get("ingredients", "").split(",") if a.strip()),
            **_facts(d, refs),
        )
        for d in data["interacting_drugs"]
    ]
    catalogued = {normalise_name(n) for d in rows for n in (d.name, d.slug, *d.aliases)}
    for cls in data.get("drug_classes", []):
        for member, aliases in parse_members(cls["members"]):
            if normalise_name(member) in catalogued:
                continue
            catalogued.add(normalise_name(member))
            rows.append(
                DrugFacts(
                    slug=normalise_name(member).replace(" ", "-"),
                    name=member[:1].upper() + member[1:],
                    aliases=tuple(aliases),
                    drug_class=cls["name"],
                    reviewed_class=cls["name"],
                    **_facts(cls, refs),
                )
            )
    drugs = tuple(rows)
    limits = tuple(
        DoseLimit(
            drug_slug=row["drug"],
            rule_code=row["rule"],
            max_mg_a_day=Decimal(str(row["max_mg_a_day"])),
            inclusive=row.get("inclusive", False),
            older_age=row.get("older_age"),
            older_max_mg_a_day=Decimal(str(row["older_max_mg_a_day"])) if "older_max_mg_a_day" in row else None,
            liver_max_mg_a_day=Decimal(str(row["liver_max_mg_a_day"])) if "liver_max_mg_a_day" in row else None,
        )
        for row in data.get("dose_limits", [])
    )
    recognised = {
        normalise_name(name): row["medicine"]
        for row in data.get("medicine_names", [])
        for name in row["names"].split(",")
        if name.strip()
    }
    dictionary = {normalise_name(k): v for k, v in (dictionary or {}).items()}
    conditions = {
        c["slug"]: ConditionFacts(
            c["slug"], c["name"], c["group"], c["rule"], qt_tally_points=c.get("qt_tally_points", 0),
            qt_risk_condition=c.get("qt_risk_condition", False), frail_shaping=c.get("frail_shaping", False),
        )
        for c in data["conditions"]
    }  # fmt: skip
    amitriptyline = next(d for d in data["drugs"] if d["slug"] == "amitriptyline")
    return RuleBook(
        rules=rules,
        parameters={p["key"]: Decimal(p["value"]) for p in data["parameters"]},
        drugs=drugs,
        conditions=conditions,
        amitriptyline_acb=amitriptyline["anticholinergic_score"],
        dose_limits=limits,
        recognised_names=recognised,
        by_generic={normalise_name(v): d for d in drugs for k, v in dictionary.items() if k == normalise_name(d.name)},
        recognise=dictionary.get,
    )


def indications_from(data):
    sources = {s["key"]: SourceRef(s["key"], s["label"]) for s in data["sources"]}
    result = {}
    for row in data["indications"]:
        p = row["protocol"]
        protocol = ProtocolFacts(
            start_mg=Decimal(p["start_mg"]),
            older_start_mg=Decimal(p["older_start_mg"]),
            frail_start_mg=Decimal(p["frail_start_mg"]),
            step_mg=Decimal(p["step_mg"]),
            min_days_per_step=p["min_days_per_step"],
            default_target_mg=Decimal(p["default_target_mg"]),
            ceiling_mg=Decimal(p["ceiling_mg"]),
            first_review_days=p["first_review_days"],
            response_judgement_days=p["response_judgement_days"],
            sources=tuple(sources[k] for k in p["sources"]),
        )
        indication = IndicationFacts(row["slug"], row["name"], row.get("caution_card", ""))
        result[row["slug"]] = (indication, protocol)
    return result


@pytest.fixture(scope="session")
def catalog_data():
    return load_file()


@pytest.fixture(scope="session")
def rulebook(catalog_data):
    return rulebook_from(catalog_data)


@pytest.fixture(scope="session")
def indications(catalog_data):
    return indications_from(catalog_data)


def strengths_from(data):
    from trialplanner.engine import Form, StrengthFacts

    return tuple(
        StrengthFacts(
            Form(s["form"]), Decimal(s["amount_mg"]), Decimal(s["per_volume_ml"]) if "per_volume_ml" in s else None
        )
        for s in data["strengths"]
        if s.get("is_active", True)
    )


@pytest.fixture(scope="session")
def strengths(catalog_data):
    return strengths_from(catalog_data)
