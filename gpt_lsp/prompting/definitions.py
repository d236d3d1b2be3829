"""The innermost function, method or class around a position: from the syntax (tree-sitter)
where a grammar ships as a wheel, from indentation and braces elsewhere.

Only the top-level block around the position is parsed (from the nearest line that starts at
column 0 above it to the next one below), so the cost does not grow with the file; the tree is
kept per document version, so listing code actions again at the same version parses nothing.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding, Pos, Span, chars_for_units

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

log = logging.getLogger(__name__)

# languageId (and file extension) -> (grammar module, function returning its language).
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "lua": ("tree_sitter_lua", "language"),
}
_EXTENSIONS = {
    "py": "python", "pyi": "python", "js": "javascript", "mjs": "javascript",
    "cjs": "javascript", "jsx": "javascriptreact", "ts": "typescript", "mts": "typescript",
    "tsx": "typescriptreact", "go": "go", "rs": "rust", "java": "java", "c": "c", "h": "c",
    "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp", "lua": "lua",
}  # fmt: skip
# Node types that are a function, method or class in some grammar above.
_DEFINITIONS = frozenset(
    [
        "function_definition",
        "class_definition",
        "function_declaration",
        "method_definition",
        "class_declaration",
        "abstract_class_declaration",
        "generator_function_declaration",
        "method_declaration",
        "constructor_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "function_item",
        "impl_item",
        "trait_item",
        "struct_item",
        "enum_item",
        "class_specifier",
        "struct_specifier",
    ]
)
# Nodes that wrap a definition and belong to it (decorators, `export`, `const f = () => {}`).
_WRAPPERS = frozenset({"decorated_definition", "export_statement"})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})
_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})
_ATTRIBUTES = frozenset({"attribute_item", "decorator", "annotation", "marker_annotation"})
_NAME_TYPES = frozenset(
    [
        "identifier",
        "field_identifier",
        "type_identifier",
        "qualified_identifier",
        "property_identifier",
        "dot_index_expression",
        "method_index_expression",
        "scoped_identifier",
        "destructor_name",
        "operator_name",
    ]
)
# Lines at column 0 that close or continue the statement above them.
_CONTINUES = re.compile(r"(?:end|else|elif|elseif|except|finally|until|catch)\b")
MAX_BLOCK_LINES = 20_000  # a top-level block larger than this is not parsed
_HEADER = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?:export|public|private|protected|static|async|pub|local|"
    r"abstract|final|override)\s+)*(?:def|class|function|func|fn|sub|proc|procedure|module|"
    r"interface|struct|impl|trait|defun|defn|fun)\b[\s*]*(?P<name>[A-Za-z_$][\w$.:]*)?"
)


@dataclass(frozen=True)
class Definition:
    """A definition around a position: its name and its whole lines."""

    name: str
    first_line: int  # decorators and annotations included
    last_line: int

    def span(self, doc: TextDoc) -> Span:
        """Returns the definition's whole lines as a span."""
        if self.last_line + 1 < len(doc.lines):
            return Span(Pos(self.first_line, 0), Pos(self.last_line + 1, 0))
        return Span(Pos(self.first_line, 0), Pos(self.last_line, 10**6))


@dataclass
class _Parsed:
    version: int
    first: int  # the block's first line in the document
    last: int
    root: Node


class Definitions:
    """Finds definitions; keeps the parsed block of each document for its version."""

    def __init__(self, parser_for: Callable[[str], Parser | None] | None = None) -> None:
        self._parser_for = parser_for or parser_for_language
        self._parsed: dict[str, _Parsed] = {}

    def find(self, doc: TextDoc, pos: Pos, encoding: Encoding) -> Definition | None:
        """Returns the innermost definition holding the position, or None."""
        if not 0 <= pos.line < len(doc.lines):
            return None
        language = language_of(doc)
        parser = self._parser_for(language) if language else None
        if parser is None:
            return by_indentation(doc, pos.line)
        first, last = top_level_block(doc, pos.line)
        if last - first > MAX_BLOCK_LINES:
            return by_indentation(doc, pos.line)
        parsed = self._parsed.get(doc.uri)
        if parsed is None or (parsed.version, parsed.first, parsed.last) != (
            doc.version,
            first,
            last,
        ):
            source = "".join(doc.lines[first : last + 1]).encode("utf-8", "surrogatepass")
            parsed = _Parsed(doc.version, first, last, parser.parse(source).root_node)
            self._parsed[doc.uri] = parsed
        line = doc.line_text(pos.line)
        column = len(line[: chars_for_units(line, pos.character, encoding)].encode("utf-8"))
        return _innermost(parsed.root, pos.line - first, column, first)

    def forget(self, uri: str) -> None:
        """Drops what is kept of a closed document."""
        self._parsed.pop(uri, None)


def language_of(doc: TextDoc) -> str | None:
    """Returns the grammar name for a document, from its languageId or its extension."""
    if doc.language_id in _GRAMMARS:
        return doc.language_id
    extension = doc.uri.rsplit(".", 1)[-1].lower() if "." in doc.uri else ""
    return _EXTENSIONS.get(extension)


_PARSERS: dict[str, Parser | None] = {}


