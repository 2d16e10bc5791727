"""The open medicine dictionary: read from its pinned package, checked, and written to DictionaryName.

The data is `drug-named-entity-recognition`'s dictionary file (MIT code; names from DrugBank open data
(CC0), MeSH and MedlinePlus (NLM, public domain), NHS website content and Wikipedia (CC BY-SA 3.0/4.0);
docs/catalog.md). Only its data file is read, never its code (which would load it with `pickle` at
import and can fuzzy-match): the file is unpickled with every class refused, so it can hold nothing
but dicts, lists, strings and numbers, then checked field by field before a row is written.
"""

import bz2
import hashlib
import pickle
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from django.db import transaction

from trialplanner.catalog.models import DictionaryName, DictionaryRelease
from trialplanner.engine.types import normalise_name
from trialplanner.inputs import text_problem

PACKAGE = "drug-named-entity-recognition"
DATA_FILE = "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2"
# A file far smaller than the pinned release is damaged or not the dictionary.
MIN_NAMES, MIN_MEDICINES = 50_000, 10_000
MAX_NAME = 200
DRUGBANK_ID = re.compile(r"DB\d{5}")
MESH_ID = re.compile(r"[CD]\d{6,9}")
BATCH = 5000


class DictionaryError(ValueError):
    """The dictionary file is not what it should be; nothing was written."""


@dataclass(frozen=True)
class Loaded:
    source: str
    sha256: str
    names: int
    medicines: int
    skipped: int
    unchanged: bool = False


class _PlainData(pickle.Unpickler):
    def find_class(self, module, name):
        raise DictionaryError(f"the dictionary file holds an object ({module}.{name}), not plain data")


def package_file() -> tuple[Path, str]:
    """The pinned package's data file and "name version", without importing the package."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise DictionaryError(f"{PACKAGE} is not installed (it is pinned in requirements-runtime.txt)") from None
    return Path(str(dist.locate_file(DATA_FILE))), f"{PACKAGE} {dist.version}"


def read(path: Path) -> dict:
    try:
        with bz2.open(path, "rb") as fh:
            data = _PlainData(fh).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        if isinstance(exc, DictionaryError):
            raise
        raise DictionaryError(f"the dictionary file cannot be read: {exc.__class__.__name__}") from None
    return data


def rows(data) -> tuple[list[DictionaryName], int, int]:
    """The rows to write, the number of medicines, and how many names were skipped (bad or ambiguous)."""
    if not isinstance(data, dict):
        raise DictionaryError("the dictionary is not a mapping")
    variants, medicines = data.get("drug_variant_to_canonical"), data.get("drug_canonical_to_data")
    details = data.get("drug_variant_to_variant_data") or {}
    if not isinstance(variants, dict) or not isinstance(medicines, dict) or not isinstance(details, dict):
        raise DictionaryError("the dictionary lacks its name and medicine tables")
    if len(variants) < MIN_NAMES or len(medicines) < MIN_MEDICINES:
        raise DictionaryError(f"the dictionary is too small ({len(variants)} names, {len(medicines)} medicines)")
    found: dict[str, DictionaryName] = {}
    ambiguous: set[str] = set()  # one written name, two medicines: recognise neither
    skipped = 0
    for variant, canonicals in variants.items():
        ok = isinstance(variant, str) and isinstance(canonicals, list) and len(canonicals) == 1
        canonical = canonicals[0] if ok else None
        medicine = medicines.get(canonical) if isinstance(canonical, str) else None
        name = normalise_name(variant) if ok else ""
        if not (isinstance(medicine, dict) and name and len(name) <= MAX_NAME and len(canonical) <= MAX_NAME):
            skipped += 1
            continue
        if text_problem(canonical):
            skipped += 1
            continue
        if name in ambiguous or (name in found and found[name].medicine != canonical):
            skipped += 1 + (name in found)  # this name, and the meaning kept before it
            ambiguous.add(name)
            found.pop(name, None)
            continue
        drugbank = medicine.get("drugbank_id") if isinstance(medicine.get("drugbank_id"), str) else ""
        mesh = medicine.get("mesh_id") if isinstance(medicine.get("mesh_id"), str) else ""
        extra = details.get(variant) if isinstance(details.get(variant), dict) else {}
        found.setdefault(
            name,
            DictionaryName(
                name=name,
                medicine=canonical,
                is_brand=extra.get("is_brand") is True,
                drugbank_id=drugbank if DRUGBANK_ID.fullmatch(drugbank) else "",
                mesh_id=mesh if MESH_ID.fullmatch(mesh) else "",
            ),
        )
    return list(found.values()), len({r.medicine for r in found.values()}), skipped


def load(path: Path | None = None, source: str | None = None, force=False) -> Loaded:
    """Replace the dictionary's rows with the file's (the pinned package's by default), in one transaction."""
    if path is None:
        path, source = package_file()
    source = source or path.name
    if not path.is_file():
        raise DictionaryError(f"no dictionary file at {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    latest = DictionaryRelease.objects.first()
    if not force and latest and latest.sha256 == digest and DictionaryName.objects.count() == latest.names:
        return Loaded(source, digest, latest.names, latest.medicines, 0, unchanged=True)
    new, medicines, skipped = rows(read(path))
    with transaction.atomic():
        DictionaryName.objects.all().delete()
        DictionaryName.objects.bulk_create(new, batch_size=BATCH)
        DictionaryRelease.objects.create(source=source, sha256=digest, names=len(new), medicines=medicines)
    return Loaded(source, digest, len(new), medicines, skipped)
