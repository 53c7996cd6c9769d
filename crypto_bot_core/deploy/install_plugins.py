"""The init step: install the staged plugin wheels into the directory the host reads plugins from.

Run by the host image as the pod's last init container::

    python -m crypto_bot_core.deploy.install_plugins \\
        --staging /staging --target /opt/cryptobot/plugins --lock /etc/cryptobot/plugins.json

It checks every bundle first (:func:`~crypto_bot_core.deploy.bundles.check_bundles`),
so no file of any plugin lands on the host's path before every plugin was
judged; then it installs the plugins that passed with the ``installer`` library
(no pip, no resolver, no network: the set of wheels is exactly what the images
carried), compiles their bytecode (the running container's filesystem is
read-only), and checks that the host's own discovery finds each plugin's
manifest where it will look. Each refused plugin is reported by name with every
reason. Exit status: 0 when every plugin was installed, 1 when any was refused
(the pod then does not start: a release never runs short of a plugin it asked
for) unless ``--allow-refused`` (the host then runs with the rest, as it does
with a refused plugin it discovers itself), 2 for bad arguments or when the
step cannot run at all (bad lock, signing settings or target).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName

from crypto_bot_core.deploy.bundles import (
    PluginInstallError,
    PluginLock,
    check_bundles,
    load_lock,
)
from crypto_bot_core.deploy.resolution import host_distributions
from crypto_bot_core.deploy.staged import StagedPlugin
from crypto_bot_core.deploy.wheels import WheelInfo

REPORT_FILENAME = ".cryptobot-plugins.json"
"""Written into the target after each run; also marks the directory as the step's own."""


@dataclass(frozen=True, slots=True)
class InstallReport:
    """What one run installed, into where, and which plugins it refused and why."""

    plugins: tuple[StagedPlugin, ...]
    installed: tuple[WheelInfo, ...]
    refused: Mapping[str, tuple[str, ...]]
    target: Path

    def lines(self) -> list[str]:
        out: list[str] = []
        for plugin in self.plugins:
            signed = "signature verified" if plugin.signature_checked else "no signature check"
            files = ", ".join(
                f"{wheel.filename} sha256 {plugin.digests[wheel.filename][:12]}"
                for wheel in plugin.wheels
            )
            kinds = ", ".join(kind.value for kind in plugin.manifest.kinds)
            out.append(
                f"installed plugin {plugin.name} {plugin.manifest.version} ({kinds}; {signed}): "
                f"{files}"
            )
        out.append(
            f"{len(self.plugins)} plugin(s) installed ({len(self.installed)} wheel(s)) into "
            f"{self.target}; {len(self.refused)} refused"
        )
        return out

    def refusal_lines(self) -> list[str]:
        out: list[str] = []
        for name, problems in self.refused.items():
            out.append(f"REFUSED plugin {name}:")
            out.extend(f"  - {problem}" for problem in problems)
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "plugins": [
                {
                    "name": plugin.name,
                    "version": plugin.manifest.version,
                    "signature_checked": plugin.signature_checked,
                    "wheels": {w.filename: plugin.digests[w.filename] for w in plugin.wheels},
                }
                for plugin in self.plugins
            ],
            "installed": sorted(wheel.filename for wheel in self.installed),
            "refused": {name: list(problems) for name, problems in self.refused.items()},
        }


def _empty(target: Path) -> None:
    for entry in target.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _prepare_target(target: Path) -> None:
    """Empty ``target`` if ours (a retried init container); refuse if it holds anything else."""
    target.mkdir(parents=True, exist_ok=True)
    if not any(target.iterdir()):
        return
    if not (target / REPORT_FILENAME).is_file():
        raise PluginInstallError(
            [
                f"target {target} is not empty and was not written by this install step; "
                "give it an empty directory (the chart uses an emptyDir volume)"
            ]
        )
    _empty(target)


