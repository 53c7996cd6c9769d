"""The documentation builds as one static site from ``docs/`` with ``mkdocs build --strict``:
operators, plugin authors and internals in one navigation, every page of ``docs/`` in it,
every link resolving, links that leave ``docs/`` turned into repository paths, nothing
fetched from elsewhere; and the Helm values the plugin guide shows are values the chart
accepts."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .tutorial_steps import ROOT, tutorial_steps

DOCS = ROOT / "docs"
GUIDE = DOCS / "plugin-guide"
CONFIG = ROOT / "mkdocs.yml"
CHART = ROOT / "helm" / "crypto-bot"
HOOK = DOCS / "mkdocs_hooks.py"
PARTS = ["Operators", "Plugin authors", "Internals"]
_LINK = re.compile(r"(?<!!)\[[^\]]+\]\((?P<target>[^)\s]+)\)")


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


def pages() -> list[str]:
    """Every Markdown page under ``docs/``, as a path relative to it."""
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def nav_entries(nav: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """(section titles, page) for every page of a MkDocs ``nav``, depth first."""
    for entry in nav:
        ((title, value),) = entry.items()
        if isinstance(value, list):
            for sections, page in nav_entries(value):
                yield (title, *sections), page
        else:
            yield (), value


def nav() -> list[tuple[tuple[str, ...], str]]:
    return list(nav_entries(yaml.safe_load(CONFIG.read_text())["nav"]))


def html_of(page: str) -> str:
    """The site path MkDocs writes a page to (``use_directory_urls: false``)."""
    folder, _, name = page.rpartition("/")
    stem = "index" if name in {"README.md", "index.md"} else name.removesuffix(".md")
    return f"{folder}/{stem}.html" if folder else f"{stem}.html"


def copy_of_the_docs(tmp_path: Path) -> Path:
    """mkdocs.yml, ``docs/`` and the repository files its pages link to, under ``tmp_path``,
    laid out as in the repository: the copy builds as the repository does."""
    shutil.copytree(DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONFIG, tmp_path / "mkdocs.yml")
    for page in DOCS.rglob("*.md"):
        for match in _LINK.finditer(page.read_text()):
            target = match["target"].partition("#")[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
                continue
            resolved = (page.parent / target).resolve()
            if resolved.is_relative_to(DOCS) or not resolved.is_relative_to(ROOT):
                continue
            copied = tmp_path / resolved.relative_to(ROOT)
            if resolved.is_dir():
                copied.mkdir(parents=True, exist_ok=True)
            elif resolved.is_file():
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(resolved, copied)
    return tmp_path


def test_every_page_is_built(site: Path) -> None:
    assert len(pages()) >= 25
    missing = [page for page in pages() if not (site / html_of(page)).is_file()]
    assert not missing


def test_the_nav_has_three_parts() -> None:
    assert [next(iter(entry)) for entry in yaml.safe_load(CONFIG.read_text())["nav"]] == PARTS
    parts = {part: [page for sections, page in nav() if sections[0] == part] for part in PARTS}
    assert parts["Operators"][0] == "index.md"
    for page in ("engine.md", "risk.md", "ledger.md", "service.md", "compliance.md",
                 "deploy/helm.md"):
        assert page in parts["Operators"], page
    builtins = {f"builtins/{p.name}" for p in (DOCS / "builtins").glob("*.md")}
    assert {p for p in parts["Operators"] if p.startswith("builtins/")} == builtins - {
        "builtins/ledger-payloads.md"
    }
    # The guide in its own order: its home page, then the pages its table lists.
    table = re.findall(r"^\| \[[^\]]+\]\((\w+\.md)\) \|", (GUIDE / "README.md").read_text(), re.M)
    assert parts["Plugin authors"] == [f"plugin-guide/{p}" for p in ["README.md", *table]]
    assert sorted(parts["Plugin authors"]) == sorted(
        f"plugin-guide/{p.name}" for p in GUIDE.glob("*.md")
    )
    assert parts["Internals"] == ["architecture.md", "builtins/ledger-payloads.md"]


def test_the_nav_lists_existing_pages_once() -> None:
    listed = [page for _, page in nav()]
    assert len(listed) == len(set(listed))
    assert not [page for page in listed if not (DOCS / page).is_file()]


def test_no_page_is_left_out_of_the_nav() -> None:
    listed = {page for _, page in nav()}
    assert [page for page in pages() if page not in listed] == []


def test_the_hook_is_not_part_of_the_site(site: Path) -> None:
    assert HOOK.is_file()
    assert yaml.safe_load(CONFIG.read_text())["hooks"] == ["docs/mkdocs_hooks.py"]
    assert not list(site.rglob("mkdocs_hooks*"))


def test_the_landing_page_gives_the_readmes_quick_start(site: Path) -> None:
    def commands(text: str) -> list[str]:
        blocks = re.findall(r"^```(?:sh|bash|console)?\n(.*?)^```", text, flags=re.M | re.S)
        lines = (line.strip() for block in blocks for line in block.splitlines())
        return [line for line in lines if line.startswith("./scripts/setup && ")]

    readme = commands((ROOT / "README.md").read_text())
    assert len(readme) == 2
    assert commands((DOCS / "index.md").read_text()) == readme
    index = (site / "index.html").read_text()
    for command in readme:
        assert command.replace("&", "&amp;") in index


def test_contract_signatures_reach_the_site(site: Path) -> None:
    contracts = (site / "plugin-guide" / "contracts.html").read_text()
    assert "async submit_order(request: OrderRequest) -&gt; Order" in contracts
    assert "cryptobot_components() -&gt; Sequence[type[Component[Any]]]" in contracts


def test_the_site_loads_nothing_from_elsewhere(site: Path) -> None:
    remote = re.compile(r"<(?:script|link|img)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    offenders = {
        p.relative_to(site).as_posix(): remote.findall(p.read_text()) for p in site.rglob("*.html")
    }
    assert not {name: found for name, found in offenders.items() if found}
    assert len(offenders) >= len(pages())


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))


def test_every_link_of_the_site_resolves(site: Path) -> None:
    """Relative links between built pages land on a file and, with a fragment, on an id."""
    parsed: dict[Path, _Anchors] = {}
    for html in site.rglob("*.html"):
        parsed[html] = _Anchors()
        parsed[html].feed(html.read_text())
    broken = []
    for html, anchors in parsed.items():
        if html.name == "404.html":  # served from anywhere, so its links are absolute
            continue
        for href in anchors.hrefs:
            if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("/"):
                continue
            path, _, fragment = href.partition("#")
            target = (html.parent / path).resolve() if path else html
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or (
                fragment and target in parsed and fragment not in parsed[target].ids
            ):
                broken.append(f"{html.relative_to(site)}: {href}")
    assert not broken
    assert sum(len(a.hrefs) for a in parsed.values()) > 100


def test_links_out_of_docs_become_repository_paths(site: Path) -> None:
    publishing = (site / "plugin-guide" / "publishing.html").read_text()
    assert "<code>host/plugin-image/Dockerfile</code> in the repository" in publishing
    assert "../../host" not in publishing
    index = (site / "index.html").read_text()
    assert "<code>plugins/README.md</code> in the repository" in index
    assert "../plugins/README.md" not in index


def test_links_between_parts_stay_links_of_the_site(site: Path) -> None:
    publishing = (site / "plugin-guide" / "publishing.html").read_text()
    assert 'href="../deploy/helm.html#plugins-through-values"' in publishing
    assert "<code>docs/deploy/helm.md</code> in the repository" not in publishing


@pytest.mark.slow
def test_the_copy_of_the_docs_builds(tmp_path: Path) -> None:
    """The control for the two tests below: unchanged, the copy passes the strict build."""
    root = copy_of_the_docs(tmp_path)
    result = build(root / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "link", "complaint"),
    [
        ("plugin-guide/concepts.md", "missing.md", "missing.md"),
        ("engine.md", "builtins/nothing.md", "builtins/nothing.md"),
        ("index.md", "risk.md#no-such-section", "no-such-section"),
        ("plugin-guide/concepts.md", "../../helm/nothing.md",
         "../../helm/nothing.md, which is not a file of the repository"),
        ("deploy/helm.md", "../../helm/nothing.md",
         "../../helm/nothing.md, which is not a file of the repository"),
    ],
)
def test_a_broken_link_fails_the_strict_build(
    tmp_path: Path, page: str, link: str, complaint: str
) -> None:
    root = copy_of_the_docs(tmp_path)
    path = root / "docs" / page
    path.write_text(path.read_text() + f"\nSee [the missing part]({link}).\n")
    result = build(root / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert complaint in result.stderr


@pytest.mark.slow
def test_a_page_left_out_of_the_nav_fails_the_strict_build(tmp_path: Path) -> None:
    root = copy_of_the_docs(tmp_path)
    (root / "docs" / "orphan.md").write_text("# Orphan\n")
    result = build(root / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "orphan.md" in result.stderr


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
