"""MkDocs hook of the documentation site: links that leave ``docs/`` point into the repository.

The pages are read in two places: on the repository's web view, where a
relative link such as ``../helm/README.md`` opens that file, and as the static
site ``mkdocs build`` makes of ``docs/`` alone, where the same link would point
nowhere. This hook checks every such link against the working tree (a missing
file is a warning, so ``mkdocs build --strict`` fails) and rewrites it to the
file's page on the repository's web view when ``repo_url`` is set, or to the
plain repository path in code font when it is not, so the site never carries a
dead link. Links inside ``docs/`` are left to MkDocs' own validation.

This file sits in ``docs/`` but is not a page: ``mkdocs.yml`` excludes it.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.repo_links")

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


def _rewrite_line(line: str, page_dir: str, config: MkDocsConfig, page: str) -> str:
    root = Path(config.config_file_path).resolve().parent
    docs_dir = Path(config.docs_dir).resolve()

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return match[0]
        path_part, _, anchor = target.partition("#")
        resolved = (docs_dir / page_dir / path_part).resolve()
        if resolved.is_relative_to(docs_dir):
            return match[0]  # inside docs/: MkDocs validates it
        if not resolved.is_relative_to(root) or not resolved.exists():
            log.warning("%s links to %s, which is not a file of the repository", page, target)
            return match[0]
        relative = resolved.relative_to(root).as_posix()
        repo_url = config.repo_url
        if repo_url:
            kind = "tree" if resolved.is_dir() else "blob"
            suffix = f"#{anchor}" if anchor else ""
            return f"[{match['text']}]({repo_url.rstrip('/')}/{kind}/main/{relative}{suffix})"
        return f"{match['text']} (`{relative}` in the repository)"

    return _LINK.sub(replace, line)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Rewrite the links of one page that leave ``docs/``; leave code blocks alone."""
    page_dir = posixpath.dirname(page.file.src_uri)
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            out.append(line)
        elif not fenced and "](" in line:
            out.append(_rewrite_line(line, page_dir, config, page.file.src_uri))
        else:
            out.append(line)
    return "\n".join(out)
