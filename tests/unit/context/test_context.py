"""Context beyond the selection, the pure core: definitions, names, packing, edits, the corpus."""

from __future__ import annotations

import pytest

from gpt_lsp.context.block import ContextPack
from gpt_lsp.context.edits import RecentEdits
from gpt_lsp.context.gather import Budgets, Doc, Here, Sources, gather
from gpt_lsp.context.names import imported_modules, imported_names, names_used
from gpt_lsp.context.packing import Offer, Piece, outline_text, pack_definitions
from gpt_lsp.context.symbols import extract_symbols
from gpt_lsp.prompting.secrets import SecretMask
from gpt_lsp.text.regions import Pos, Span
from tests.unit.context.tasks import CORPUS, TASKS, Task, project_docs, run_task, score

DEFAULT = Budgets(definitions=1000)

PY = b'''import os

RATE = 0.2


@dataclass
class Order:
    """An order."""

    items: list

    def total(self) -> float:
        """Sum of the items."""
        amount = 0
        for item in self.items:
            amount += item
        return amount


def apply(order, rate):
    return order.total() * rate
'''


def _names(symbols: list) -> list[tuple[str, str, str | None]]:
    return [(s.name, s.kind, s.parent) for s in symbols]


def test_python_definitions_with_their_compact_form() -> None:
    symbols = extract_symbols(PY, "python")
    assert _names(symbols) == [
        ("RATE", "variable", None),
        ("Order", "class", None),
        ("total", "method", "Order"),
        ("apply", "function", None),
    ]
    lines = PY.decode().splitlines(keepends=True)
    order = symbols[1]
    compact = outline_text(lines, order, "python")
    # Decorator, header, docstring, fields and the members' signatures with their docstrings.
    assert compact == (
        '@dataclass\nclass Order:\n    """An order."""\n    items: list\n'
        '    def total(self) -> float:\n        """Sum of the items."""\n        # ...\n'
    )


def test_typescript_and_go_definitions() -> None:
    ts = b"""/** Doc. */
export function f(a: number): number {
  return a;
}
export const g = (x: string) => {
  return x;
};
export class Store {
  add(x: number): void {
    this.x = x;
  }
}
export interface Todo { id: number }
type Filter = "a" | "b";
"""
    assert _names(extract_symbols(ts, "typescript")) == [
        ("f", "function", None),
        ("g", "function", None),
        ("Store", "class", None),
        ("add", "method", "Store"),
        ("Todo", "type", None),
        ("Filter", "type", None),
    ]
    assert extract_symbols(ts, "typescript")[0].first == 0  # its doc comment belongs to it
    go = b"""package p

// Total sums.
func (o *Order) Total() int {
\treturn 1
}

type Order struct {
\tA int
}

var ErrX = errors.New("x")
"""
    assert _names(extract_symbols(go, "go")) == [
        ("Total", "method", "Order"),
        ("Order", "type", None),
        ("ErrX", "variable", None),
    ]


def test_python_definitions_inside_module_level_if_and_try_blocks() -> None:
    source = b"""if TYPE_CHECKING:
    Alias = int
try:
    import ujson
except ImportError:
    def loads(text):
        return text
else:
    def dumps(value): ...
if FAST:
    pass
elif SLOW:
    class Slow:
        if DEBUG:
            def probe(self): ...
with lock:
    def guarded(): ...
def outer():
    if x:
        def inner(): ...
"""
    assert _names(extract_symbols(source, "python")) == [
        ("Alias", "variable", None),
        ("loads", "function", None),
        ("dumps", "function", None),
        ("Slow", "class", None),
        ("probe", "method", "Slow"),
        ("guarded", "function", None),
        ("outer", "function", None),
    ]


def test_typescript_definitions_inside_namespaces_and_ambient_modules() -> None:
    source = b"""namespace Geo {
  export function area(r: number): number { return r * r; }
  export const PI = 3.14;
}
export namespace Shapes { export class Box { size() { return 1; } } }
declare module "lib" { export function load(): void; }
function top() {}
"""
    assert _names(extract_symbols(source, "typescript")) == [
        ("area", "method", "Geo"),  # `Geo.area(...)` names it by its namespace
        ("PI", "field", "Geo"),
        ("Box", "class", "Shapes"),
        ("size", "method", "Box"),
        ("load", "function", None),  # imported by name from "lib"
        ("top", "function", None),
    ]


def test_names_used_calls_types_members_not_locals() -> None:
    code = """def order_total(order: Order) -> float:
    amount = apply_discount(order.total(), order.coupon)  # a comment naming ignored_name
    label = f"{format_amount(amount)}"
    return round_money(amount)
"""
    used = {u.name: u for u in names_used(code)}
    assert "amount" not in used and "label" not in used  # locals
    assert "order_total" not in used  # defined here
    assert "ignored_name" not in used
    assert used["apply_discount"].called and used["format_amount"].called  # f-string code too
    assert used["total"].member and used["total"].owner == "Order"
    assert list(used)[:3] == ["Order", "apply_discount", "format_amount"]  # calls, types first


def test_imports_by_module_and_by_name() -> None:
    text = (
        "from shop.pricing import apply_discount, with_tax as tax\n"
        'import { formatDate } from "./format";\n'
        'import "./side";\n'
    )
    assert imported_modules(text) == {"pricing", "format", "side"}
    assert imported_names(text) == {
        "apply_discount": "pricing",
        "with_tax": "pricing",
        "formatDate": "format",
    }


