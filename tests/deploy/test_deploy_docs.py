"""The deployment docs stay true: their links resolve and the values they name exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .staging import ROOT

DOCS = [
    ROOT / "docs" / "deploy" / "helm.md",
    ROOT / "host" / "README.md",
    ROOT / "helm" / "README.md",
    ROOT / "docs" / "plugin-guide" / "publishing.md",
]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    text = doc.read_text()
    for target, anchor in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        path = (doc.parent / target).resolve()
        assert path.exists(), f"{doc.name}: broken link {target}"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path.read_text()), f"{doc.name}: no #{anchor} in {target}"


def test_values_named_in_the_helm_guide_are_in_the_schema() -> None:
    schema = json.loads((ROOT / "helm" / "crypto-bot" / "values.schema.json").read_text())
    text = (ROOT / "docs" / "deploy" / "helm.md").read_text()
    sections = "|".join(
        ("pluginSignatures", "pluginInstall", "secrets", "networkPolicy", "canary", "cluster")
    )
    keys = re.findall(rf"`((?:{sections})\.[a-zA-Z]+)`", text)
    assert len(keys) >= 10
    for key in keys:
        section, field = key.split(".")
        if field == "yaml":  # a file name such as `canary.yaml`
            continue
        assert field in schema["properties"][section]["properties"], key
