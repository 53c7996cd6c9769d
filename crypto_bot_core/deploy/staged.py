"""What a plugin bundle becomes once every check passed.

Its own module because both the bundle checks (``bundles.py``) and the cross-plugin
checks (``resolution.py``) speak of it, and neither should import the other for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crypto_bot_core.deploy.wheels import WheelInfo
from crypto_bot_sdk import Manifest


@dataclass(frozen=True, slots=True)
class StagedPlugin:
    """A bundle that passed every check: the wheels to install and what was verified."""

    name: str
    manifest: Manifest
    wheels: tuple[WheelInfo, ...]
    digests: Mapping[str, str]
    signature_checked: bool
