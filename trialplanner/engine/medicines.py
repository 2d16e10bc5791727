"""Reading medicine lines as clinicians write them, and matching them to the catalog.

A line is split into the medicine's name and the rest as written ("tramadol 50mg qds" ->
"tramadol" + "50mg qds"), and the rest is read as a dose (engine.doses). The name is matched
by generic name, brand name or spelling variant only; a near miss is offered as a suggestion
and counts as not checked until the clinician confirms it, because distinct medicines sit a
few letters apart (quinine and quinidine, hydralazine and hydroxyzine). A combination product
reads as every ingredient.

Each line ends in one of three states (reference A.4): reviewed (the catalog holds the facts
of every ingredient, by its own row or its class), recognised but not reviewed (a real
medicine the open dictionary knows, whose facts nobody here checked), or not recognised. A
name the catalog does not know is looked up in the dictionary by exact name only, and its
generic name is then looked up in the catalog again (so "Brintellix" reads as vortioxetine).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

from trialplanner.engine.doses import DoseReading, read_dose
from trialplanner.engine.types import DrugFacts, Medication, RuleBook, normalise_name

# A word that starts the dose or directions: the medicine's name ends before it.
DOSE_WORDS = frozenset(
    """
    mg mcg microgram micrograms ug g gram grams ml unit units iu mmol
    od om on bd bid tds tid qds qid qd prn nocte mane nightly daily weekly monthly once twice
    stat every each at as when if per x times
    tab tabs tablet tablets cap caps capsule capsules sachet sachets puff puffs drop drops
    dose doses one two three four half
    """.split()
)

# Formulation, route and salt words that do not change which medicine it is.
QUALIFIERS = frozenset(
    """
    mr m r xl sr cr er xr la ec cd prolonged modified release retard
    tablet tablets tab tabs capsule capsules cap caps oral solution suspension liquid syrup
    injection inj iv im sc subcut infusion patch patches transdermal cream gel ointment spray
    nasal inhaler dispersible soluble effervescent orodispersible sugar free
    evohaler accuhaler turbohaler easyhaler diskus respimat handihaler ellipta nexthaler spiromax
    pen flexpen kwikpen solostar penfill cartridge vial ampoule nebules mixture drops eye ear
    gastro resistant chewable caplets pessary pessaries suppository suppositories enema
    hydrochloride hcl maleate sulfate sulphate tartrate succinate besilate besylate mesilate mesylate
    citrate fumarate bromide hydrobromide sodium potassium calcium carbonate phosphate acetate
    """.split()
)

# Separators between the ingredients of a combination written out ("paracetamol/codeine").
COMBINATION_SPLIT = re.compile(r"\s*(?:\+|/|&|,|\band\b|\bwith\b)\s*", re.IGNORECASE)

SUGGESTION_CUTOFF = 0.8
SUGGESTION_MIN_LENGTH = 4
# Longer than any medicine's name: no spelling suggestion (and no quadratic matching of a pasted letter).
SUGGESTION_MAX_LENGTH = 60
MAX_SUGGESTIONS = 3


class MatchStatus(StrEnum):
    MATCHED = "matched"  # generic, brand name or spelling variant in the catalog
    CONFIRMED = "confirmed"  # a suggested catalog name the clinician confirmed
    RECOGNISED = "recognised"  # a real medicine (open dictionary) whose facts nobody here reviewed
    SUGGESTED = "suggested"  # not checked: close to a catalog name, awaiting confirmation
    UNRECOGNISED = "unrecognised"  # not checked: the catalog does not know the name


class ReviewState(StrEnum):
    """What a clinician is told about a line (reference A.4)."""

    REVIEWED = "reviewed"
    RECOGNISED = "recognised, not reviewed"
    NOT_RECOGNISED = "not recognised"


@dataclass(frozen=True)
class MedicineLine:
    entered: str
    name: str
    dose_text: str


@dataclass(frozen=True)
class ActiveIngredient:
    """One catalogued medicine the rules read, with when its effects end."""

    drug: DrugFacts
    label: str  # how cards name it: the catalog name, with the product for a combination
    stopped_on: date | None
    clear_from: date | None  # first day none of its flags apply; None while it is taken

    @property
    def current(self) -> bool:
        return self.stopped_on is None


@dataclass(frozen=True)
class MedicineReading:
    """What became of one entered line: its match (or suggestion) and its catalogued facts."""

    entered: str
    name: str
    dose_text: str
    status: MatchStatus
    drug: DrugFacts | None = None
    ingredients: tuple[DrugFacts, ...] = ()
    unmatched_parts: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    stopped_on: date | None = None
    started_on: date | None = None
    this_course: bool = False
    unreviewed: tuple[str, ...] = ()  # generic names of the real medicines in it nobody here reviewed
    dose: DoseReading | None = None

    @property
    def checked(self) -> bool:
        """Reviewed: every ingredient's facts are in the catalog."""
        return (
            self.status in (MatchStatus.MATCHED, MatchStatus.CONFIRMED)
            and not self.unmatched_parts
            and not self.unreviewed
        )

    @property
    def state(self) -> ReviewState:
        if self.checked:
            return ReviewState.REVIEWED
        if self.status in (MatchStatus.SUGGESTED, MatchStatus.UNRECOGNISED) or self.unmatched_parts:
            return ReviewState.NOT_RECOGNISED
        return ReviewState.RECOGNISED

    def not_reviewed_label(self) -> str:
        """The line as the not-reviewed card names it: 'Brand X (read as generic)'."""
        generics = ", ".join(self.unreviewed)
        if normalise_name(generics) == normalise_name(self.name):
            return self.name
        return f"{self.name} ({generics})"

    def dose_read(self) -> str:
        """The dose as read, in words; for a combination, per ingredient."""
        if self.dose is None:
            return ""
        if self.dose.strengths_mg and len(self.ingredients) == len(self.dose.strengths_mg) and not self.dose.as_needed:
            daily = [self.dose.daily_mg_of(i) for i in range(len(self.ingredients))]
            named = zip(daily, self.ingredients, strict=True)
            parts = [f"{d.normalize():,f} mg {drug.name.lower()}" for d, drug in named if d]
            if len(parts) == len(daily):
                return "read as " + " + ".join(parts) + " a day"
        return self.dose.text()

    def daily_mg_of(self, drug: DrugFacts, at_least: bool = False) -> Decimal | None:
        """The daily mg of one of its ingredients, as read; `at_least`: the dose itself if how often is not written."""
        if self.dose is None:
            return None
        index = self.ingredients.index(drug) if drug in self.ingredients else -1
        if index < 0 or (index > 0 and not self.dose.strengths_mg and not self.dose.corrected):
            return None
        if self.dose.strengths_mg and len(self.dose.strengths_mg) != len(self.ingredients):
            return None
        return self.dose.at_least_mg_of(index) if at_least else self.dose.daily_mg_of(index)

    def not_checked_label(self) -> str:
        """The line as the not-checked card names it, with any suggested match."""
        label = self.entered
        if self.suggestions:
            label += f" (did you mean {' or '.join(self.suggestions)}?)"
        elif self.unmatched_parts and self.ingredients:
            label += f" ({', '.join(self.unmatched_parts)} not recognised)"
        return label


