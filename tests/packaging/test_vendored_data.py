"""Test data copied into the repository carries its licence; data that may not be copied is not.

A fresh clone with nothing beside it must run the README's test command, so
test data whose licence allows it lives in the tree: the RFC 6962 Merkle vectors
(Apache-2.0, which asks for the licence text and the attribution to travel with
the copy). The ISO 20022 schemas may not be redistributed: the tests that need
them read them from ``../shared`` and skip, saying why, where it is absent.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "core" / "ledger" / "vectors" / "rfc6962-merkle"


def test_the_merkle_vectors_travel_with_their_licence_and_attribution() -> None:
    assert len(list(VECTORS.rglob("*.json"))) == 196
    notice = (VECTORS / "NOTICE").read_text(encoding="utf-8")
    assert "transparency-dev/merkle" in notice
    assert "417fb0c314750d94e53942e9f92e79b6d35915db" in notice  # the commit copied
    assert "Apache License" in notice
    licence = (VECTORS / "LICENSE").read_text(encoding="utf-8").split()
    assert licence[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "4. Redistribution." in (VECTORS / "LICENSE").read_text(encoding="utf-8")


def test_no_iso_20022_schema_is_in_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.xsd", "*.XSD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked == []
