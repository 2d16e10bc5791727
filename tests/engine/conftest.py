"""Engine fixtures built straight from the catalog file: no database, no Django."""

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from trialplanner.engine.types import (
    DRUG_FACT_CHOICES,
    DRUG_FACT_FLAGS,
    Action,
    ConditionFacts,
    DrugFacts,
    IndicationFacts,
    Indicator,
    ProtocolFacts,
    RuleBook,
    RuleText,
    SourceRef,
)

CATALOG_FILE = Path(__file__).resolve().parents[2] / "trialplanner" / "catalog" / "data" / "catalog.toml"
DRUG_FLAGS = DRUG_FACT_FLAGS
DRUG_CHOICES = DRUG_FACT_CHOICES


def load_file():
    with open(CATALOG_FILE, "rb") as fh:
        return tomllib.load(fh)


def rulebook_from(data):
    sources = {
        s["key"]: SourceRef(s["key"], s["label"], s.get("identifier", ""), s.get("url", "")) for s in data["sources"]
    }

    def refs(row):
        return tuple(sources[k] for k in row["sources"])

    rules = {
        r["code"]: RuleText(
            code=r["code"], title=r["title"], indicator=Indicator(r["indicator"]), action=Action(r["action"]),
            summary=r["summary"], detail=r["detail"], effect=r["effect"], sources=refs(r),
            order=r.get("display_order", 0),
        )
        for r in data["rules"]
    }  # fmt: skip
    drugs = tuple(
        DrugFacts(
            slug=d["slug"],
            name=d["name"],
            drug_class=d["drug_class"],
            note=d.get("note", ""),
            action=d["action"],
            aliases=tuple(a.strip() for a in d.get("aliases", "").split(",") if a.strip()),
            ingredients=tuple(a.strip() for a in d.get("ingredients", "").split(",") if a.strip()),
            washout_days=d.get("washout_days"),
            persistence_days=d.get("persistence_days", d.get("washout_days") or 0),
            anticholinergic_score=d.get("anticholinergic_score", 0),
            sources=refs(d),
            **{f: bool(d.get(f, False)) for f in DRUG_FLAGS},
            **{f: d.get(f, "") for f in DRUG_CHOICES},
        )
        for d in data["interacting_drugs"]
    )
    conditions = {c["slug"]: ConditionFacts(c["slug"], c["name"], c["group"], c["rule"]) for c in data["conditions"]}
    amitriptyline = next(d for d in data["drugs"] if d["slug"] == "amitriptyline")
    return RuleBook(
        rules=rules,
        parameters={p["key"]: Decimal(p["value"]) for p in data["parameters"]},
        drugs=drugs,
        conditions=conditions,
        amitriptyline_acb=amitriptyline["anticholinergic_score"],
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