MEMBER = re.compile(r"\s*([^(),]+?)\s*(?:\(([^()]*)\))?\s*(?:,|$)")


def parse_members(text: str) -> list[tuple[str, list[str]]]:
    """A catalog class's members: 'nitrazepam (Mogadon; Remnos), oxazepam' ->
    [('nitrazepam', ['Mogadon', 'Remnos']), ('oxazepam', [])]."""
    members = []
    for found in MEMBER.finditer(text):
        if found.group(1):
            aliases = [a.strip() for a in (found.group(2) or "").split(";") if a.strip()]
            members.append((found.group(1), aliases))
    return members


def split_line(text: str) -> MedicineLine:
    """Split 'Prozac 20 mg OD' into the name 'Prozac' and the rest '20 mg OD' as written."""
    entered = " ".join(text.split())
    tokens = entered.split(" ")
    cut = len(tokens)
    for i, token in enumerate(tokens):
        if i == 0:
            continue
        bare = token.casefold().strip("().,;:-")
        if bare[:1].isdigit() or bare in DOSE_WORDS:
            cut = i
            break
    name = " ".join(tokens[:cut]).strip(" ,;:-")
    return MedicineLine(entered=entered, name=name or entered, dose_text=" ".join(tokens[cut:]))


def _strip_qualifiers(normalised: str) -> str:
    words = normalised.split()
    while len(words) > 1 and words[-1] in QUALIFIERS:
        words.pop()
    return " ".join(words)


def _lookup(rules: RuleBook, name: str) -> DrugFacts | None:
    drug = rules.find_drug(name)
    if drug is None:
        drug = rules.known_names.get(_strip_qualifiers(normalise_name(name)))
    return drug


@dataclass(frozen=True)
class _Found:
    """One name, looked up: catalogued ingredients, or the generic names of a real medicine not reviewed."""

    drugs: tuple[DrugFacts, ...] = ()
    unreviewed: tuple[str, ...] = ()
    row: DrugFacts | None = None  # the one catalog row the whole name reads as

    def __bool__(self) -> bool:
        return bool(self.drugs or self.unreviewed)


