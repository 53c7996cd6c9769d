"""No module of the SDK or the core imports itself back through others.

The layer contracts (``lint-imports``, pyproject.toml) keep packages in order; a cycle
between two modules of one package passes them and is still a sign that one module holds
another's job (DESIGN.md, "Layers"). Imports under ``TYPE_CHECKING`` and inside functions
count: a lazy import is still a dependency.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def test_no_module_level_import_cycles() -> None:
    graph = grimp.build_graph("crypto_bot_core", "crypto_bot_sdk", include_external_packages=False)
    assert graph.modules  # the packages were found: an empty graph would pass vacuously
    cycles = _cycles(graph)
    assert not cycles, "import cycles (move the shared part into a module of its own):\n" + (
        "\n".join("  " + " <-> ".join(group) for group in cycles)
    )


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The finder itself, on a graph with one known cycle and one clean chain."""
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.d", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