def _install_wheel(wheel: WheelInfo, target: Path) -> None:
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    destination = SchemeDictionaryDestination(
        scheme_dict={
            "purelib": str(target),
            "platlib": str(target),
            "headers": str(target / "include" / wheel.distribution),
            "scripts": str(target / "bin"),
            "data": str(target),
        },
        interpreter=sys.executable,
        script_kind="posix",
        bytecode_optimization_levels=(0,),
    )
    with WheelFile.open(wheel.path) as source:
        install(source, destination, {"INSTALLER": b"crypto-bot-install-plugins\n"})


def _verify_discoverable(plugins: Sequence[StagedPlugin], target: Path) -> None:
    """Every plugin is found in ``target`` by the host's own discovery, manifest included."""
    from crypto_bot_core.host.discovery import discover, locate_manifest
    from crypto_bot_sdk import ManifestError

    candidates = {c.name: c for c in discover([str(target)])}
    problems: list[str] = []
    for plugin in plugins:
        candidate = candidates.get(plugin.name)
        if candidate is None:
            problems.append(f"plugin {plugin.name}: installed, but its entry point is not found")
            continue
        try:
            path = locate_manifest(candidate, [str(target)])
        except ManifestError as exc:
            problems.append(f"plugin {plugin.name}: {exc.reason}")
            continue
        if not path.resolve().is_relative_to(target.resolve()):
            problems.append(f"plugin {plugin.name}: its manifest resolves outside {target}: {path}")
    if problems:
        raise PluginInstallError(problems)


def install_plugins(
    staging: Path,
    target: Path,
    lock: PluginLock | None = None,
    *,
    host: Mapping[NormalizedName, str] | None = None,
) -> InstallReport:
    """Check every bundle in ``staging``, then install the plugins that passed into ``target``.

    ``host``: the host image's distributions, ``{canonical name: version}``
    (default: what is installed on ``sys.path`` without ``target``); a plugin may
    not bring another version of one of them, and its requirements must be met
    by them or by staged wheels. Refusals are in the report; an error while
    installing empties the target again, so the host never starts on half a
    plugin, and raises :class:`PluginInstallError`.
    """
    if host is None:
        resolved = target.resolve()
        host = host_distributions(p for p in sys.path if p and Path(p).resolve() != resolved)
    result = check_bundles(staging, lock, host)
    _prepare_target(target)
    try:
        for wheel in result.wheels:
            try:
                _install_wheel(wheel, target)
            except (OSError, ValueError) as exc:  # installer's errors are ValueErrors
                owners = [p.name for p in result.accepted if wheel in p.wheels]
                raise PluginInstallError(
                    [f"plugin {', '.join(owners)}: installing {wheel.filename} failed: {exc}"]
                ) from exc
        _verify_discoverable(result.accepted, target)
    except BaseException:
        _empty(target)
        raise
    report = InstallReport(result.accepted, result.wheels, result.refused, target)
    (target / REPORT_FILENAME).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="install_plugins",
        description="Check the plugin wheels staged by plugin init containers and install them.",
    )
    parser.add_argument("--staging", type=Path, required=True, help="one directory per plugin")
    parser.add_argument("--target", type=Path, required=True, help="where the host reads plugins")
    parser.add_argument(
        "--lock",
        type=Path,
        help="plugins.json from the chart: expected plugins, sha256 pins, signing keys",
    )
    parser.add_argument(
        "--allow-refused",
        action="store_true",
        help="exit 0 even if some plugins were refused (the host runs with the rest)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        lock = load_lock(args.lock) if args.lock is not None else None
        report = install_plugins(args.staging, args.target, lock)
    except PluginInstallError as exc:
        print(f"install_plugins: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(f"install_plugins: {line}")
    for line in report.refusal_lines():
        print(f"install_plugins: {line}", file=sys.stderr)
    return 1 if report.refused and not args.allow_refused else 0


if __name__ == "__main__":
    sys.exit(main())
