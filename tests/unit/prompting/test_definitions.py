"""The definition around a cursor: from the syntax in each language with a grammar wheel, from
indentation and braces elsewhere; and the code actions a bare cursor offers."""

from __future__ import annotations

import pytest

from gpt_lsp.prompting.definitions import Definitions, by_indentation, top_level_block
from gpt_lsp.prompting.offers import list_offers
from gpt_lsp.settings import Settings
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos, Span

# (languageId, source, cursor (line, character), expected name, first line, last line)
CASES = [
    (
        "python",
        "import os\n\n@cache\ndef total(items):\n    return sum(items)\n\nx = 1\n",
        (4, 8),
        "total",
        2,
        4,
    ),
    (
        "python",
        "class Cart:\n    def add(self, item):\n        self.items.append(item)\n\n"
        "    def n(self):\n        return 1\n",
        (2, 10),
        "add",
        1,
        2,
    ),
    ("python", "class Cart:\n    x = 1\n\n    def n(self):\n        pass\n", (1, 4), "Cart", 0, 4),
    (
        "javascript",
        "const a = 1;\nconst total = (items) => {\n"
        "  return items.reduce((s, x) => s + x, 0);\n};\n",
        (2, 20),
        "total",
        1,
        3,
    ),
    (
        "typescript",
        "export function total(items: number[]): number {\n  return 0;\n}\n",
        (1, 4),
        "total",
        0,
        2,
    ),
    (
        "typescriptreact",
        "class View {\n  render() {\n    return 1;\n  }\n}\n",
        (2, 4),
        "render",
        1,
        3,
    ),
    ("go", "package m\n\nfunc (c *Cart) Total() int {\n\treturn 0\n}\n", (3, 2), "Total", 2, 4),
    (
        "rust",
        "impl Cart {\n    #[inline]\n    fn total(&self) -> i32 {\n        0\n    }\n}\n",
        (3, 8),
        "total",
        1,
        4,
    ),
    (
        "java",
        "class Cart {\n  @Override\n  public int total() {\n    return 0;\n  }\n}\n",
        (3, 4),
        "total",
        1,
        4,
    ),
    (
        "c",
        "#include <stdio.h>\n\nstatic int total(int *a) {\n  return 0;\n}\n",
        (3, 2),
        "total",
        2,
        4,
    ),
    ("cpp", "int Cart::total() const {\n  return 0;\n}\n", (1, 2), "Cart::total", 0, 2),
    (
        "lua",
        "local M = {}\nfunction M.total(items)\n  return 0\nend\nreturn M\n",
        (2, 2),
        "M.total",
        1,
        3,
    ),
]


@pytest.mark.parametrize(("language", "source", "cursor", "name", "first", "last"), CASES)
def test_the_innermost_definition_from_the_syntax(
    language: str, source: str, cursor: tuple[int, int], name: str, first: int, last: int
) -> None:
    doc = TextDoc("file:///w/demo", source, 1, language)
    found = Definitions().find(doc, Pos(*cursor), "utf-16")
    assert found is not None
    assert (found.name, found.first_line, found.last_line) == (name, first, last)


def test_outside_any_definition_there_is_none() -> None:
    doc = TextDoc("file:///w/a.py", "import os\n\nx = 1\n\ndef f():\n    pass\n", 1, "python")
    assert Definitions().find(doc, Pos(2, 2), "utf-16") is None


def test_the_extension_picks_the_grammar_when_the_language_id_is_unknown() -> None:
    doc = TextDoc("file:///w/a.go", "package m\n\nfunc Add() int {\n\treturn 1\n}\n", 1, "golang")
    found = Definitions().find(doc, Pos(3, 1), "utf-16")
    assert found is not None and found.name == "Add"


def test_a_parse_is_kept_for_the_document_version() -> None:
    calls: list[str] = []
    real = Definitions()

    def counting(language: str):  # type: ignore[no-untyped-def]
        calls.append(language)
        from gpt_lsp.prompting.definitions import parser_for_language

        return parser_for_language(language)

    finder = Definitions(counting)
    doc = TextDoc("file:///w/a.py", "def f():\n    return 1\n", 1, "python")
    assert finder.find(doc, Pos(1, 4), "utf-16") == real.find(doc, Pos(1, 4), "utf-16")
    parsed = finder._parsed[doc.uri]
    finder.find(doc, Pos(0, 1), "utf-16")
    assert finder._parsed[doc.uri] is parsed  # same version and block: not parsed again
    doc.version = 2
    finder.find(doc, Pos(0, 1), "utf-16")
    assert finder._parsed[doc.uri] is not parsed


def test_only_the_top_level_block_is_parsed() -> None:
    body = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(1000))
    doc = TextDoc("file:///w/big.py", body, 1, "python")
    assert top_level_block(doc, 1501) == (1500, 1502)
    found = Definitions().find(doc, Pos(1501, 6), "utf-16")
    assert found is not None and (found.name, found.first_line, found.last_line) == (
        "f500",
        1500,
        1501,
    )


@pytest.mark.parametrize(
    ("source", "line", "name", "first", "last"),
    [
        ("x = 1\ndef total(items):\n    a = 1\n\n    return a\ny = 2\n", 4, "total", 1, 4),
        (
            "fun total(a: Int): Int {\n    if (a > 0) {\n        return a\n    }\n"
            "    return 0\n}\n",
            3,
            "total",
            0,
            5,
        ),
        ("sub total {\n  my $x = 1;\n}\n", 1, "total", 0, 2),
        ("def total\n  1\nend\n", 1, "total", 0, 2),
    ],
)
def test_without_a_grammar_indentation_and_braces(
    source: str, line: int, name: str, first: int, last: int
) -> None:
    doc = TextDoc("file:///w/demo.unknown", source, 1, "plaintext")
    found = by_indentation(doc, line)
    assert found is not None
    assert (found.name, found.first_line, found.last_line) == (name, first, last)
    assert Definitions().find(doc, Pos(line, 0), "utf-16") == found


def test_a_bare_cursor_offers_the_built_ins_on_the_definition() -> None:
    source = "import os\n\ndef total(items):\n    return sum(items)\n\nx = 1\n"
    doc = TextDoc("file:///w/a.py", source, 1, "python")
    cursor = Span(Pos(3, 4), Pos(3, 4))
    definition = Definitions().find(doc, cursor.start, "utf-16")
    offers = list_offers(doc, cursor, [], Settings(), definition=definition)
    assert [o.title for o in offers] == [
        "AI: Refactor total",
        "AI: Document total",
        "AI: Explain total",
    ]
    assert offers[0].arguments["range"] == {
        "start": {"line": 2, "character": 0},
        "end": {"line": 4, "character": 0},
    }
    diagnostic = {
        "range": {"start": {"line": 3, "character": 4}, "end": {"line": 3, "character": 7}},
        "message": "bad",
    }
    with_fix = list_offers(doc, cursor, [diagnostic], Settings(), definition=definition)
    assert "AI: Fix total" in [o.title for o in with_fix]
    outside = list_offers(
        doc, Span(Pos(5, 0), Pos(5, 0)), [diagnostic], Settings(), definition=None
    )
    assert [o.title for o in outside] == ["AI: Fix"]
    assert list_offers(doc, Span(Pos(5, 0), Pos(5, 0)), [], Settings(), definition=None) == []
