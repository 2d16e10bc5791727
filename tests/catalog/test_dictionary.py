"""The open medicine dictionary: loaded from the pinned package, checked, idempotent, plain data only."""

import bz2
import pickle

import pytest
from django.core.management import CommandError, call_command

from trialplanner.catalog import dictionary
from trialplanner.catalog.models import DictionaryName, DictionaryRelease

pytestmark = pytest.mark.django_db


@pytest.fixture
def small(monkeypatch):
    """Made-up dictionaries of a few hundred names pass the size check (the real one has 95,000)."""
    monkeypatch.setattr(dictionary, "MIN_NAMES", 500)
    monkeypatch.setattr(dictionary, "MIN_MEDICINES", 100)


def write(path, data):
    with bz2.open(path, "wb") as fh:
        pickle.dump(data, fh)
    return path


def fake(names=600, medicines=120, **changes):
    variants = {f"medicine {n}": [f"generic {n % medicines}"] for n in range(names)}
    canon = {f"generic {n}": {"name": f"Generic {n}", "drugbank_id": f"DB{n:05d}"} for n in range(medicines)}
    data = {"drug_variant_to_canonical": variants, "drug_canonical_to_data": canon, "drug_variant_to_variant_data": {}}
    data.update(changes)
    return data


def test_it_loads_the_pinned_dictionary_with_uk_and_us_names_and_brands(capsys):
    call_command("load_medicine_dictionary")
    out = capsys.readouterr().out
    release = DictionaryRelease.objects.get()
    assert release.source.startswith("drug-named-entity-recognition ") and release.names > 90_000
    assert release.medicines > 19_000 and f"{release.names:,} names" in out
    names = dict(DictionaryName.objects.filter(name__in=[
        "salbutamol", "ventolin", "eliquis", "frusemide", "furosemide", "paracetamol", "tapentadol", "fostair",
    ]).values_list("name", "medicine"))  # fmt: skip
    assert names == {
        "salbutamol": "albuterol", "ventolin": "albuterol", "eliquis": "apixaban", "frusemide": "furosemide",
        "furosemide": "furosemide", "paracetamol": "acetaminophen", "tapentadol": "tapentadol",
        "fostair": "beclometasone/formoterol",
    }  # fmt: skip
    assert DictionaryName.objects.filter(is_brand=True).exists()  # the dictionary flags some brands only
    call_command("load_medicine_dictionary")
    assert "already loaded" in capsys.readouterr().out and DictionaryRelease.objects.count() == 1


def test_it_refuses_a_file_holding_objects_not_plain_data(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran code from the dictionary file",))

    path = write(tmp_path / "evil.pkl.bz2", {"drug_variant_to_canonical": Payload()})
    with pytest.raises(CommandError, match="holds an object .*print.*nothing was changed"):
        call_command("load_medicine_dictionary", file=path)
    assert not DictionaryRelease.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ([1, 2], "not a mapping"),
        ({"drug_variant_to_canonical": {}}, "lacks its name and medicine tables"),
        (fake(names=400, medicines=100), "too small"),
    ],
)
def test_it_refuses_a_damaged_or_truncated_file_and_changes_nothing(small, tmp_path, data, message):
    write(tmp_path / "good.pkl.bz2", fake())
    call_command("load_medicine_dictionary", file=tmp_path / "good.pkl.bz2")
    before = DictionaryName.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("load_medicine_dictionary", file=write(tmp_path / "bad.pkl.bz2", data))
    assert DictionaryName.objects.count() == before == 600


def test_it_skips_ambiguous_long_and_malformed_names(small, tmp_path):
    data = fake()
    data["drug_variant_to_canonical"].update({
        "Co-Thing": ["generic 1"], "co thing": ["generic 2"], "CO-THING!": ["generic 1"],  # one name, two medicines
        "x" * 300: ["generic 3"], "bad\u0000": ["generic 4\u0000"], "orphan": ["no such medicine"], 7: ["generic 5"],
    })  # fmt: skip
    loaded = dictionary.load(write(tmp_path / "d.pkl.bz2", data))
    assert loaded.skipped == 7
    assert not DictionaryName.objects.filter(name__in=["co thing", "orphan"]).exists()
    assert DictionaryName.objects.get(name="medicine 7").drugbank_id == "DB00007"
