"""Load the versioned catalog file into the database, idempotently.

Rows are matched on their natural key (slug, code or key) and updated in place,
so re-running never duplicates and saved plans keep pointing at the same rows.
The whole load is one transaction: a bad row leaves the database as it was.
"""

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from trialplanner.catalog import models as m
from trialplanner.engine.types import DRUG_FACT_CHOICES, DRUG_FACT_FLAGS, normalise_name

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "catalog.toml"


class CatalogError(Exception):
    """A row of the catalog file is invalid; the message names the table and row."""


DRUG_FIELDS = {
    "slug", "name", "aliases", "drug_class", "action", "note", "ingredients", "washout_days", "persistence_days",
    "anticholinergic_score", "sources", "catalog_note", "rxnorm_code", "dmd_vtm_code",
    *DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES,
}  # fmt: skip

CLASS_FIELDS = {
    "slug", "name", "members", "facts_differ", "required", "action", "note", "washout_days", "persistence_days",
    "anticholinergic_score", "sources", "catalog_note", *DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES,
}  # fmt: skip

# Clinician-facing text never names the app's internal files or the reference's markers.
INTERNAL_MARKERS = re.compile(
    r"UNCONFIRMED|DISAGREEMENT|DESIGN\.md|\.md\b|§|disagreement register|unconfirmed register"
)


@dataclass
class LoadReport:
    version: str
    created: dict = field(default_factory=dict)
    updated: dict = field(default_factory=dict)
    unchanged: dict = field(default_factory=dict)
    not_in_file: dict = field(default_factory=dict)

    def count(self, table, outcome):
        bucket = getattr(self, outcome)
        bucket[table] = bucket.get(table, 0) + 1

    def lines(self):
        tables = sorted(set(self.created) | set(self.updated) | set(self.unchanged) | set(self.not_in_file))
        for table in tables:
            line = (
                f"{table}: {self.created.get(table, 0)} created, {self.updated.get(table, 0)} updated, "
                f"{self.unchanged.get(table, 0)} unchanged"
            )
            if self.not_in_file.get(table):
                line += f", {self.not_in_file[table]} in the database but not in the file (kept)"
            yield line


