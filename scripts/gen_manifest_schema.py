"""Write the published JSON Schema of ``manifest.json`` from the SDK's ``Manifest`` model.

The schema file ships inside the SDK wheel so editors and CI can validate a
plugin's manifest without importing the SDK. It is generated, never edited:
run this script after changing ``Manifest``; ``--check`` (for CI and the test
suite) exits 1 when the file is stale.

    python scripts/gen_manifest_schema.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crypto_bot_sdk import manifest_json_schema

SCHEMA_PATH = (
    Path(__file__).resolve().parents[1] / "crypto_bot_sdk/src/crypto_bot_sdk/manifest.schema.json"
)


def render() -> str:
    """The schema as committed: sorted keys and two-space indents, so diffs stay readable."""
    return json.dumps(manifest_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    expected = render()
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != expected:
            print(
                f"{SCHEMA_PATH} is out of date; run: python scripts/gen_manifest_schema.py",
                file=sys.stderr,
            )
            return 1
        return 0
    SCHEMA_PATH.write_text(expected, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