def _candidates(name: str) -> list[str]:
    """The name, without its formulation words, then shorter by a trailing word ("Ventolin Evohaler")."""
    words = normalise_name(name).split()
    stripped = _strip_qualifiers(" ".join(words)).split()
    found: list[str] = []
    for option in (words, stripped):
        for end in range(len(option), 0, -1):
            text = " ".join(option[:end])
            if text not in found and (end == len(option) or len(option[0]) >= SUGGESTION_MIN_LENGTH):
                found.append(text)
    return found


def _find(rules: RuleBook, name: str) -> _Found:
    """The catalog by name; else the open dictionary by exact name, then the catalog by its generic name."""
    drug = _lookup(rules, name)
    if drug is not None:
        return _Found(drugs=_ingredients(rules, drug), row=drug)
    for candidate in _candidates(name):
        generic = rules.generic_name(candidate)
        if generic is None:
            continue
        return _by_generic(rules, generic)
    return _Found()


def _by_generic(rules: RuleBook, generic: str) -> _Found:
    """A dictionary generic name ("budesonide/formoterol") as catalogued ingredients and unreviewed ones."""
    whole = _lookup(rules, generic) or rules.by_generic.get(normalise_name(generic))
    if whole is not None:
        return _Found(drugs=_ingredients(rules, whole), row=whole)
    drugs: list[DrugFacts] = []
    unreviewed: list[str] = []
    for part in (p.strip() for p in COMBINATION_SPLIT.split(generic)):
        if not part:
            continue
        drug = _lookup(rules, part) or rules.by_generic.get(normalise_name(part))
        if drug is not None:
            drugs.extend(_ingredients(rules, drug))
        elif part not in unreviewed:
            unreviewed.append(part)
    return _Found(drugs=tuple(drugs), unreviewed=tuple(unreviewed))


def suggestions_for(rules: RuleBook, name: str) -> tuple[str, ...]:
    """Catalog names a few letters from `name`: offered, never matched silently."""
    wanted = _strip_qualifiers(normalise_name(name))
    if not SUGGESTION_MIN_LENGTH <= len(wanted) <= SUGGESTION_MAX_LENGTH:
        return ()
    scored = []
    for known, drug in rules.known_names.items():
        ratio = SequenceMatcher(None, wanted, known).ratio()
        if ratio >= SUGGESTION_CUTOFF:
            scored.append((-ratio, drug.name))
    found = []
    for _, drug_name in sorted(scored):
        if drug_name not in found:
            found.append(drug_name)
    return tuple(found[:MAX_SUGGESTIONS])


def _ingredients(rules: RuleBook, drug: DrugFacts) -> tuple[DrugFacts, ...]:
    if not drug.ingredients:
        return (drug,)
    return tuple(rules.drug_by_slug(slug) for slug in drug.ingredients)


def read_medicine(rules: RuleBook, medication: Medication) -> MedicineReading:
    """Match one entered line: by name or spelling variant, else by its written-out ingredients."""
    line = split_line(medication.name)
    common: dict[str, Any] = {
        "entered": line.entered,
        "name": line.name,
        "dose_text": line.dose_text,
        "stopped_on": medication.stopped_on,
        "started_on": medication.started_on,
        "this_course": medication.this_course,
        "dose": read_dose(line.name, line.dose_text, medication.daily_mg),
    }
    drug = _lookup(rules, line.name)
    if drug is not None:
        return MedicineReading(status=MatchStatus.MATCHED, drug=drug, ingredients=_ingredients(rules, drug), **common)
    if medication.confirmed_as:
        confirmed = _lookup(rules, medication.confirmed_as)
        if confirmed is not None:
            return MedicineReading(
                status=MatchStatus.CONFIRMED, drug=confirmed, ingredients=_ingredients(rules, confirmed), **common
            )
    found = _find(rules, line.name)
    if found:
        status = MatchStatus.RECOGNISED if found.unreviewed else MatchStatus.MATCHED
        return MedicineReading(
            status=status, drug=found.row, ingredients=found.drugs, unreviewed=found.unreviewed, **common
        )
    parts = [p for p in COMBINATION_SPLIT.split(line.name) if p.strip()]
    if len(parts) > 1:
        drugs: list[DrugFacts] = []
        unreviewed: list[str] = []
        missing: list[str] = []
        for part in parts:
            part_found = _find(rules, part)
            if not part_found:
                missing.append(part.strip())
            drugs.extend(part_found.drugs)
            unreviewed.extend(part_found.unreviewed)
        if drugs or unreviewed:
            status = MatchStatus.RECOGNISED if unreviewed and not missing else MatchStatus.MATCHED
            return MedicineReading(
                status=status,
                ingredients=tuple(drugs),
                unmatched_parts=tuple(missing),
                unreviewed=tuple(unreviewed),
                **common,
            )
    suggestions = suggestions_for(rules, line.name)
    status = MatchStatus.SUGGESTED if suggestions else MatchStatus.UNRECOGNISED
    return MedicineReading(status=status, suggestions=suggestions, **common)


def window_days(drug: DrugFacts) -> int:
    """Days from the last dose to the first day its flags no longer apply (at least the next day)."""
    return max(drug.persistence_days, drug.washout_days or 0, 1)


def active_ingredients(readings: Iterable[MedicineReading], on: date) -> list[ActiveIngredient]:
    """Each catalogued ingredient still acting on `on`: taken, or stopped within its persistence window.

    A medicine listed twice counts once: as taken if any line has no stop date, else from its latest stop.
    """
    latest: dict[str, ActiveIngredient] = {}
    order: list[str] = []
    for reading in readings:
        for drug in reading.ingredients:
            if drug.is_amitriptyline and reading.this_course:
                continue
            label = drug.name
            if reading.drug is not None and reading.drug.is_combination:
                label = f"{drug.name} (in {reading.drug.name})"
            stopped = reading.stopped_on
            clear_from = None if stopped is None else stopped + timedelta(days=window_days(drug))
            candidate = ActiveIngredient(drug=drug, label=label, stopped_on=stopped, clear_from=clear_from)
            known = latest.get(drug.slug)
            if known is None:
                order.append(drug.slug)
                latest[drug.slug] = candidate
            elif known.current:
                continue
            elif candidate.current or _clear_from(candidate) > _clear_from(known):
                latest[drug.slug] = candidate
    return [latest[slug] for slug in order if latest[slug].current or _clear_from(latest[slug]) > on]


def _clear_from(ingredient: ActiveIngredient) -> date:
    """The clear-from date of a stopped ingredient (set whenever `stopped_on` is)."""
    assert ingredient.clear_from is not None
    return ingredient.clear_from


# What each fact the rules read means, as a clinician reads it on the medicines table (the
# bookkeeping facts - is_amitriptyline, washout and persistence days - are left out).
FACT_WORDS = {
    "is_tricyclic": "tricyclic",
    "is_maoi": "MAO inhibitor",
    "contraindicated": "contraindicated",
    "lowers_seizure_threshold": "lowers the seizure threshold",
    "cyp_inducer": "CYP inducer",
    "cns_depressant": "CNS depressant",
    "cns_active": "CNS-active",
    "lowers_electrolytes": "lowers potassium or magnesium",
    "sympathomimetic": "sympathomimetic",
    "lowers_blood_pressure": "lowers blood pressure",
    "thyroid_hormone": "thyroid hormone",
    "serotonergic": "serotonergic",
    "cyp2d6_inhibition": "CYP2D6 inhibitor",
    "raises_levels": "raises amitriptyline levels",
    "qt_risk": "QT risk",
}


def rule_facts(drug: DrugFacts) -> tuple[str, ...]:
    """The facts of `drug` that the rules read, in words: ('CNS depressant', 'anticholinergic (1)')."""
    words = [text for name, text in FACT_WORDS.items() if getattr(drug, name, None)]
    if drug.anticholinergic_score:
        words.append(f"anticholinergic ({drug.anticholinergic_score})")
    return tuple(words)


def interaction_label(drug: DrugFacts, labels: dict[str, str]) -> str:
    """A medicine's interaction class by its catalog label, followed by the facts the rules read (so
    "none listed" never stands beside a medicine that raises warnings). "None listed" names the source
    checked and when, and is never "safe" (reference A.4)."""
    facts = rule_facts(drug)
    label = labels.get(drug.action, drug.action)
    if not facts:
        if drug.none_listed:
            return none_listed_text(drug)
        return label
    warnings = f"see the warnings: {', '.join(facts)}"
    return warnings if drug.action in ("", "none") else f"{label}; {warnings}"


def none_listed_text(drug: DrugFacts) -> str:
    """'none listed in UK SmPC, reviewed 7 Dec 2026'."""
    checked = [s for s in drug.sources if s.label]
    if not checked:
        return "none listed"
    source = checked[0]
    when = f", reviewed {source.reviewed_on.day} {source.reviewed_on:%b %Y}" if source.reviewed_on else ""
    return f"none listed in {source.label}{when}"
