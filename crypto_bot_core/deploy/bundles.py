"""Checking every staged plugin bundle before a single file is installed.

A *bundle* is what one plugin image's init container copied into the staging
volume, ``<staging>/<plugin name>/``::

    manifest.json        a copy of the plugin's manifest (for people and tooling)
    SHA256SUMS           digests of the wheels, written when the image was built
    SHA256SUMS.sig       optional Ed25519 signature of SHA256SUMS
    wheels/*.whl         the plugin's wheel and any dependency wheels it brings

The *lock* (``plugins.json``, rendered by the Helm chart from the values) lists
the plugins the deployment expects, optional digest pins per wheel, and the
signing policy. :func:`check_bundles` runs every check of every bundle and
returns the plugins that passed and, for each one refused, every problem found,
each message naming the plugin. Installing is :mod:`.install_plugins`' job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crypto_bot_core._version import __version__ as CORE_VERSION
from crypto_bot_core.deploy.integrity import (
    SIGNATURE_FILENAME,
    SUMS_FILENAME,
    IntegrityError,
    SigningPolicy,
    normalise_digest,
    parse_sums,
    sha256_of,
)
from crypto_bot_core.deploy.resolution import cross_checks
from crypto_bot_core.deploy.staged import StagedPlugin
from crypto_bot_core.deploy.wheels import PluginEntry, WheelError, WheelInfo, read_wheel
from crypto_bot_core.host.contract_checks import manifest_problems
from crypto_bot_core.host.reserved import reserved_name_problem
from crypto_bot_sdk import (
    API_VERSION,
    MANIFEST_FILENAME,
    CryptoBotError,
    Manifest,
    ManifestError,
    compatibility_problems,
)

WHEELS_DIRNAME = "wheels"


class PluginInstallError(CryptoBotError):
    """The install step cannot run at all (bad lock, signing settings or target); nothing installed.

    ``problems`` holds one message per failure.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"cannot install plugins; nothing was installed:\n{listed}")


