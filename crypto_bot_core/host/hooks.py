"""Checking a plugin's hook implementations, and calling observation hooks through fences.

pluggy verifies an implementation's arguments against its spec when it is
registered, but silently accepts implementations of hooks nobody specified
(a misspelt ``cryptobot_fils`` would simply never be called). The host treats
those as contract errors, naming the hook and listing the real ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import CryptoBotError, PluginContractError, PluginError

COMPONENTS_HOOK = "cryptobot_components"


def hook_names(pm: pluggy.PluginManager) -> list[str]:
    """The hooks with a specification: the ones plugins may implement."""
    return sorted(
        name
        for name, caller in vars(pm.hook).items()
        if isinstance(caller, pluggy.HookCaller) and caller.has_spec()
    )


def verify_hooks(
    pm: pluggy.PluginManager, plugin: object, *, provides_components: bool = True
) -> pluggy.HookImpl | None:
    """Every hook implementation matches a spec; returns the ``cryptobot_components`` one.

    A plugin whose manifest declares no kinds only observes: it needs no
    ``cryptobot_components`` but must implement at least one other hook.
    """
    problems: list[str] = []
    components_impl: pluggy.HookImpl | None = None
    observed: list[str] = []
    for caller in pm.get_hookcallers(plugin) or ():
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            if not caller.has_spec() and not impl.optionalhook:
                problems.append(f"{caller.name} is not a crypto-bot hook (misspelt?)")
            elif impl.hookwrapper or impl.wrapper:
                problems.append(f"{caller.name} is a hook wrapper; crypto-bot hooks take none")
            elif caller.name == COMPONENTS_HOOK:
                components_impl = impl
            else:
                observed.append(caller.name)
    if components_impl is None and provides_components:
        problems.append(
            f"it implements no {COMPONENTS_HOOK} hook; decorate a function returning its "
            "component classes with crypto_bot_sdk.hookimpl"
        )
    if not provides_components and not observed and components_impl is None:
        problems.append(
            "its manifest declares no kinds, so it can only observe, yet it implements no "
            "observation hook; implement one (e.g. cryptobot_alert) or declare its kinds"
        )
    if problems:
        known = ", ".join(hook_names(pm))
        raise PluginContractError("; ".join(problems) + f" (known hooks: {known})")
    return components_impl


def notify(
    pm: pluggy.PluginManager,
    fences: Mapping[str, Fence],
    hook_name: str,
    kwargs: Mapping[str, Any],
) -> list[PluginError]:
    """Call ``hook_name`` on every implementation through its plugin's fence; collect failures."""
    caller: pluggy.HookCaller | None = getattr(pm.hook, hook_name, None)
    if caller is None or not caller.has_spec() or hook_name == COMPONENTS_HOOK:
        raise ValueError(f"{hook_name!r} is not an observation hook: {hook_names(pm)}")
    missing = set(caller.spec.argnames if caller.spec else ()) - kwargs.keys()
    if missing:
        raise TypeError(f"{hook_name} needs the arguments {sorted(missing)}")
    errors: list[PluginError] = []
    # pluggy calls the last registered implementation first; keep that order.
    for impl in reversed(caller.get_hookimpls()):
        fence = fences.get(impl.plugin_name) or Fence(impl.plugin_name)
        arguments = {name: kwargs[name] for name in impl.argnames}
        try:
            fence.call(impl.function, **arguments)
        except PluginError as exc:
            errors.append(exc)
        except CryptoBotError as exc:
            errors.append(fence.error(exc, impl.function))
    return errors
