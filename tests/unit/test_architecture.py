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
    "gpt_lsp.chat": {
        "gpt_lsp.text",
        "gpt_lsp.prompting",
        "gpt_lsp.relay",
        "gpt_lsp.settings",
        "gpt_lsp.accounting",
        "gpt_lsp.asking",
        "gpt_lsp.answer",
        "gpt_lsp.edits",
        "gpt_lsp.jobs",
        "gpt_lsp.context",
    },
    "gpt_lsp.session": {
        "gpt_lsp.chat",
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


MAX_LINES = 400
MAX_METHODS = 20
# Modules and classes over the limits, each with its reason; none is added without one.
LONG_MODULES: dict[str, str] = {}
BIG_CLASSES: dict[str, str] = {}
# Who may change a job's state, and end a turn: jobs/lifecycle.py alone (state.py makes the
# values it stores).
STATE_OWNER = "gpt_lsp.jobs.lifecycle"
STATE_MOVES = {"move", "wanting"}  # jobs/state.py's moves (and State(...), a new state)
TURN_ENDING = {"status", "stop", "message"}  # a turn's fields lifecycle.py writes
SETATTR = ("setattr", "object.__setattr__")


def test_no_module_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text("utf-8").splitlines()) for name, path in modules().items()}
    over = {name for name, n in sizes.items() if n > MAX_LINES}
    assert over == set(LONG_MODULES)


def classes() -> dict[str, ast.ClassDef]:
    """Every class of gpt_lsp by its dotted name."""
    found = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                found[f"{name}.{node.name}"] = node
    return found


def methods(node: ast.ClassDef) -> int:
    """How many functions a class defines (properties and dunders too)."""
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in node.body)


def test_no_class_has_more_than_20_methods() -> None:
    big = {name for name, node in classes().items() if methods(node) > MAX_METHODS}
    assert big == set(BIG_CLASSES)


def writes(tree: ast.AST, fields: set[str]) -> list[str]:
    """Assignments to one of `fields` of an object other than `self`, and setattr calls."""
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in SETATTR:
            field = node.args[1] if len(node.args) > 1 else None
            if not isinstance(field, ast.Constant) or field.value in fields:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        for target in targets:
            for part in ast.walk(target):
                if (
                    isinstance(part, ast.Attribute)
                    and part.attr in fields
                    and not (isinstance(part.value, ast.Name) and part.value.id == "self")
                ):
                    found.append(f"{node.lineno}: {ast.unparse(target)}")
    return found


def state_writes(name: str, tree: ast.AST) -> list[str]:
    """What a module does that only the lifecycle may: set a job's state, make a new one."""
    found = [f"{name}:{hit}" for hit in writes(tree, {"state"})]
    if layer_of(name) in ("gpt_lsp.jobs", "gpt_lsp.session", "gpt_lsp.lsp"):
        found += [f"{name}:{hit}" for hit in writes(tree, TURN_ENDING)]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "gpt_lsp.jobs.state":
            found += [f"{name} imports {a.name}" for a in node.names if a.name in STATE_MOVES]
        if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "State":
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_only_the_lifecycle_changes_a_jobs_state() -> None:
    wrong = []
    for name, path in modules().items():
        if name not in (STATE_OWNER, "gpt_lsp.jobs.state"):
            wrong += state_writes(name, ast.parse(path.read_text("utf-8")))
    assert wrong == []


def test_the_state_check_sees_each_way_round_it() -> None:
    source = """
from gpt_lsp.jobs.state import Phase, move
job.state = move(job.state, Phase.DONE)
job.turn.status, other = "done", 1
setattr(job, "state", None)
job.state = state.State()
self.state = 1
"""
    found = state_writes("gpt_lsp.jobs.manager", ast.parse(source))
    assert len(found) == 6 and not any("self.state" in hit for hit in found)
    assert state_writes("gpt_lsp.relay.stream", ast.parse("state.status = 1")) == []


def test_the_readme_layout_names_every_module() -> None:
    readme = (PACKAGE.parent / "README.md").read_text("utf-8")
    layout = readme.split("### Layout", 1)[1].split("```")[1]
    missing = [
        name
        for name, path in modules().items()
        if path.name != "__init__.py" and path.name != "__main__.py" and path.name not in layout
    ]
    assert missing == []


# ---------------------------------------------------------------- the tests mirror the code

TESTS = PACKAGE.parent / "tests"
UNIT = TESTS / "unit"
FAKES = TESTS / "fakes"
# Unit tests of the whole package rather than of one module.
WHOLE_PACKAGE_TESTS = {"test_architecture.py"}