def read_catalog(path=DEFAULT_PATH):
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise CatalogError(f"Catalog file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from None


def _decimal(where, name, raw):
    if raw is None:
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise CatalogError(f"{where}: {name} must be a number, not {raw!r}") from None


class _Loader:
    def __init__(self, data, report):
        self.data = data
        self.report = report
        self.sources = {}

    def rows(self, table):
        rows = self.data.get(table, [])
        if not isinstance(rows, list):
            raise CatalogError(f"{table} must be a list of tables ([[{table}]])")
        return rows

    def require(self, where, row, *names):
        missing = [n for n in names if n not in row]
        if missing:
            raise CatalogError(f"{where}: missing {', '.join(missing)}")

    def source_objects(self, where, row):
        keys = row.get("sources") or []
        if not keys:
            raise CatalogError(f"{where}: every row must cite at least one source")
        unknown = [k for k in keys if k not in self.sources]
        if unknown:
            raise CatalogError(f"{where}: unknown source {', '.join(unknown)}")
        return [self.sources[k] for k in keys]

    def save(self, table, model, lookup, values, where, sources=None):
        obj = model.objects.filter(**lookup).first()
        outcome = "created"
        if obj is None:
            obj = model(**lookup)
        else:
            outcome = "unchanged"
            for name, value in values.items():
                if getattr(obj, name) != value:
                    outcome = "updated"
                    break
        for name, value in values.items():
            setattr(obj, name, value)
        try:
            obj.full_clean()
        except ValidationError as exc:
            raise CatalogError(f"{where}: {_flatten(exc)}") from None
        if outcome != "unchanged":
            obj.save()
        if sources is not None:
            current = set(obj.sources.values_list("pk", flat=True))
            wanted = {s.pk for s in sources}
            if current != wanted:
                obj.sources.set(sources)
                if outcome == "unchanged":
                    outcome = "updated"
        self.report.count(table, outcome)
        return obj

    def cited(self, row):
        return {"catalog_note": row.get("catalog_note", "").strip()}

    def codes(self, row, *names):
        """Code fields, empty when the file has none; the model validators check their digits."""
        return {name: str(row.get(name, "")).strip() for name in names}

    def check_text(self):
        """Reject internal markers in any text shown to clinicians, the source register included."""
        for table, rows in self.data.items():
            if not isinstance(rows, list):
                continue
            for i, row in enumerate(rows):
                for where, text in _strings(
                    row, f"{table}[{row.get('slug') or row.get('code') or row.get('key') or i}]"
                ):
                    found = INTERNAL_MARKERS.search(text)
                    if found:
                        raise CatalogError(
                            f"{where}: clinician-facing text must not show {found.group(0)!r}; say it in plain words "
                            "(e.g. 'evidence uncertain', 'sources disagree')"
                        )

    def load(self):
        self.check_text()
        self.load_sources()
        drugs = self.load_drugs()
        self.load_strengths(drugs)
        measures = self.load_outcome_measures()
        indications = self.load_indications(drugs, measures)
        self.load_monitoring(indications)
        rules = self.load_rules()
        self.load_parameters()
        self.load_conditions(rules)
        self.load_interacting_drugs()
        self.load_drug_classes()
        self.load_dose_limits()
        self.load_medicine_names()
        self.load_observation_codes()
        self.load_published_outcomes(indications, measures)
        self.load_reason_presets(rules)
        self.load_watch_for(rules)

    def load_sources(self):
        default_review = self.data.get("reviewed_on")
        seen = set()
        for i, row in enumerate(self.rows("sources")):
            where = f"sources[{row.get('key', i)}]"
            self.require(where, row, "key", "label", "citation")
            values = {
                "label": row["label"],
                "citation": row["citation"],
                "identifier": row.get("identifier", ""),
                "url": row.get("url", ""),
                "used_for": row.get("used_for", ""),
                "review_date": row.get("review_date", default_review),
                "unconfirmed": bool(row.get("unconfirmed", False)),
            }
            self.sources[row["key"]] = self.save("sources", m.Source, {"key": row["key"]}, values, where)
            seen.add(row["key"])
        self.note_missing("sources", m.Source.objects.exclude(key__in=seen))

    def load_drugs(self):
        drugs = {}
        for i, row in enumerate(self.rows("drugs")):
            where = f"drugs[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "drug_class")
            values = {
                "name": row["name"],
                "brand_names": row.get("brand_names", ""),
                "drug_class": row["drug_class"],
                "anticholinergic_score": row.get("anticholinergic_score", 0),
                "qt_risk": row.get("qt_risk", ""),
                "summary": row.get("summary", ""),
                **self.codes(row, "rxnorm_code", "dmd_vtm_code"),
                **self.cited(row),
            }
            drugs[row["slug"]] = self.save(
                "drugs", m.Drug, {"slug": row["slug"]}, values, where, self.source_objects(where, row)
            )
        return drugs

    def load_strengths(self, drugs):
        for i, row in enumerate(self.rows("strengths")):
            where = f"strengths[{i}]"
            self.require(where, row, "drug", "form", "amount_mg")
            if row["drug"] not in drugs:
                raise CatalogError(f"{where}: unknown drug {row['drug']!r}")
            lookup = {
                "drug": drugs[row["drug"]],
                "form": row["form"],
                "amount_mg": _decimal(where, "amount_mg", row["amount_mg"]),
                "per_volume_ml": _decimal(where, "per_volume_ml", row.get("per_volume_ml")),
            }
            values = {
                "scored": bool(row.get("scored", False)),
                "markets": row.get("markets", ""),
                "is_active": bool(row.get("is_active", True)),
                **self.codes(row, "rxnorm_code", "dmd_code"),
                **self.cited(row),
            }
            self.save("strengths", m.Strength, lookup, values, where, self.source_objects(where, row))

    def load_outcome_measures(self):
        measures = {}
        for i, row in enumerate(self.rows("outcome_measures")):
            where = f"outcome_measures[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "short_name", "response_rule", "interpretation")
            values = {
                "name": row["name"],
                "short_name": row["short_name"],
                "scale_min": _decimal(where, "scale_min", row.get("scale_min")),
                "scale_max": _decimal(where, "scale_max", row.get("scale_max")),
                "unit": row.get("unit", ""),
                "higher_is_worse": bool(row.get("higher_is_worse", True)),
                "response_rule": row["response_rule"],
                "response_threshold": _decimal(where, "response_threshold", row.get("response_threshold")),
                "interpretation": row["interpretation"],
                **self.cited(row),
            }
            measures[row["slug"]] = self.save(
                "outcome_measures",
                m.OutcomeMeasure,
                {"slug": row["slug"]},
                values,
                where,
                self.source_objects(where, row),
            )
        return measures

    def load_indications(self, drugs, measures):
        indications = {}
        seen = set()
        text_fields = [
            "status",
            "licensing_note",
            "guideline_position",
            "evidence_summary",
            "evidence_level",
            "mechanism_note",
            "outcome_note",
        ]
        optional_text = ["time_to_effect", "continuation_note", "caution_card", "alternatives"]
        for i, row in enumerate(self.rows("indications")):
            where = f"indications[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "recommendation", "outcome_measure", "protocol", *text_fields)
            if row["outcome_measure"] not in measures:
                raise CatalogError(f"{where}: unknown outcome_measure {row['outcome_measure']!r}")
            values = {
                "name": row["name"],
                "display_order": row.get("display_order", 0),
                "recommendation": row["recommendation"],
                "outcome_measure": measures[row["outcome_measure"]],
                **{name: row[name] for name in text_fields},
                **{name: row.get(name, "") for name in optional_text},
                **self.codes(row, "snomed_code"),
                **self.cited(row),
            }
            indication = self.save(
                "indications", m.Indication, {"slug": row["slug"]}, values, where, self.source_objects(where, row)
            )
            self.load_protocol(indication, row["protocol"], drugs, f"{where}.protocol")
            indications[row["slug"]] = indication
            seen.add(row["slug"])
        self.note_missing("indications", m.Indication.objects.exclude(slug__in=seen))
        return indications

    def load_protocol(self, indication, row, drugs, where):
        mg_fields = ["start_mg", "older_start_mg", "frail_start_mg", "step_mg", "default_target_mg", "ceiling_mg"]
        day_fields = ["min_days_per_step", "first_review_days", "response_judgement_days"]
        self.require(where, row, "drug", *mg_fields, *day_fields)
        if row["drug"] not in drugs:
            raise CatalogError(f"{where}: unknown drug {row['drug']!r}")
        values = {
            "drug": drugs[row["drug"]],
            **{name: _decimal(where, name, row[name]) for name in mg_fields},
            **{name: row[name] for name in day_fields},
            "ceiling_note": row.get("ceiling_note", ""),
            **self.cited(row),
        }
        self.save("protocols", m.Protocol, {"indication": indication}, values, where, self.source_objects(where, row))

    def load_monitoring(self, indications):
        for i, row in enumerate(self.rows("monitoring")):
            where = f"monitoring[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "when", "criteria")
            values = {
                "name": row["name"],
                "when": row["when"],
                "criteria": row["criteria"],
                "applies_to_all": bool(row.get("applies_to_all", True)),
                "display_order": row.get("display_order", 0),
                "validity_days": row.get("validity_days"),
                **self.cited(row),
            }
            item = self.save(
                "monitoring", m.MonitoringItem, {"slug": row["slug"]}, values, where, self.source_objects(where, row)
            )
            slugs = row.get("indications", [])
            unknown = [s for s in slugs if s not in indications]
            if unknown:
                raise CatalogError(f"{where}: unknown indication {', '.join(unknown)}")
            wanted = [indications[s] for s in slugs]
            if set(item.indications.all()) != set(wanted):
                item.indications.set(wanted)

    def load_rules(self):
        rules = {}
        for i, row in enumerate(self.rows("rules")):
            where = f"rules[{row.get('code', i)}]"
            self.require(where, row, "code", "title", "indicator", "action", "summary", "detail", "effect")
            values = {name: row[name] for name in ["title", "indicator", "action", "summary", "detail", "effect"]}
            values["display_order"] = row.get("display_order", 0)
            values["concern"] = row.get("concern", "")
            values["stacked"] = bool(row.get("stacked", False))
            values["needs_specialist_advice"] = bool(row.get("needs_specialist_advice", False))
            if values["needs_specialist_advice"] and row["indicator"] != "warning":
                raise CatalogError(f"{where}: only a warning can need specialist advice as its reason")
            values.update(self.cited(row))
            rules[row["code"]] = self.save(
                "rules", m.Rule, {"code": row["code"]}, values, where, self.source_objects(where, row)
            )
        self.note_missing("rules", m.Rule.objects.exclude(code__in=rules))
        return rules

    def preset_rules(self, where, row, rules):
        """warning_rules for a preset reason: never on a warning that accepts only specialist advice."""
        found = self.warning_rules(where, row, rules)
        advice_only = [r.code for r in found if r.needs_specialist_advice]
        if advice_only:
            raise CatalogError(f"{where}: {', '.join(advice_only)} accepts only recorded specialist advice, no preset")
        return found

    def warning_rules(self, where, row, rules):
        """The rows' `rules`: known codes of warning rules (only a warning is acknowledged with a reason)."""
        codes = row.get("rules") or []
        if not codes:
            raise CatalogError(f"{where}: name at least one rule")
        unknown = [c for c in codes if c not in rules]
        if unknown:
            raise CatalogError(f"{where}: unknown rule {', '.join(unknown)}")
        not_warnings = [c for c in codes if rules[c].indicator != m.Rule.Indicator.WARNING]
        if not_warnings:
            raise CatalogError(f"{where}: only a warning is acknowledged; {', '.join(not_warnings)} is not one")
        return [rules[c] for c in codes]

    def set_rules(self, obj, wanted):
        if set(obj.rules.all()) != set(wanted):
            obj.rules.set(wanted)

    def load_reason_presets(self, rules):
        seen = set()
        for i, row in enumerate(self.rows("reason_presets")):
            where = f"reason_presets[{row.get('key', i)}]"
            self.require(where, row, "key", "text", "rules")
            wanted = self.preset_rules(where, row, rules)
            needs_details = row.get("needs_details", False)
            if not isinstance(needs_details, bool):
                raise CatalogError(f"{where}: needs_details must be true or false, not {needs_details!r}")
            values = {
                "text": row["text"], "needs_details": needs_details, "display_order": row.get("display_order", 0),
                **self.cited(row),
            }  # fmt: skip
            preset = self.save(
                "reason_presets", m.ReasonPreset, {"key": row["key"]}, values, where, self.source_objects(where, row)
            )
            self.set_rules(preset, wanted)
            seen.add(row["key"])
        self.note_missing("reason_presets", m.ReasonPreset.objects.exclude(key__in=seen))

    def load_watch_for(self, rules):
        seen = set()
        text_fields = ["title_en", "title_es", "signs_en", "signs_es", "action_en", "action_es"]
        for i, row in enumerate(self.rows("watch_for")):
            where = f"watch_for[{row.get('key', i)}]"
            self.require(where, row, "key", "rules", *text_fields)
            wanted = self.warning_rules(where, row, rules)
            values = {
                **{name: row[name].strip() for name in text_fields},
                "display_order": row.get("display_order", 0),
                **self.cited(row),
            }
            block = self.save(
                "watch_for", m.WatchFor, {"key": row["key"]}, values, where, self.source_objects(where, row)
            )
            self.set_rules(block, wanted)
            seen.add(row["key"])
        self.note_missing("watch_for", m.WatchFor.objects.exclude(key__in=seen))

    def load_published_outcomes(self, indications, measures):
        seen = set()
        for i, row in enumerate(self.rows("published_outcomes")):
            where = f"published_outcomes[{row.get('slug', i)}]"
            self.require(where, row, "slug", "indication", "definition", "timepoint", "treated_percent")
            if row["indication"] not in indications:
                raise CatalogError(f"{where}: unknown indication {row['indication']!r}")
            if row.get("measure") and row["measure"] not in measures:
                raise CatalogError(f"{where}: unknown measure {row['measure']!r}")
            values = {
                "indication": indications[row["indication"]],
                "definition": row["definition"],
                "measure": measures[row["measure"]] if row.get("measure") else None,
                "response_rule": row.get("response_rule", ""),
                "response_threshold": _decimal(where, "response_threshold", row.get("response_threshold")),
                "timepoint": row["timepoint"],
                "treated_percent": _decimal(where, "treated_percent", row["treated_percent"]),
                "comparator": row.get("comparator", ""),
                "comparator_percent": _decimal(where, "comparator_percent", row.get("comparator_percent")),
                "participants": row.get("participants", ""),
                **self.cited(row),
            }
            self.save(
                "published_outcomes",
                m.PublishedOutcome,
                {"slug": row["slug"]},
                values,
                where,
                self.source_objects(where, row),
            )
            seen.add(row["slug"])
        self.note_missing("published_outcomes", m.PublishedOutcome.objects.exclude(slug__in=seen))

    def load_parameters(self):
        seen = set()
        for i, row in enumerate(self.rows("parameters")):
            where = f"parameters[{row.get('key', i)}]"
            self.require(where, row, "key", "name", "value", "unit")
            values = {
                "name": row["name"],
                "value": _decimal(where, "value", row["value"]),
                "unit": row["unit"],
                **self.cited(row),
            }
            self.save(
                "parameters", m.RuleParameter, {"key": row["key"]}, values, where, self.source_objects(where, row)
            )
            seen.add(row["key"])
        self.note_missing("parameters", m.RuleParameter.objects.exclude(key__in=seen))

    def load_conditions(self, rules):
        seen = set()
        for i, row in enumerate(self.rows("conditions")):
            where = f"conditions[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "group", "rule")
            if row["rule"] not in rules:
                raise CatalogError(f"{where}: unknown rule {row['rule']!r}")
            values = {
                "name": row["name"],
                "group": row["group"],
                "help_text": row.get("help_text", ""),
                "rule": rules[row["rule"]],
                "display_order": row.get("display_order", 0),
                "qt_tally_points": row.get("qt_tally_points", 0),
                "qt_risk_condition": bool(row.get("qt_risk_condition", False)),
                "frail_shaping": bool(row.get("frail_shaping", False)),
                **self.codes(row, "snomed_code"),
                **self.cited(row),
            }
            self.save("conditions", m.Condition, {"slug": row["slug"]}, values, where, self.source_objects(where, row))
            seen.add(row["slug"])
        self.note_missing("conditions", m.Condition.objects.exclude(slug__in=seen))

    def load_interacting_drugs(self):
        rows = self.rows("interacting_drugs")
        slugs = {row.get("slug") for row in rows}
        combinations = {row.get("slug") for row in rows if row.get("ingredients")}
        seen = set()
        for i, row in enumerate(rows):
            where = f"interacting_drugs[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "drug_class", "action")
            unknown_fields = sorted(set(row) - DRUG_FIELDS)
            if unknown_fields:
                raise CatalogError(f"{where}: unknown field {', '.join(unknown_fields)}")
            ingredients = [s.strip() for s in row.get("ingredients", "").split(",") if s.strip()]
            if ingredients:
                bad = [s for s in ingredients if s not in slugs or s in combinations]
                if bad:
                    raise CatalogError(f"{where}: ingredient {', '.join(bad)} is not a single catalogued medicine")
                own = [f for f in (*DRUG_FACT_FLAGS, *DRUG_FACT_CHOICES) if row.get(f)]
                if own or row.get("anticholinergic_score") or row.get("persistence_days"):
                    raise CatalogError(f"{where}: a combination takes its facts from its ingredients; remove {own}")
            values = {
                "name": row["name"],
                "aliases": row.get("aliases", ""),
                "drug_class": row["drug_class"],
                "ingredients": ", ".join(ingredients),
                **self.fact_values(row),
                **self.codes(row, "rxnorm_code", "dmd_vtm_code"),
                **self.cited(row),
            }
            self.save(
                "interacting_drugs",
                m.InteractingDrug,
                {"slug": row["slug"]},
                values,
                where,
                self.source_objects(where, row),
            )
            seen.add(row["slug"])
        self.note_missing("interacting_drugs", m.InteractingDrug.objects.exclude(slug__in=seen))

    def fact_values(self, row):
        """The facts the rules read, from a medicine's or a class's row."""
        washout = row.get("washout_days")
        return {
            "action": row["action"],
            "note": row.get("note", ""),
            "washout_days": washout,
            "persistence_days": row.get("persistence_days", washout or 0),
            "anticholinergic_score": row.get("anticholinergic_score", 0),
            **{name: bool(row.get(name, False)) for name in DRUG_FACT_FLAGS},
            **{name: row.get(name, "") for name in DRUG_FACT_CHOICES},
        }

    def load_drug_classes(self):
        """Classes of medicines reviewed together (reference A.4); each member resolves to reviewed facts."""
        own = {}
        for drug in m.InteractingDrug.objects.all():
            for name in (drug.name, drug.slug, *drug.alias_list):
                own.setdefault(normalise_name(name), drug)
        seen, member_class = set(), {}
        for i, row in enumerate(self.rows("drug_classes")):
            where = f"drug_classes[{row.get('slug', i)}]"
            self.require(where, row, "slug", "name", "action", "members")
            unknown_fields = sorted(set(row) - CLASS_FIELDS)
            if unknown_fields:
                raise CatalogError(f"{where}: unknown field {', '.join(unknown_fields)}")
            members = m.parse_members(row["members"])
            if not members:
                raise CatalogError(f"{where}: a class needs at least one member")
            facts = self.fact_values(row)
            for member, aliases in members:
                key = normalise_name(member)
                if key in own:
                    continue  # its own row holds its facts
                if row.get("facts_differ"):
                    raise CatalogError(
                        f"{where}: {member} has no reviewed facts: members' facts differ in this class, so add "
                        "its own [[interacting_drugs]] row"
                    )
                earlier = member_class.get(key)
                if earlier is not None and earlier[1] != facts:
                    raise CatalogError(
                        f"{where}: {member} is also in {earlier[0]} with other facts; give it its own row"
                    )
                member_class.setdefault(key, (row["slug"], facts))
                for alias in aliases:
                    if normalise_name(alias) in own:
                        raise CatalogError(f"{where}: {member}'s other name {alias} is another catalogued medicine")
            values = {
                "name": row["name"],
                "members": row["members"],
                "facts_differ": bool(row.get("facts_differ", False)),
                "required": bool(row.get("required", False)),
                **self.fact_values(row),
                **self.cited(row),
            }
            self.save(
                "drug_classes", m.DrugClass, {"slug": row["slug"]}, values, where, self.source_objects(where, row)
            )
            seen.add(row["slug"])
        self.note_missing("drug_classes", m.DrugClass.objects.exclude(slug__in=seen))

    def load_dose_limits(self):
        drugs = {d.slug: d for d in m.InteractingDrug.objects.all()}
        rules = {r.code: r for r in m.Rule.objects.all()}
        seen = set()
        for i, row in enumerate(self.rows("dose_limits")):
            where = f"dose_limits[{row.get('drug', i)}]"
            self.require(where, row, "drug", "rule", "max_mg_a_day")
            drug, rule = drugs.get(row["drug"]), rules.get(row["rule"])
            if drug is None or rule is None:
                raise CatalogError(f"{where}: unknown {'drug' if drug is None else 'rule'}")
            values = {
                "max_mg_a_day": _decimal(where, "max_mg_a_day", row["max_mg_a_day"]),
                "inclusive": bool(row.get("inclusive", False)),
                "older_age": row.get("older_age"),
                "older_max_mg_a_day": _decimal(where, "older_max_mg_a_day", row.get("older_max_mg_a_day")),
                "liver_max_mg_a_day": _decimal(where, "liver_max_mg_a_day", row.get("liver_max_mg_a_day")),
                **self.cited(row),
            }
            obj = self.save(
                "dose_limits", m.DoseLimit, {"drug": drug, "rule": rule}, values, where, self.source_objects(where, row)
            )
            seen.add(obj.pk)
        self.note_missing("dose_limits", m.DoseLimit.objects.exclude(pk__in=seen))

    def load_medicine_names(self):
        reviewed = set()
        for drug in m.InteractingDrug.objects.all():
            reviewed.update(normalise_name(n) for n in (drug.name, *drug.alias_list))
        for cls in m.DrugClass.objects.all():
            for member, aliases in cls.member_list:
                reviewed.update(normalise_name(n) for n in (member, *aliases))
        seen = set()
        for i, row in enumerate(self.rows("medicine_names")):
            where = f"medicine_names[{row.get('slug', i)}]"
            self.require(where, row, "slug", "medicine", "names")
            clash = [n for n in m.name_list(row["names"]) if normalise_name(n) in reviewed]
            if clash:
                raise CatalogError(f"{where}: {', '.join(clash)} is reviewed in the catalog; name it there instead")
            values = {"medicine": row["medicine"], "names": row["names"], **self.cited(row)}
            self.save(
                "medicine_names", m.MedicineName, {"slug": row["slug"]}, values, where, self.source_objects(where, row)
            )
            seen.add(row["slug"])
        self.note_missing("medicine_names", m.MedicineName.objects.exclude(slug__in=seen))

    def load_observation_codes(self):
        seen = set()
        for i, row in enumerate(self.rows("observation_codes")):
            where = f"observation_codes[{row.get('key', i)}]"
            self.require(where, row, "key", "name", "unit")
            values = {
                "name": row["name"],
                "unit": row["unit"],
                "display_order": row.get("display_order", 0),
                **self.codes(row, "loinc_code"),
                **self.cited(row),
            }
            self.save(
                "observation_codes",
                m.ObservationCode,
                {"key": row["key"]},
                values,
                where,
                self.source_objects(where, row),
            )
            seen.add(row["key"])
        self.note_missing("observation_codes", m.ObservationCode.objects.exclude(key__in=seen))

    def note_missing(self, table, queryset):
        count = queryset.count()
        if count:
            self.report.not_in_file[table] = count


def _strings(value, where):
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, where)


def _flatten(exc: ValidationError):
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def load_catalog(path=DEFAULT_PATH, *, dry_run=False):
    """Load the catalog file; with dry_run, validate everything and roll back."""
    data = read_catalog(path)
    version = str(data.get("version", "")).strip()
    if not version:
        raise CatalogError(f"{path}: missing top-level version")
    report = LoadReport(version=version)
    with transaction.atomic():
        _Loader(data, report).load()
        m.CatalogVersion.objects.update_or_create(pk=1, defaults={"version": version})
        if dry_run:
            transaction.set_rollback(True)
    return report