def _offers() -> list[Offer]:
    lines = PY.decode().splitlines(keepends=True)
    symbols = extract_symbols(PY, "python")
    return [Offer("file:///a.py", "a.py", s, lines, "python") for s in (symbols[1], symbols[3])]


def test_a_tight_budget_takes_signatures_a_loose_one_bodies() -> None:
    offers = _offers()
    compact = (
        sum(offers[0].piece(o.compact).tokens for o in offers[:1])
        + offers[1].piece(offers[1].compact).tokens
    )
    tight = pack_definitions(offers, compact)
    assert [p.text for p in tight] == [o.compact for o in offers]
    assert "amount += item" not in tight[0].text
    loose = pack_definitions(offers, 10_000)
    assert [p.text for p in loose] == [o.full for o in offers]
    assert pack_definitions(offers, 5) == []  # nothing fits: nothing sent


@pytest.mark.parametrize("task", TASKS, ids=[f"{t.project}-{t.target}" for t in TASKS])
def test_the_needed_definitions_reach_the_prompt(task: Task) -> None:
    sent, tokens = run_task(task, DEFAULT)
    assert task.needed <= sent
    assert sent <= task.needed | task.fair  # nothing unrelated
    assert tokens <= DEFAULT.definitions


def test_open_documents_find_the_same_definitions() -> None:
    assert score(DEFAULT, open_all=True)["recall"] == 1.0


def test_a_small_budget_sends_signatures_first() -> None:
    task = TASKS[0]  # order_total: four definitions needed
    sent, tokens = run_task(task, Budgets(definitions=200))
    assert tokens <= 200
    assert {"pricing.py:apply_discount", "pricing.py:round_money"} <= sent


def test_recent_edits_move_with_later_changes() -> None:
    edits = RecentEdits(keep=3)
    edits.record("a", Span(Pos(10, 0), Pos(10, 3)), "xyz")
    edits.record("a", Span(Pos(2, 0), Pos(2, 0)), "one\ntwo\n")  # two lines above
    hunks = edits.hunks()
    assert [(h.first, h.last) for h in hunks] == [(2, 4), (12, 12)]
    edits.record("a", Span(Pos(3, 0), Pos(3, 0)), "z")  # near the newest: it grows
    assert len(edits) == 2
    for n in range(5):
        edits.record(f"b{n}", Span(Pos(0, 0), Pos(0, 0)), "x")
    assert len(edits) == 3
    edits.record("b4", None, "whole")
    assert all(h.uri != "b4" for h in edits.hunks())


def _doc(uri: str, text: str, language: str = "python") -> Doc:
    return Doc(uri, uri.rsplit("/", 1)[-1], language, text.splitlines(keepends=True),
               extract_symbols(text.encode(), language))  # fmt: skip


def test_edits_elsewhere_are_sent_and_those_in_view_are_not() -> None:
    here = _doc("file:///w/a.py", "x = 1\n" * 50)
    other = _doc("file:///w/b.py", "def f():\n    return 2\n" * 5)
    edits = RecentEdits()
    edits.record(other.uri, Span(Pos(3, 0), Pos(3, 0)), "    return 3\n")
    edits.record(here.uri, Span(Pos(20, 0), Pos(20, 0)), "y")  # in the prompt's view
    sources = Sources(open_docs=[other], hunks=edits.hunks())
    pack = gather(Here(here, (10, 30), "x"), sources, Budgets(edits=200))
    assert [(p.uri, p.source, p.first, p.last) for p in pack.pieces] == [(other.uri, "edit", 2, 5)]


def test_instructions_are_bounded_and_marked_as_the_projects() -> None:
    here = _doc("file:///w/a.py", "x = 1\n")
    text = "".join(f"Rule {n}: keep functions short.\n" for n in range(200))
    sources = Sources(instructions=("file:///w/AGENTS.md", "AGENTS.md", text))
    pack = gather(Here(here, (0, 0), "x"), sources, Budgets(instructions=100))
    assert len(pack.pieces) == 1 and pack.tokens <= 100
    block = pack.render()
    assert block.startswith("The project's instructions, from AGENTS.md (written by the project")
    assert pack.receipts() == [
        {"uri": "file:///w/AGENTS.md", "source": "instructions", "tokens": pack.tokens}
    ]


def test_related_open_documents_send_outlines() -> None:
    docs = project_docs("shop")
    here = next(d for d in docs.values() if d.label.endswith("checkout.py"))
    others = [d for d in docs.values() if d is not here]
    pack = gather(Here(here, (0, 40), "x"), Sources(open_docs=others), Budgets(documents=400))
    labels = [p.label for p in pack.pieces]
    assert labels and all(p.source == "document" for p in pack.pieces)
    assert set(labels) <= {"shop/pricing.py", "shop/models.py", "shop/inventory.py",
                           "shop/reports.py"}  # fmt: skip
    assert pack.tokens <= 400


def test_snippets_are_masked_and_receipts_name_their_lines() -> None:
    key = "sk-" + "a1B2" * 8
    piece = Piece("file:///w/k.py", "k.py", 4, 6, f'KEY = "{key}"\n', "definition", "KEY")
    pack = ContextPack((piece,))
    mask = SecretMask()
    block = pack.render(mask.mask)
    assert key not in block and "GPT_LSP_SECRET_1" in block
    assert pack.receipts() == [
        {
            "uri": "file:///w/k.py",
            "source": "definition",
            "range": {"start": {"line": 4, "character": 0}, "end": {"line": 7, "character": 0}},
            "tokens": piece.tokens,
        }
    ]


def test_the_corpus_is_on_disk() -> None:
    assert {p.name for p in CORPUS.iterdir()} >= {"shop", "todo", "bank"}