def folders(root: Path, *, with_modules: bool = False) -> set[str]:
    """The folders under `root` (relative, "relay"), or only those holding a module besides
    __init__.py; caches and hidden folders left out."""
    found = set()
    for path in root.rglob("*.py"):
        folder = path.parent.relative_to(root)
        hidden = any(p.startswith((".", "__")) for p in folder.parts)
        if folder.parts and not hidden and (not with_modules or path.name != "__init__.py"):
            found.add(folder.as_posix())
    return found


def test_unit_tests_follow_the_packages() -> None:
    tested, packages = folders(UNIT), folders(PACKAGE)
    assert tested - packages == set(), "a tests/unit folder that is no gpt_lsp package"
    assert folders(PACKAGE, with_modules=True) - tested == set(), "a package without unit tests"
    assert [f for f in tested if not (UNIT / f / "__init__.py").exists()] == []
    # At tests/unit's root: the tests of gpt_lsp's root modules (test_errors.py for errors.py).
    roots = {p.name for p in UNIT.glob("test_*.py")} - WHOLE_PACKAGE_TESTS
    assert {n for n in roots if not (PACKAGE / n.removeprefix("test_")).exists()} == set()


def imported_modules(tree: ast.AST, package: str) -> set[str]:
    """Every module an import names (`from a import b` names a and a.b), relative ones resolved
    against `package`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imported_tests(tree: ast.AST, package: str) -> list[str]:
    """The test modules (tests.….test_*) among what a module imports."""
    return sorted(
        name
        for name in imported_modules(tree, package)
        if name.startswith("tests.") and name.rpartition(".")[2].startswith("test_")
    )


def test_no_test_module_imports_another() -> None:
    wrong = []
    for path in TESTS.rglob("*.py"):
        package = ".".join(path.parent.relative_to(PACKAGE.parent).parts)
        tree = ast.parse(path.read_text("utf-8"))
        wrong += [f"{path.relative_to(TESTS)} imports {m}" for m in imported_tests(tree, package)]
    assert wrong == [], "share through tests/fakes, a support module or a conftest.py"


def test_the_import_check_sees_each_form() -> None:
    source = """
from tests.unit.test_session import make
import tests.e2e.test_check
from tests.editors import test_vscode
from .test_stream import chunk
from tests.fakes.relay import Relay
from tests.unit.relay.collect import collect
"""
    found = imported_tests(ast.parse(source), "tests.unit.relay")
    assert found == [
        "tests.e2e.test_check",
        "tests.editors.test_vscode",
        "tests.unit.relay.test_stream",
        "tests.unit.test_session",
    ]


def relays(tree: ast.AST) -> list[str]:
    """Classes that act as a relay: an httpx transport or response body, a handler of httpx
    requests, or a class that hands out an httpx.MockTransport."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(b) for b in node.bases]
        handles = any(
            isinstance(arg.annotation, ast.expr) and ast.unparse(arg.annotation) == "httpx.Request"
            for part in ast.walk(node)
            if isinstance(part, (ast.FunctionDef, ast.AsyncFunctionDef))
            for arg in part.args.args
        )
        transports = any(
            isinstance(part, ast.Call) and ast.unparse(part.func) == "httpx.MockTransport"
            for part in ast.walk(node)
        )
        if handles or transports or any(b.endswith(("Transport", "ByteStream")) for b in bases):
            found.append(f"{node.lineno}: class {node.name}")
    return found


def test_fake_relays_are_only_in_tests_fakes() -> None:
    # A test may hand httpx.MockTransport a plain function; a class that answers requests is a
    # fake relay, shared from tests/fakes/relay.py. (tests/relay_sim is the one over a socket.)
    wrong = []
    for path in TESTS.rglob("*.py"):
        if path.is_relative_to(FAKES) or path.is_relative_to(TESTS / "relay_sim"):
            continue
        wrong += [
            f"{path.relative_to(TESTS)}:{hit}" for hit in relays(ast.parse(path.read_text("utf-8")))
        ]
    assert wrong == []


def test_the_relay_check_sees_each_kind() -> None:
    source = """
class Slow(httpx.AsyncBaseTransport): ...
class Body(httpx.AsyncByteStream): ...
class Recorder:
    def __call__(self, request: httpx.Request) -> httpx.Response: ...
class Relay:
    def transport(self):
        return httpx.MockTransport(self._handle)
class Clock:
    def now(self) -> float: ...
def answer(request: httpx.Request) -> httpx.Response: ...
"""
    assert relays(ast.parse(source)) == [
        "2: class Slow",
        "3: class Body",
        "4: class Recorder",
        "6: class Relay",
    ]