class _LockModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PluginPin(_LockModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    sha256: dict[str, str] = Field(default_factory=dict)


class SignatureSettings(_LockModel):
    required: bool = False
    public_keys: tuple[str, ...] = ()


class PluginLock(_LockModel):
    """What the deployment expects in the staging volume (the chart's ``plugins.json``)."""

    plugins: tuple[PluginPin, ...] = ()
    signatures: SignatureSettings = Field(default_factory=SignatureSettings)


def load_lock(path: Path) -> PluginLock:
    """Parse and validate the lock file; :class:`PluginInstallError` naming the file otherwise."""
    try:
        return PluginLock.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise PluginInstallError([f"cannot read the plugin lock {path}: {exc}"]) from exc
    except (json.JSONDecodeError, ValidationError) as exc:
        raise PluginInstallError([f"the plugin lock {path} is invalid: {exc}"]) from exc


@dataclass(frozen=True, slots=True)
class PluginBundle:
    """The raw contents of ``<staging>/<name>/`` before any check."""

    name: str
    directory: Path

    @property
    def wheel_paths(self) -> list[Path]:
        return sorted((self.directory / WHEELS_DIRNAME).glob("*.whl"))


class _BundleCheck:
    """Checks one bundle, collecting problems instead of stopping at the first."""

    def __init__(self, bundle: PluginBundle, pin: PluginPin, signing: SigningPolicy) -> None:
        self.bundle = bundle
        self.pin = pin
        self.signing = signing
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(f"plugin {self.bundle.name}: {message}")

    def run(self) -> StagedPlugin | None:
        directory = self.bundle.directory
        if not directory.is_dir():
            self.fail(
                f"its init container copied nothing to {directory}; the plugin image must "
                "carry /plugin (see host/README.md) and its init container must have run"
            )
            return None
        paths = self.bundle.wheel_paths
        if not paths:
            self.fail(f"no wheel in {directory / WHEELS_DIRNAME}")
            return None
        digests = self._digests(paths)
        wheels = [info for info in (self._read(path) for path in paths) if info is not None]
        manifest = self._plugin_manifest(wheels)
        if self.problems or manifest is None:
            return None
        return StagedPlugin(
            name=self.bundle.name,
            manifest=manifest,
            wheels=tuple(wheels),
            digests=digests,
            signature_checked=(directory / SIGNATURE_FILENAME).is_file()
            and bool(self.signing.public_keys_pem),
        )

    def _digests(self, paths: list[Path]) -> dict[str, str]:
        directory = self.bundle.directory
        actual = {path.name: sha256_of(path) for path in paths}
        sums_path = directory / SUMS_FILENAME
        if not sums_path.is_file():
            self.fail(
                f"no {SUMS_FILENAME} in {directory}; the image must record its wheels' digests"
            )
            return actual
        sums_bytes = sums_path.read_bytes()
        try:
            recorded = parse_sums(sums_bytes.decode("utf-8"), source=str(sums_path))
        except (IntegrityError, UnicodeDecodeError) as exc:
            self.fail(str(exc))
            return actual
        for name, digest in actual.items():
            if name not in recorded:
                self.fail(
                    f"{name} is not listed in {SUMS_FILENAME}; it was not built into the image"
                )
            elif recorded[name] != digest:
                self.fail(
                    f"{name} has sha256 {digest}, but {SUMS_FILENAME} records {recorded[name]}; "
                    "the copy is corrupt or the image was altered: pull the image again"
                )
        for name in sorted(recorded.keys() - actual.keys()):
            if name.endswith(".whl"):
                self.fail(f"{SUMS_FILENAME} lists {name}, which is missing from {WHEELS_DIRNAME}/")
        self._pins(actual)
        signature = directory / SIGNATURE_FILENAME
        sig = signature.read_bytes() if signature.is_file() else None
        try:
            for problem in self.signing.problems(sums_bytes, sig, source=str(directory)):
                self.fail(problem)
        except IntegrityError as exc:
            self.fail(str(exc))
        return actual

    def _pins(self, actual: Mapping[str, str]) -> None:
        if not self.pin.sha256:
            return
        for name, value in sorted(self.pin.sha256.items()):
            try:
                pinned = normalise_digest(
                    value, where=f"plugins[{self.bundle.name}].sha256[{name}]"
                )
            except IntegrityError as exc:
                self.fail(str(exc))
                continue
            if name not in actual:
                self.fail(f"the values pin {name}, which the image does not carry")
            elif actual[name] != pinned:
                self.fail(
                    f"{name} has sha256 {actual[name]}, but the values pin {pinned}; "
                    "deploy the image the pin was made for, or update the pin"
                )
        for name in sorted(actual.keys() - self.pin.sha256.keys()):
            self.fail(f"{name} has no sha256 pin in the values, which pin this plugin's wheels")

    def _read(self, path: Path) -> WheelInfo | None:
        try:
            info = read_wheel(path)
        except WheelError as exc:
            self.fail(str(exc))
            return None
        if not info.runs_here():
            tags = ", ".join(sorted(str(tag) for tag in info.tags))
            self.fail(f"{path.name} ({tags}) does not run on this interpreter/platform")
        from installer.sources import WheelFile

        try:
            with WheelFile.open(path) as source:
                source.validate_record()
        except ValueError as exc:  # installer's validation errors are ValueErrors
            self.fail(f"{path.name} fails its own RECORD check: {exc}")
        return info

    def _plugin_manifest(self, wheels: list[WheelInfo]) -> Manifest | None:
        name = self.bundle.name
        entries: list[tuple[WheelInfo, PluginEntry]] = [
            (wheel, entry) for wheel in wheels for entry in wheel.plugins
        ]
        others = sorted({entry.name for _, entry in entries if entry.name != name})
        if others:
            self.fail(
                f"its image also carries plugin(s) {', '.join(others)}; give each plugin its "
                "own entry under plugins: in the values"
            )
        mine = [(wheel, entry) for wheel, entry in entries if entry.name == name]
        if not mine:
            found = ", ".join(w.filename for w in wheels) or "none"
            self.fail(
                f"no wheel registers entry point {name!r} in group crypto_bot.plugins "
                f"(wheels: {found}); the values' name must be the plugin's manifest name"
            )
            return None
        if len(mine) > 1:
            self.fail(f"{len(mine)} wheels register plugin {name!r}; ship exactly one")
            return None
        reserved = reserved_name_problem(name, mine[0][0].display_name)
        if reserved is not None:
            self.fail(
                f"{reserved}: the host image has the built-in {name!r}; give the plugin a name "
                "of its own (entry point and manifest) and list it under that name in plugins:"
            )
            return None
        wheel, entry = mine[0]
        if entry.manifest is None:
            self.fail(f"{wheel.filename}: {entry.manifest_error}")
            return None
        manifest = entry.manifest
        if manifest.name != name:
            self.fail(f"{wheel.filename}: {entry.manifest_path} names plugin {manifest.name!r}")
        if manifest.version != wheel.version:
            self.fail(
                f"{wheel.filename}: manifest version {manifest.version} differs from the "
                f"wheel's version {wheel.version}"
            )
        for problem in compatibility_problems(
            manifest, core_version=CORE_VERSION, api_version=API_VERSION
        ):
            self.fail(f"{wheel.filename} is incompatible with this host: {problem}")
        # What the host would refuse at load time is refused here, before installing:
        # unknown capabilities (the version was compared with the wheel's just above).
        for problem in manifest_problems(manifest, None):
            self.fail(f"{wheel.filename}: {problem}")
        self._image_manifest(manifest)
        return manifest

    def _image_manifest(self, manifest: Manifest) -> None:
        path = self.bundle.directory / MANIFEST_FILENAME
        if not path.is_file():
            return
        try:
            copy = Manifest.from_path(path)
        except ManifestError as exc:
            self.fail(exc.reason)
            return
        if copy != manifest:
            self.fail(
                f"{path} differs from the manifest inside the plugin's wheel; rebuild the "
                "image so that both come from the same release"
            )


def _bundles(
    staging: Path, lock: PluginLock | None
) -> tuple[list[tuple[PluginBundle, PluginPin]], list[tuple[str, str]]]:
    present = sorted(p.name for p in staging.iterdir() if p.is_dir()) if staging.is_dir() else []
    if lock is None:  # no lock: whatever was staged is what is wanted
        pins = {name: PluginPin(name=name) for name in present}
        return [(PluginBundle(name, staging / name), pin) for name, pin in pins.items()], []
    pins = {pin.name: pin for pin in lock.plugins}
    problems = [
        (pin.name, f"plugin {pin.name}: listed twice in the plugin lock")
        for i, pin in enumerate(lock.plugins)
        if pin.name in {p.name for p in lock.plugins[:i]}
    ]
    for stray in sorted(set(present) - pins.keys()):
        problems.append(
            (
                stray,
                f"plugin {stray}: staged in {staging / stray} but not listed in the plugin "
                "lock; its init container is not part of this release",
            )
        )
    chosen = [(PluginBundle(name, staging / name), pin) for name, pin in sorted(pins.items())]
    return chosen, problems


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The plugins that passed every check, their wheels, and why the others were refused."""

    accepted: tuple[StagedPlugin, ...]
    wheels: tuple[WheelInfo, ...]
    refused: Mapping[str, tuple[str, ...]]


def check_bundles(
    staging: Path, lock: PluginLock | None, host: Mapping[NormalizedName, str]
) -> CheckResult:
    """Check every staged plugin; nothing is installed here.

    A plugin is refused for its own problems, and then for cross-plugin ones
    (conflicting or missing dependencies), recomputed over the plugins still
    accepted until nothing changes: a plugin that only worked with a refused
    plugin's dependency wheel is refused too. ``host``: the host image's
    distributions (see :func:`~crypto_bot_core.deploy.resolution.host_distributions`).
    Without a ``lock`` every staged bundle is wanted and no signature is
    required. Raises :class:`PluginInstallError` only when no plugin can be
    judged (bad signing settings).
    """
    settings = lock.signatures if lock is not None else SignatureSettings()
    try:
        signing = SigningPolicy(settings.public_keys, required=settings.required)
    except IntegrityError as exc:
        raise PluginInstallError([f"plugin signing settings: {exc}"]) from exc
    bundles, lock_problems = _bundles(staging, lock)
    refused: dict[str, list[str]] = {}
    for name, message in lock_problems:
        refused.setdefault(name, []).append(message)
    staged: list[StagedPlugin] = []
    for bundle, pin in bundles:
        check = _BundleCheck(bundle, pin, signing)
        result = check.run()
        if result is None or bundle.name in refused:
            refused.setdefault(bundle.name, []).extend(check.problems)
        else:
            staged.append(result)
    while True:
        wheels, cross = cross_checks(staged, host)
        if not cross:
            break
        for name, messages in cross.items():
            refused.setdefault(name, []).extend(messages)
        staged = [plugin for plugin in staged if plugin.name not in cross]
    return CheckResult(
        accepted=tuple(staged),
        wheels=tuple(wheels),
        refused={name: tuple(messages) for name, messages in sorted(refused.items())},
    )
