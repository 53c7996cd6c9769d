"""The plugin guide builds as a static site with ``mkdocs build --strict``: every page in the
navigation, every link resolving, nothing fetched from elsewhere; and the Helm values it
shows are values the chart accepts."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .tutorial_steps import ROOT, tutorial_steps

GUIDE = ROOT / "docs" / "plugin-guide"
CONFIG = ROOT / "mkdocs.yml"
CHART = ROOT / "helm" / "crypto-bot"


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True, text=True, check=False, timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = build(CONFIG, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def copy_of_the_guide(tmp_path: Path) -> Path:
    """mkdocs.yml and the guide under ``tmp_path``, laid out as in the repository."""
    config = yaml.safe_load(CONFIG.read_text())
    shutil.copytree(GUIDE, tmp_path / "docs" / "plugin-guide")
    shutil.copy(ROOT / "docs" / "mkdocs_hooks.py", tmp_path / "docs" / "mkdocs_hooks.py")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_every_page_is_built(site: Path) -> None:
    pages = sorted(p.stem for p in GUIDE.glob("*.md"))
    built = {p.stem for p in site.glob("*.html")}
    assert {("index" if page == "README" else page) for page in pages} <= built
    assert len(pages) >= 10


def test_nav_lists_every_page() -> None:
    nav = yaml.safe_load(CONFIG.read_text())["nav"]
    listed = sorted(next(iter(entry.values())) for entry in nav)
    assert listed == sorted(p.name for p in GUIDE.glob("*.md"))


def test_contract_signatures_reach_the_site(site: Path) -> None:
    contracts = (site / "contracts.html").read_text()
    assert "async submit_order(request: OrderRequest) -&gt; Order" in contracts
    assert "cryptobot_components() -&gt; Sequence[type[Component[Any]]]" in contracts


def test_the_site_loads_nothing_from_elsewhere(site: Path) -> None:
    remote = re.compile(r"<(?:script|link|img)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    offenders = {p.name: remote.findall(p.read_text()) for p in site.glob("*.html")}
    assert not {name: found for name, found in offenders.items() if found}


def test_links_out_of_the_guide_become_repository_paths(site: Path) -> None:
    publishing = (site / "publishing.html").read_text()
    assert "<code>host/plugin-image/Dockerfile</code> in the repository" in publishing
    assert "../../host" not in publishing


@pytest.mark.slow
def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    root = copy_of_the_guide(tmp_path)
    page = root / "docs" / "plugin-guide" / "concepts.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    result = build(root / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "missing.md" in result.stderr


@pytest.mark.slow
def test_a_link_to_a_missing_repository_file_fails_the_strict_build(tmp_path: Path) -> None:
    root = copy_of_the_guide(tmp_path)
    page = root / "docs" / "plugin-guide" / "concepts.md"
    page.write_text(page.read_text() + "\nSee [the chart](../../helm/nothing.md).\n")
    result = build(root / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "../../helm/nothing.md, which is not a file of the repository" in result.stderr


def merged(base: Any, override: Any) -> Any:
    """Helm's merge of a values file over the chart's defaults: maps merge, the rest replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = copy.deepcopy(base)
        for key, value in override.items():
            out[key] = merged(base.get(key), value)
        return out
    return copy.deepcopy(override)


def helm_snippets() -> list[str]:
    snippets = [s.text for s in tutorial_steps() if s.kind == "helm-values"]
    text = (GUIDE / "helm.md").read_text()
    snippets += [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "plugins:" in b]
    return snippets


def test_the_guides_helm_values_are_accepted_by_the_chart_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    snippets = helm_snippets()
    assert len(snippets) == 2
    for snippet in snippets:
        values = yaml.safe_load(snippet)
        assert values["plugins"][0]["name"] == "my-agent"
        jsonschema.validate(merged(defaults, values), schema)


def test_the_schema_check_refuses_a_broken_entry() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    broken = yaml.safe_load(helm_snippets()[0])
    del broken["plugins"][0]["image"]
    with pytest.raises(jsonschema.ValidationError, match="image"):
        jsonschema.validate(merged(defaults, broken), schema)
