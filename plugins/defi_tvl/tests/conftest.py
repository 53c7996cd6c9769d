"""A fresh loopback fake of the DefiLlama API per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_llama import FakeLlama


@pytest.fixture
def llama() -> Iterator[FakeLlama]:
    fake = FakeLlama().start()
    try:
        yield fake
    finally:
        fake.stop()
