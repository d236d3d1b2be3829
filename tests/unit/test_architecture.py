"""The import graph of gpt_lsp: no cycle (counting every import), and layers that point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gpt_lsp"

# What each layer may import from gpt_lsp (besides itself, and the shared leaf modules).
SHARED = {
    "gpt_lsp",
    "gpt_lsp.errors",
    "gpt_lsp.i18n",
    "gpt_lsp.logs",
    "gpt_lsp.paths",
    "gpt_lsp.port",  # what the application needs of the editor connection
    "gpt_lsp.redaction",
    "gpt_lsp.urls",  # how a pasted base URL becomes the request URL (pure)
}
# One folder per layer, lowest first; a layer imports only the layers listed for it.
ALLOWED = {
    "gpt_lsp.text": set(),
    "gpt_lsp.settings": {"gpt_lsp.text.sanitize"},
    "gpt_lsp.relay": {"gpt_lsp.settings"},
    "gpt_lsp.accounting": {"gpt_lsp.settings", "gpt_lsp.relay.events"},
    "gpt_lsp.asking": {"gpt_lsp.relay", "gpt_lsp.settings", "gpt_lsp.accounting"},
    "gpt_lsp.prompting": {"gpt_lsp.text", "gpt_lsp.settings"},
    "gpt_lsp.answer": {"gpt_lsp.text", "gpt_lsp.prompting"},
    "gpt_lsp.context": {
        "gpt_lsp.text",
        "gpt_lsp.settings",
        "gpt_lsp.prompting",
        "gpt_lsp.accounting",
    },
    "gpt_lsp.edits": {"gpt_lsp.text"},
    "gpt_lsp.jobs": {
        "gpt_lsp.text",
        "gpt_lsp.prompting",
        "gpt_lsp.relay",
        "gpt_lsp.settings",
        "gpt_lsp.accounting",
        "gpt_lsp.asking",
        "gpt_lsp.answer",
        "gpt_lsp.edits",
        "gpt_lsp.context",
    },
    "gpt_lsp.completion": {
        "gpt_lsp.text",
        "gpt_lsp.prompting",
        "gpt_lsp.relay",
        "gpt_lsp.settings",
        "gpt_lsp.accounting",
        "gpt_lsp.asking",
        "gpt_lsp.context",
    },
    "gpt_lsp.session": {
        "gpt_lsp.text",
        "gpt_lsp.prompting",
        "gpt_lsp.relay",
        "gpt_lsp.settings",
        "gpt_lsp.accounting",
        "gpt_lsp.asking",
        "gpt_lsp.answer",
        "gpt_lsp.edits",
        "gpt_lsp.jobs",
        "gpt_lsp.completion",
        "gpt_lsp.context",
    },
    "gpt_lsp.lsp": {
        "gpt_lsp.session",
        "gpt_lsp.jobs",
        "gpt_lsp.text",
        "gpt_lsp.prompting",
        "gpt_lsp.completion",
        "gpt_lsp.context",
    },
    "gpt_lsp.check": {"gpt_lsp.relay", "gpt_lsp.settings", "gpt_lsp.accounting", "gpt_lsp.text"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every gpt_lsp module a module imports: top level, TYPE_CHECKING or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def layer_of(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "gpt_lsp.session.session" in edges
    assert "gpt_lsp.port" in edges["gpt_lsp.session.session"]
    assert "gpt_lsp.session.session" in edges["gpt_lsp.lsp.server"]


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    assert find_cycle(graph()) is None


def test_no_package_cycle() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in graph().items():
        source = layer_of(module) or module
        packages.setdefault(source, set()).update(
            layer_of(t) or t for t in targets if (layer_of(t) or t) != source
        )
    assert find_cycle(packages) is None


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_point_one_way(layer: str) -> None:
    wrong = []
    for module, targets in graph().items():
        if layer_of(module) != layer:
            continue
        for target in targets:
            other = layer_of(target)
            if target in SHARED or other == layer:
                continue
            if not any(target == a or target.startswith(a + ".") for a in ALLOWED[layer]):
                wrong.append(f"{module} -> {target}")
    assert not wrong


def test_only_the_command_line_starts_the_lsp_layer() -> None:
    importers = {
        module
        for module, targets in graph().items()
        if any(t.startswith("gpt_lsp.lsp") for t in targets) and layer_of(module) != "gpt_lsp.lsp"
    }
    assert importers == {"gpt_lsp.cli"}


def test_no_module_is_much_over_400_lines() -> None:
    sizes = {name: len(path.read_text("utf-8").splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > 450} == {}


def test_the_readme_layout_names_every_module() -> None:
    readme = (PACKAGE.parent / "README.md").read_text("utf-8")
    layout = readme.split("### Layout", 1)[1].split("```")[1]
    missing = [
        name
        for name, path in modules().items()
        if path.name != "__init__.py" and path.name != "__main__.py" and path.name not in layout
    ]
    assert missing == []
