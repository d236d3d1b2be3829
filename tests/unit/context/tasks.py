"""The context corpus: small multi-file projects (Python, TypeScript, Go) and tasks whose needed
definitions are known; shared by the corpus tests and bench/workspace.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gpt_lsp.context.gather import Budgets, Doc, Here, Sources, gather
from gpt_lsp.context.index import FileEntry, WorkspaceIndex
from gpt_lsp.context.symbols import extract_symbols, language_of_path
from gpt_lsp.prompting.slicing import cut_slice
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span

CORPUS = Path(__file__).parents[2] / "context_corpus"


@dataclass(frozen=True)
class Task:
    """Work on one definition of a file; the definitions it needs (file:Name or
    file:Parent.name) and others that are fair to send."""

    project: str
    path: str
    target: str
    needed: frozenset[str]
    fair: frozenset[str] = field(default_factory=frozenset)


def _task(project: str, path: str, target: str, needed: str, fair: str = "") -> Task:
    return Task(project, path, target, frozenset(needed.split()), frozenset(fair.split()))


TASKS = [
    _task("shop", "shop/checkout.py", "order_total",
          "pricing.py:apply_discount pricing.py:round_money pricing.py:with_tax "
          "models.py:Order.total",
          "models.py:Order"),
    _task("shop", "shop/checkout.py", "reserve_all",
          "inventory.py:Stock.reserve inventory.py:OutOfStock",
          "models.py:Order inventory.py:Stock models.py:Item"),
    _task("shop", "shop/checkout.py", "receipt_line",
          "reports.py:format_amount models.py:Item.subtotal", "models.py:Item"),
    _task("shop", "shop/reports.py", "revenue", "models.py:Order.total", "models.py:Order"),
    _task("todo", "src/view.ts", "renderTodo",
          "types.ts:Todo format.ts:formatDate format.ts:truncate"),
    _task("todo", "src/view.ts", "summary",
          "store.ts:TodoStore.visible types.ts:Filter format.ts:pluralize", "store.ts:TodoStore"),
    _task("todo", "src/view.ts", "load", "http.ts:getJson store.ts:TodoStore.add",
          "types.ts:Todo store.ts:TodoStore"),
    _task("todo", "src/store.ts", "add", "types.ts:MAX_TITLE", "types.ts:Todo"),
    _task("bank", "transfer.go", "Transfer",
          "account.go:Account.Withdraw account.go:Account.Deposit ledger.go:Ledger.Record",
          "account.go:Account ledger.go:Ledger money.go:Cents"),
    _task("bank", "transfer.go", "Fee", "money.go:FromFloat", "money.go:Cents"),
    _task("bank", "account.go", "Withdraw", "money.go:Cents"),
    _task("bank", "ledger.go", "Record", "money.go:Cents"),
]  # fmt: skip


def project_docs(project: str) -> dict[str, Doc]:
    """Returns every source file of a corpus project as a Doc, by URI."""
    root = CORPUS / project
    docs: dict[str, Doc] = {}
    for path in sorted(root.rglob("*")):
        language = language_of_path(path.name)
        if language is None:
            continue
        data = path.read_bytes()
        lines = data.decode().splitlines(keepends=True)
        rel = path.relative_to(root).as_posix()
        uri = path.as_uri()
        docs[uri] = Doc(uri, rel, language, lines, extract_symbols(data, language))
    return docs


def project_index(docs: dict[str, Doc]) -> WorkspaceIndex:
    """Returns an index of the documents."""
    index = WorkspaceIndex()
    for doc in docs.values():
        index.put(FileEntry(doc.uri, doc.label, doc.language, 0, 0, tuple(doc.symbols)))
    return index


def run_task(
    task: Task, budgets: Budgets, *, open_all: bool = False, context_chars: int = 4000
) -> tuple[set[str], int]:
    """Gathers context for a task; returns the definitions sent (file:Name) and their tokens."""
    docs = project_docs(task.project)
    index = project_index(docs)
    here_uri = (CORPUS / task.project / task.path).as_uri()
    here = docs[here_uri]
    symbol = next(s for s in here.symbols if s.name == task.target)
    text_doc = TextDoc(here_uri, "".join(here.lines), 1, here.language)
    end = Pos(symbol.last + 1, 0) if symbol.last + 1 < len(here.lines) else Pos(symbol.last, 999)
    cut = cut_slice(text_doc, Span(Pos(symbol.first, 0), end), "utf-16", context_chars)
    shown = (
        symbol.first - cut.before.count("\n"),
        symbol.last + cut.after.count("\n"),
    )
    opened = [d for d in docs.values() if d.uri != here_uri] if open_all else []
    sources = Sources(open_docs=opened, index=index.lookup, load=docs.get)
    pack = gather(Here(here, shown, cut.selection), sources, budgets)
    sent = set()
    for piece in pack.pieces:
        if piece.source == "definition":
            sent.add(f"{piece.label.rsplit('/', 1)[-1]}:{piece.title}")
    return sent, pack.tokens


def score(
    budgets: Budgets, *, open_all: bool = False, context_chars: int = 4000
) -> dict[str, float]:
    """Returns recall (needed definitions sent), precision (sent ones needed or fair) and the
    mean tokens over every task."""
    needed = found = sent_total = fair = tokens = 0
    for task in TASKS:
        sent, used = run_task(task, budgets, open_all=open_all, context_chars=context_chars)
        needed += len(task.needed)
        found += len(task.needed & sent)
        sent_total += len(sent)
        fair += len(sent & (task.needed | task.fair))
        tokens += used
    return {
        "recall": found / needed,
        "precision": fair / sent_total if sent_total else 1.0,
        "tokens": tokens / len(TASKS),
    }
