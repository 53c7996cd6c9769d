"""Each check of the install step: digest pins, signatures, dependencies, names, manifests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto_bot_core.deploy.bundles import PluginInstallError, load_lock
from crypto_bot_core.deploy.install_plugins import install_plugins, main
from crypto_bot_core.deploy.resolution import host_distributions

from .conftest import Wheels
from .staging import public_pem, sha256_hex, stage, write_lock

GOOD = "cbt-deploy-good"


def _run(tmp_path: Path, lock: Path | None = None) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    report = install_plugins(
        tmp_path / "staging", tmp_path / "target", load_lock(lock) if lock else None
    )
    return dict(report.refused), [p.name for p in report.plugins]


def _one_refusal(refused: dict[str, tuple[str, ...]], name: str) -> str:
    assert list(refused) == [name]
    return "\n".join(refused[name])


# --- digests pinned in the values -------------------------------------------------------


def test_values_pin_matching_the_wheel_is_accepted(tmp_path: Path, wheels: Wheels) -> None:
    wheel = wheels["cbt_deploy_good"]
    stage(tmp_path / "staging", GOOD, [wheel])
    pins = {wheel.name: f"sha256:{sha256_hex(wheel)}"}
    lock = write_lock(tmp_path / "lock.json", [{"name": GOOD, "sha256": pins}])
    assert _run(tmp_path, lock) == ({}, [GOOD])


def test_values_pin_differing_from_the_wheel_refuses_it(tmp_path: Path, wheels: Wheels) -> None:
    wheel = wheels["cbt_deploy_good"]
    stage(tmp_path / "staging", GOOD, [wheel])
    lock = write_lock(tmp_path / "lock.json", [{"name": GOOD, "sha256": {wheel.name: "ab" * 32}}])
    refused, installed = _run(tmp_path, lock)
    message = _one_refusal(refused, GOOD)
    assert (
        f"plugin {GOOD}: {wheel.name} has sha256 {sha256_hex(wheel)}, "
        f"but the values pin {'ab' * 32}" in message
    )
    assert installed == []
    assert not list((tmp_path / "target").glob("cbt_deploy_good*"))


def test_pins_must_cover_every_wheel_and_be_digests(tmp_path: Path, wheels: Wheels) -> None:
    plugin, helper = wheels["cbt_deploy_with_dep"], wheels["cbt_deploy_helper-1.0.0"]
    stage(tmp_path / "staging", "cbt-deploy-with-dep", [plugin, helper])
    pins = {plugin.name: sha256_hex(plugin), "other.whl": "not-a-digest"}
    lock = write_lock(tmp_path / "lock.json", [{"name": "cbt-deploy-with-dep", "sha256": pins}])
    message = _one_refusal(_run(tmp_path, lock)[0], "cbt-deploy-with-dep")
    assert f"{helper.name} has no sha256 pin in the values" in message
    assert "'not-a-digest' is not a SHA-256 digest (64 hex digits)" in message


def test_a_wheel_missing_from_sha256sums_is_refused(tmp_path: Path, wheels: Wheels) -> None:
    wheel = wheels["cbt_deploy_good"]
    bundle = stage(tmp_path / "staging", GOOD, [wheel])
    (bundle / "SHA256SUMS").write_text("")
    message = _one_refusal(_run(tmp_path)[0], GOOD)
    assert f"{wheel.name} is not listed in SHA256SUMS; it was not built into the image" in message


# --- signatures -------------------------------------------------------------------------


def _signing_lock(tmp_path: Path, *keys: Ed25519PrivateKey, required: bool) -> Path:
    return write_lock(
        tmp_path / "lock.json",
        [{"name": GOOD}],
        required=required,
        public_keys=[public_pem(key) for key in keys],
    )


def test_signature_by_a_trusted_key_is_verified(tmp_path: Path, wheels: Wheels) -> None:
    trusted = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]], sign_with=trusted)
    lock = _signing_lock(tmp_path, trusted, required=True)
    report = install_plugins(tmp_path / "staging", tmp_path / "target", load_lock(lock))
    assert [(p.name, p.signature_checked) for p in report.plugins] == [(GOOD, True)]


def test_signature_by_another_key_is_refused(tmp_path: Path, wheels: Wheels) -> None:
    trusted = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    stranger = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]], sign_with=stranger)
    message = _one_refusal(
        _run(tmp_path, _signing_lock(tmp_path, trusted, required=False))[0], GOOD
    )
    assert "SHA256SUMS.sig in" in message
    assert "is not a valid signature of its SHA256SUMS by any of the 1 trusted key(s)" in message


def test_signature_over_other_sums_is_refused(tmp_path: Path, wheels: Wheels) -> None:
    trusted = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    bundle = stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]], sign_with=trusted)
    # The digest list was rewritten after signing (to match a swapped wheel, say).
    sums = (bundle / "SHA256SUMS").read_text()
    (bundle / "SHA256SUMS").write_text(sums + f"{'0' * 64}  extra.txt\n")
    message = _one_refusal(_run(tmp_path, _signing_lock(tmp_path, trusted, required=True))[0], GOOD)
    assert "is not a valid signature of its SHA256SUMS" in message


def test_required_signature_missing_is_refused(tmp_path: Path, wheels: Wheels) -> None:
    trusted = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]])
    message = _one_refusal(_run(tmp_path, _signing_lock(tmp_path, trusted, required=True))[0], GOOD)
    assert "no SHA256SUMS.sig in" in message
    assert "the deployment requires signed plugins" in message


def test_base64_signature_text_is_accepted(tmp_path: Path, wheels: Wheels) -> None:
    import base64

    trusted = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    bundle = stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]], sign_with=trusted)
    raw = (bundle / "SHA256SUMS.sig").read_bytes()
    (bundle / "SHA256SUMS.sig").write_bytes(base64.b64encode(raw) + b"\n")
    assert _run(tmp_path, _signing_lock(tmp_path, trusted, required=True)) == ({}, [GOOD])


def test_bad_signing_settings_stop_the_step(
    tmp_path: Path, wheels: Wheels, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]])
    lock = write_lock(tmp_path / "lock.json", [{"name": GOOD}], required=True, public_keys=[])
    args = ["--staging", str(tmp_path / "staging"), "--target", str(tmp_path / "target")]
    assert main([*args, "--lock", str(lock)]) == 2
    assert (
        "signatures are required but no trusted public key is configured" in capsys.readouterr().err
    )
    lock.write_text(json.dumps({"signatures": {"public_keys": ["-----BEGIN PUBLIC KEY-----\nxx"]}}))
    with pytest.raises(PluginInstallError, match="trusted key #1 is not a PEM public key"):
        install_plugins(tmp_path / "staging", tmp_path / "target", load_lock(lock))
    lock.write_text(json.dumps({"plugins": [{"name": GOOD, "sha": {}}]}))
    with pytest.raises(PluginInstallError, match=r"the plugin lock .*lock.json is invalid"):
        load_lock(lock)


# --- dependencies -----------------------------------------------------------------------


def test_a_dependency_wheel_in_the_image_is_installed_with_the_plugin(
    tmp_path: Path, wheels: Wheels
) -> None:
    helper = wheels["cbt_deploy_helper-1.0.0"]
    stage(tmp_path / "staging", "cbt-deploy-with-dep", [wheels["cbt_deploy_with_dep"], helper])
    report = install_plugins(tmp_path / "staging", tmp_path / "target")
    assert sorted(w.filename for w in report.installed) == sorted(
        [wheels["cbt_deploy_with_dep"].name, helper.name]
    )
    assert (
        tmp_path / "target" / "cbt_deploy_helper" / "__init__.py"
    ).read_text() == 'VERSION = "1.0.0"\n'


def test_a_missing_requirement_refuses_the_plugin_naming_it(tmp_path: Path, wheels: Wheels) -> None:
    stage(tmp_path / "staging", "cbt-deploy-missing-dep", [wheels["cbt_deploy_missing_dep"]])
    stage(tmp_path / "staging", "cbt-deploy-with-dep", [wheels["cbt_deploy_with_dep"]])
    refused, installed = _run(tmp_path)
    assert installed == []
    assert "requires cbt-deploy-absent>=1 (not installed)" in "\n".join(
        refused["cbt-deploy-missing-dep"]
    )
    assert "requires cbt-deploy-helper==1.0.0 (not installed)" in "\n".join(
        refused["cbt-deploy-with-dep"]
    )


def test_two_plugins_bringing_different_versions_of_a_library_conflict(
    tmp_path: Path, wheels: Wheels
) -> None:
    stage(
        tmp_path / "staging",
        "cbt-deploy-with-dep",
        [wheels["cbt_deploy_with_dep"], wheels["cbt_deploy_helper-1.0.0"]],
    )
    stage(
        tmp_path / "staging",
        "cbt-deploy-conflict",
        [wheels["cbt_deploy_conflict"], wheels["cbt_deploy_helper-2.0.0"]],
    )
    refused, installed = _run(tmp_path)
    # As with two plugins of one name, which build would win is arbitrary: neither does.
    assert installed == []
    conflict = "\n".join(refused["cbt-deploy-conflict"])
    assert (
        "brings cbt_deploy_helper-2.0.0-py2.py3-none-any.whl, which conflicts with "
        "cbt_deploy_helper-1.0.0-py2.py3-none-any.whl from plugin cbt-deploy-with-dep"
    ) in conflict
    with_dep = "\n".join(refused["cbt-deploy-with-dep"])
    assert (
        "conflicts with cbt_deploy_helper-2.0.0-py2.py3-none-any.whl "
        "from plugin cbt-deploy-conflict" in with_dep
    )


def test_a_plugin_may_not_replace_a_host_library(tmp_path: Path, wheels: Wheels) -> None:
    host = {str(k): v for k, v in host_distributions(sys.path).items()}
    assert host["rfc8785"] != "0.0.1"
    fake = wheels["rfc8785-0.0.1"]
    stage(tmp_path / "staging", "cbt-deploy-shadow", [wheels["cbt_deploy_shadow"], fake])
    message = _one_refusal(_run(tmp_path)[0], "cbt-deploy-shadow")
    assert f"brings {fake.name}, but the host image has rfc8785 {host['rfc8785']}" in message


def test_a_failure_while_installing_leaves_an_empty_target(tmp_path: Path, wheels: Wheels) -> None:
    """Two distributions writing the same file: the second install fails, nothing stays."""
    bundle = [
        wheels["cbt_deploy_with_dep"],
        wheels["cbt_deploy_helper-1.0.0"],
        wheels["cbt_deploy_helper_fork-1.0.0"],
    ]
    stage(tmp_path / "staging", "cbt-deploy-with-dep", bundle)
    with pytest.raises(PluginInstallError) as caught:
        install_plugins(tmp_path / "staging", tmp_path / "target")
    assert "plugin cbt-deploy-with-dep: installing cbt_deploy_helper" in str(caught.value)
    assert "failed:" in str(caught.value)
    assert list((tmp_path / "target").iterdir()) == []


# --- names and manifests ----------------------------------------------------------------


def test_the_values_name_must_be_the_plugins_name(tmp_path: Path, wheels: Wheels) -> None:
    stage(tmp_path / "staging", "binance-futures", [wheels["cbt_deploy_good"]])
    refused, _ = _run(tmp_path)
    message = "\n".join(refused["binance-futures"])
    assert "no wheel registers entry point 'binance-futures' in group crypto_bot.plugins" in message
    assert "its image also carries plugin(s) cbt-deploy-good" in message


def test_the_image_manifest_copy_must_match_the_wheel(tmp_path: Path, wheels: Wheels) -> None:
    from plugin_dists import manifest_for

    stage(
        tmp_path / "staging",
        GOOD,
        [wheels["cbt_deploy_good"]],
        manifest=manifest_for(GOOD, version="9.9.9"),
    )
    message = _one_refusal(_run(tmp_path)[0], GOOD)
    assert "differs from the manifest inside the plugin's wheel" in message


def test_lock_and_staging_must_agree(tmp_path: Path, wheels: Wheels) -> None:
    stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]])
    lock = write_lock(tmp_path / "lock.json", [{"name": "cbt-deploy-with-dep"}])
    refused, installed = _run(tmp_path, lock)
    assert installed == []
    assert "its init container copied nothing to" in "\n".join(refused["cbt-deploy-with-dep"])
    assert "staged in" in "\n".join(refused[GOOD])
    assert "not listed in the plugin lock" in "\n".join(refused[GOOD])


def test_a_plugin_named_like_a_builtin_is_refused_before_installing(
    tmp_path: Path, wheels: Wheels
) -> None:
    """Issue 13, item 14: on the Helm path too, built-in names are reserved."""
    stage(tmp_path / "staging", "technical-agents", [wheels["cbt_deploy_impostor"]])
    stage(tmp_path / "staging", GOOD, [wheels["cbt_deploy_good"]])
    refused, installed = _run(tmp_path)
    message = _one_refusal(refused, "technical-agents")
    assert message == (
        "plugin technical-agents: the name 'technical-agents' is reserved for the built-in "
        "plugin of crypto-bot-core, which stays loaded; this plugin is not loaded: the host "
        "image has the built-in 'technical-agents'; give the plugin a name of its own (entry "
        "point and manifest) and list it under that name in plugins:"
    )
    assert installed == [GOOD]
    assert not list((tmp_path / "target").glob("cbt_deploy_impostor*"))


def test_a_plugin_declaring_an_unknown_capability_is_refused_before_installing(
    tmp_path: Path, wheels: Wheels
) -> None:
    wheel = wheels["cbt_deploy_unknown_cap"]
    stage(tmp_path / "staging", "cbt-deploy-unknown-cap", [wheel])
    message = _one_refusal(_run(tmp_path)[0], "cbt-deploy-unknown-cap")
    assert (
        f"plugin cbt-deploy-unknown-cap: {wheel.name}: manifest.json declares unknown "
        "capabilities 'teleport'; this host knows"
    ) in message
