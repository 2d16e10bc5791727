"""The offline dependency check run in CI: every requirement pinned exactly, and installed at that pin.

Hash pinning (pip install --require-hashes) is not used: see docs/security.md, "Dependencies".
Known-vulnerability checks need the network: `make pip-audit`.
"""

import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)$")


def requirements(name="requirements.txt"):
    """The requirement lines of `name` and of the files it includes with -r (requirements-runtime.txt)."""
    found = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += requirements(line[3:].strip())
        elif line:
            found.append(line)
    return found


def test_it_includes_the_runtime_pins_the_image_installs():
    runtime = requirements("requirements-runtime.txt")
    assert any(r.startswith("Django==") for r in runtime) and not any(r.startswith("pytest") for r in runtime)
    assert set(runtime) < set(requirements())


def test_it_pins_every_requirement_exactly():
    loose = [line for line in requirements() if not PIN.match(line)]
    assert loose == [], f"pin these with ==: {loose}"


@pytest.mark.parametrize("line", requirements())
def test_it_checks_the_installed_version_is_the_pinned_one(line):
    name, version = PIN.match(line).groups()
    assert metadata.version(name) == version, f"{name}: installed {metadata.version(name)}, pinned {version}"
