"""The SDK's pytest plugin, loaded through the ``pytest11`` entry point.

It registers the markers the conformance kit puts on its checks, so a plugin
author's suite runs them under ``--strict-markers`` without any configuration,
and prints the SDK's plugin API version in the report header, which is the
first thing to know when a conformance check fails on a CI machine.

With plugin autoload switched off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), load
it explicitly: ``pytest -p crypto_bot_sdk.testing.pytest_plugin``.
"""

from __future__ import annotations

import pytest

from crypto_bot_sdk._version import API_VERSION, __version__

MARKERS = (
    "conformance: a check from the crypto_bot_sdk.testing conformance kit",
    "requires_capability(*names): run this conformance check only when the plugin's "
    "manifest declares every named capability; skip it otherwise",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def pytest_report_header(config: pytest.Config) -> str:
    return f"crypto-bot-sdk {__version__} (plugin API {API_VERSION})"
