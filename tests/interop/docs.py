"""Read the JSON examples of docs/*.md that are marked `<!-- fixture: NAME -->`."""

import json
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
FIXTURE = re.compile(r"<!-- fixture: ([\w-]+) -->\s*```json\n(.*?)\n```", re.S)


def doc_fixtures(name: str) -> dict:
    text = (DOCS / name).read_text(encoding="utf-8")
    return {key: json.loads(body) for key, body in FIXTURE.findall(text)}