def parser_for_language(language: str) -> Parser | None:
    """Returns a parser for a language, or None when its grammar wheel is missing."""
    if language not in _PARSERS:
        module_name, function = _GRAMMARS[language]
        try:
            import tree_sitter

            module = importlib.import_module(module_name)
            _PARSERS[language] = tree_sitter.Parser(
                tree_sitter.Language(getattr(module, function)())
            )
        except (ImportError, AttributeError, ValueError) as exc:
            log.info("no %s grammar (%s): definitions found by indentation", language, exc)
            _PARSERS[language] = None
    return _PARSERS[language]


def top_level_block(doc: TextDoc, line: int) -> tuple[int, int]:
    """Returns the lines of the top-level block holding a line: from the nearest line above
    that starts at column 0 (with the decorators and comments right above it) to the line
    before the next such line (a closing brace at column 0 belongs to the block)."""
    lines = doc.lines
    first = line
    while first > 0 and not _starts_block(lines[first]):
        first -= 1
    while first > 0 and lines[first - 1][:1] in ("@", "#", "/", "*") and lines[first - 1].strip():
        first -= 1  # decorators, annotations, attributes and comments belong to what follows
    last = line
    while last + 1 < len(lines) and not _starts_block(lines[last + 1]):
        last += 1
    return first, last


def _starts_block(text: str) -> bool:
    """True for a line that starts a top-level statement (not blank, not indented, not a
    closing bracket or `end`/`else`, not a comment or decorator that goes with the next line)."""
    if not text.strip() or text[:1] in (" ", "\t", "}", ")", "]", "@", "#", "/", "*"):
        return False
    return _CONTINUES.match(text) is None


def _innermost(root: Node, row: int, column: int, offset: int) -> Definition | None:
    node: Node | None = root.descendant_for_point_range((row, column), (row, column))
    while node is not None:
        if node.type in _DEFINITIONS or _is_function_declaration(node):
            outer = _wrapped(node)
            start = _with_attributes(outer)
            name = _name_of(node) or "definition"
            return Definition(name, start + offset, outer.end_point[0] + offset)
        node = node.parent
    return None


def _is_function_declaration(node: Node) -> bool:
    """`const f = () => {...}`: a declaration whose value is a function."""
    if node.type not in _DECLARATIONS:
        return False
    for child in node.named_children:
        value = child.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            return True
    return False


def _wrapped(node: Node) -> Node:
    """Returns the node with the wrappers that belong to it (decorators, export)."""
    parent = node.parent
    while parent is not None and (
        parent.type in _WRAPPERS or (node.type in _FUNCTION_VALUES and parent.type in _DECLARATIONS)
    ):
        node, parent = parent, parent.parent
    return node


def _with_attributes(node: Node) -> int:
    """Returns the first line of a node with the attributes right before it (Rust, C#)."""
    first = node.start_point[0]
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in _ATTRIBUTES and sibling.end_point[0] >= first - 1:
        first = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    return first


def _name_of(node: Node) -> str | None:
    """Returns a definition's name: its name field, the declarator's, or the declared one."""
    for _ in range(8):  # declarators nest: pointer -> function -> qualified name
        if node.type in _NAME_TYPES:
            return _text(node)
        named = node.child_by_field_name("name")
        if named is not None and named.type in _NAME_TYPES:
            return _text(named)
        inner = (
            node.child_by_field_name("declarator")
            or node.child_by_field_name("type")
            or _first_declarator(node)
        )
        if inner is None:
            return None
        node = inner
    return None


def _first_declarator(node: Node) -> Node | None:
    if node.type in _DECLARATIONS:
        for child in node.named_children:
            if child.type == "variable_declarator":
                return child
    return None


def _text(node: Node) -> str:
    raw: Any = node.text
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


# ---------------------------------------------------------------- without a grammar


def by_indentation(doc: TextDoc, line: int) -> Definition | None:
    """Finds a definition by its header line above (`def`, `function`, `fn`, ...) and its end
    by braces, or by indentation when the header opens no brace."""
    lines = doc.lines
    here = doc.line_text(line)
    here_indent = len(here) - len(here.lstrip(" \t")) if here.strip() else None
    for number in range(line, max(-1, line - 2000), -1):
        match = _HEADER.match(doc.line_text(number))
        if match is None:
            continue
        indent = len(match.group("indent"))
        if here_indent is not None and number != line and indent >= here_indent:
            continue  # a sibling or a nested definition above: not around the line
        last = _block_end(doc, number, indent)
        if last >= line:
            return Definition(match.group("name") or "definition", number, last)
        if indent == 0:
            return None
    del lines
    return None


def _block_end(doc: TextDoc, header: int, indent: int) -> int:
    depth = 0
    opened = False
    limit = min(len(doc.lines), header + MAX_BLOCK_LINES)
    for number in range(header, limit):
        text = doc.line_text(number)
        for char in text:
            if char == "{":
                depth += 1
                opened = True
            elif char == "}":
                depth -= 1
        if opened and depth <= 0:
            return number
        if not opened and number > header and text.strip():
            current = len(text) - len(text.lstrip(" \t"))
            if current <= indent and not text.lstrip().startswith(("end", ")", "]")):
                return _last_non_blank(doc, header, number - 1)
            if current <= indent:
                return number  # `end` closes Lua/Ruby blocks
    return _last_non_blank(doc, header, limit - 1)


def _last_non_blank(doc: TextDoc, first: int, last: int) -> int:
    while last > first and not doc.line_text(last).strip():
        last -= 1
    return last
