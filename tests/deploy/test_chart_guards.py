"""What the chart refuses at render time (issue 13, items 14 and 16).

The values schema cannot say "names are unique" of a list of objects, nor
"unique after truncation", so the templates check the ``plugins:`` list and
``fail`` with a message naming the entries: ``helm install``, ``upgrade`` and
``template`` stop there (``helm lint`` renders in its lenient mode, where
``fail`` only logs the message). Plugin images must be pinned by
digest unless ``allowUnpinnedImages`` says otherwise: a tag can be moved to an
image whose wheels and SHA256SUMS were both forged.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from crypto_bot_core.host.reserved import RESERVED_PLUGIN_NAMES

from .chart import CHART, RELEASE, example, named, pod_spec, render

helm = pytest.importorskip("helm_python", reason="helm-python-sdk has no wheel for this platform")

DIGEST = "sha256:" + "c" * 64


def _plugin(name: str, **image: Any) -> dict[str, Any]:
    reference = image or {"digest": DIGEST}
    return {"name": name, "image": {"repository": f"r.example.com/{name}", **reference}}


def _render_error(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as caught:
        render(values)
    return str(caught.value)


def test_a_plugin_listed_twice_is_refused_at_render_time() -> None:
    values = {"plugins": [_plugin("defi-tvl"), _plugin("azure-sentiment"), _plugin("defi-tvl")]}
    message = _render_error(values)
    assert (
        "plugins[0] and plugins[2] are both named \"defi-tvl\": each plugin appears once under "
        "plugins:" in message
    )


def test_long_names_that_collide_after_truncation_are_refused() -> None:
    stem = "a" * 56
    first, second = f"{stem}-one", f"{stem}-two"
    message = _render_error({"plugins": [_plugin(first), _plugin(second)]})
    assert (
        f'plugins[0] ({first}) and plugins[1] ({second}) would both get the init container name '
        f'"plugin-{stem}"' in message
    )


def test_long_names_that_stay_distinct_render() -> None:
    names = ["b" * 55 + "x1", "b" * 55 + "y1"]  # "plugin-" + 57 characters: cut to 63, distinct
    docs = render({"plugins": [_plugin(n) for n in names]})
    engine = named(docs, "Deployment", f"{RELEASE}-engine")
    inits = [c["name"] for c in pod_spec(engine)["initContainers"]]
    assert inits == [f"plugin-{names[0][:56]}", f"plugin-{names[1][:56]}", "install-plugins"]
    assert len(set(inits)) == 3


@pytest.mark.parametrize("name", sorted(RESERVED_PLUGIN_NAMES))
def test_a_plugin_named_like_a_builtin_is_refused(name: str) -> None:
    message = _render_error({"plugins": [_plugin(name)]})
    assert (
        f'plugins[0].name "{name}" is the name of a built-in plugin of crypto-bot-core' in message
    )


def test_the_charts_reserved_names_are_the_hosts() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    line = next(ln for ln in helpers.splitlines() if ln.startswith("{{- $reserved := list"))
    listed = {word.strip('"') for word in line.split() if word.startswith('"')}
    assert listed == set(RESERVED_PLUGIN_NAMES)


def test_by_default_a_plugin_image_must_be_pinned_by_digest() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["allowUnpinnedImages"] is False
    values = {"plugins": [_plugin("defi-tvl"), _plugin("azure-sentiment", tag="0.1.0")]}
    message = _render_error(values)
    assert (
        "plugins[1] (azure-sentiment): image r.example.com/azure-sentiment:0.1.0 is given by "
        "tag only" in message
    )
    assert "set plugins[1].image.digest" in message
    assert "or set allowUnpinnedImages: true" in message


def test_tags_render_only_when_explicitly_allowed() -> None:
    values = {
        "allowUnpinnedImages": True,
        "plugins": [_plugin("azure-sentiment", tag="0.1.0")],
    }
    engine = named(render(values), "Deployment", f"{RELEASE}-engine")
    init = pod_spec(engine)["initContainers"][0]
    assert init["image"] == "r.example.com/azure-sentiment:0.1.0"


def test_the_example_values_pin_every_plugin_image() -> None:
    for plugin in example("three-plugins")["plugins"]:
        assert plugin["image"]["digest"].startswith("sha256:"), plugin["name"]
