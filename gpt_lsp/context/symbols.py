"""The definitions of a source file, with their spans, from tree-sitter (pure but for parsing).

Each definition keeps its whole lines and the lines of its compact form: the signature and the
docstring or doc comment; a class's compact form also has its members' signatures. Context
packing sends compact forms first and bodies when the budget allows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpt_lsp.prompting.definitions import parser_for_language

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript", ".mts": "typescript",
    ".cts": "typescript", ".tsx": "typescriptreact", ".go": "go", ".rs": "rust",
    ".java": "java", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp",
    ".hpp": "cpp", ".hh": "cpp", ".lua": "lua",
}  # fmt: skip
"""File extensions of the languages whose definitions are indexed (a grammar wheel each)."""
COMMENT = {"python": "#", "lua": "--"}  # others: //
MAX_DEPTH = 6  # classes in classes in functions: deeper definitions are not indexed
MAX_VARIABLE_LINES = 30  # a module-level value longer than this shows its first line only

_FUNCTIONS = frozenset(
    {
        "function_definition",
        "function_declaration",
        "generator_function_declaration",
        "method_definition",
        "method_declaration",
        "constructor_declaration",
        "function_item",
        "abstract_method_signature",
        "function_signature",  # TypeScript `declare function f(): T;`, ambient modules
    }
)
_CLASSES = frozenset(
    {
        "class_definition",
        "class_declaration",
        "abstract_class_declaration",
        "impl_item",
        "trait_item",
        "class_specifier",
    }
)
_TYPES = frozenset(
    {
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "struct_item",
        "enum_item",
        "type_item",
        "record_declaration",
        "struct_specifier",
    }
)
_WRAPPERS = frozenset({"decorated_definition", "export_statement"})
# Python blocks whose definitions are the enclosing scope's (conditional imports, fallbacks).
_BLOCKS = frozenset(
    {
        "if_statement",
        "elif_clause",
        "else_clause",
        "try_statement",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "with_statement",
        "block",
    }
)
_NAMESPACES = frozenset({"internal_module", "module"})  # TypeScript `namespace`, `module`
_NAMESPACE_WRAPPERS = frozenset({"export_statement", "ambient_declaration", "expression_statement"})
_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})
_GO_SPECS = frozenset({"type_declaration", "const_declaration", "var_declaration"})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})
_FIELDS = frozenset({"public_field_definition", "field_definition"})
_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
_ATTRIBUTES = frozenset({"decorator", "attribute_item", "annotation", "marker_annotation"})


@dataclass(frozen=True)
class Symbol:
    """A definition in a file: name, kind, whole lines, and its compact form's lines."""

    name: str
    kind: str  # function | class | method | type | variable
    first: int  # doc comments, decorators and `export` included
    last: int
    outline: tuple[tuple[int, int], ...]  # line ranges of the compact form, in order
    parent: str | None = None  # the class (or Go receiver type) of a method

    @property
    def compact_lines(self) -> int:
        """Returns how many lines the compact form has."""
        return sum(b - a + 1 for a, b in self.outline)

    @property
    def is_compact_whole(self) -> bool:
        """True when the compact form is the whole definition."""
        return self.outline == ((self.first, self.last),)


def language_of_path(path: str) -> str | None:
    """Returns the grammar name for a file path, by its extension."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


def extract_symbols(
    source: bytes,
    language: str,
    parser_for: Callable[[str], Parser | None] = parser_for_language,
) -> list[Symbol]:
    """Returns a file's definitions (nested ones after their parent); [] without a grammar."""
    parser = parser_for(language)
    if parser is None:
        return []
    root = parser.parse(source).root_node
    out: list[Symbol] = []
    _collect(root, language, None, 0, out)
    return out


def _collect(node: Node, language: str, parent: str | None, depth: int, out: list[Symbol]) -> None:
    if depth > MAX_DEPTH:
        return
    for child in node.named_children:
        if child.type in _BLOCKS:  # `if TYPE_CHECKING:`, `try: ... except ImportError: def f`
            _collect(child, language, parent, depth + 1, out)
            continue
        space = _namespace(child)
        if space is not None:
            inside, name = space
            _collect(inside, language, name or parent, depth + 1, out)
            continue
        for symbol, body in _definitions(child, language, parent):
            out.append(symbol)
            if body is not None and symbol.kind == "class":
                _collect(body, language, symbol.name, depth + 1, out)


def _namespace(node: Node) -> tuple[Node, str | None] | None:
    """A TypeScript `namespace N { }` (its members' owner N, as `N.f()` names them) or
    `declare module "m" { }` (no owner: its members are imported by name): body and name."""
    for _ in range(3):  # export_statement / ambient_declaration / expression_statement
        if node.type in _NAMESPACES:
            body = node.child_by_field_name("body")
            named = node.child_by_field_name("name")
            if body is None:
                return None
            if named is not None and named.type in ("identifier", "nested_identifier"):
                return body, _text(named)
            return body, None
        if node.type not in _NAMESPACE_WRAPPERS or not node.named_children:
            return None
        node = node.child_by_field_name("declaration") or node.named_children[0]
    return None


def _definitions(node: Node, language: str, parent: str | None) -> list[tuple[Symbol, Node | None]]:
    """Returns the definitions a node holds, each with the body to look for members in."""
    outer = node
    while node.type in _WRAPPERS:
        inner = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
        if inner is None:
            return []
        node = inner
    first = _first_line(outer)
    kind = node.type
    if kind in _FUNCTIONS or kind in _CLASSES or kind in _TYPES:
        name = _name(node)
        if name is None:
            return []
        body = node.child_by_field_name("body")
        if kind in _CLASSES:
            symbol_kind = "class"
        elif kind in _TYPES:
            symbol_kind = "type"
        else:
            symbol_kind = "method" if parent or kind == "method_declaration" else "function"
        owner = parent or (_receiver(node) if kind == "method_declaration" else None)
        outline = _outline(node, first, body, symbol_kind, language)
        symbol = Symbol(name, symbol_kind, first, outer.end_point[0], outline, owner)
        return [(symbol, body)]
    if kind in _DECLARATIONS or kind in _GO_SPECS or kind in _FIELDS:
        return _declared(node, outer, first, parent)
    if kind == "expression_statement" and language == "python" and parent is None:
        return _assigned(node, first)
    return []


def _first_line(node: Node) -> int:
    """Returns a definition's first line with the comments and attributes right above it."""
    first = node.start_point[0]
    sibling = node.prev_named_sibling
    while (
        sibling is not None
        and (sibling.type in _COMMENTS or sibling.type in _ATTRIBUTES)
        and sibling.end_point[0] >= first - 1
    ):
        first = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    return first


def _outline(
    node: Node, first: int, body: Node | None, kind: str, language: str
) -> tuple[tuple[int, int], ...]:
    """Returns the compact form's lines: header and docstring; a class's member signatures."""
    last = node.end_point[0]
    if kind == "type" or body is None:
        return ((first, last),)
    head = body.start_point[0]
    if language == "python":
        head = (
            max(head - 1, node.start_point[0])
            if body.start_point[0] > node.start_point[0]
            else head
        )
        doc = _python_docstring(body)
        if doc is not None:
            head = doc.end_point[0]
    if head >= last - 1:
        return ((first, last),)
    ranges = [(first, head)]
    if kind == "class":
        for member in body.named_children:
            inner = member
            while inner.type in _WRAPPERS:
                found = inner.child_by_field_name("definition")
                if found is None:
                    break
                inner = found
            if inner.type == "expression_statement" and language == "python":
                start, end = member.start_point[0], member.end_point[0]
                if start > ranges[-1][1] and end - start < 3:  # fields: `items: list[Item]`
                    ranges.append((start, end))
            elif inner.type in _FUNCTIONS or inner.type in _FIELDS:
                start = _first_line(member)
                inner_body = inner.child_by_field_name("body")
                end = inner.end_point[0] if inner_body is None else inner_body.start_point[0]
                if language == "python" and inner_body is not None:
                    if inner_body.start_point[0] > inner.start_point[0]:
                        end = inner_body.start_point[0] - 1
                    doc = _python_docstring(inner_body)
                    if doc is not None:
                        end = doc.end_point[0]
                if start > ranges[-1][1]:
                    ranges.append((start, max(start, end)))
    return tuple(ranges)


def _python_docstring(body: Node) -> Node | None:
    first = body.named_children[0] if body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return None
    return first if first.named_children[0].type == "string" else None


def _declared(
    node: Node, outer: Node, first: int, parent: str | None
) -> list[tuple[Symbol, Node | None]]:
    """`const f = () => {}`, `var X = 1`, Go's `type T struct`, `const`, `var`, class fields."""
    out: list[tuple[Symbol, Node | None]] = []
    specs = [c for c in node.named_children if c.type.endswith(("_spec", "declarator"))]
    if node.type in _FIELDS:
        specs = [node]
    for spec in specs:
        name = _name(spec)
        if name is None:
            continue
        value = spec.child_by_field_name("value")
        kind = "variable"
        last = outer.end_point[0]
        outline = ((first, last),)
        if value is not None and value.type in _FUNCTION_VALUES:
            kind = "function"
            body = value.child_by_field_name("body")
            if body is not None and body.start_point[0] < last - 1:
                outline = ((first, body.start_point[0]),)
        elif spec.type == "type_spec":
            kind = "type"
        elif last - first > MAX_VARIABLE_LINES:
            outline = ((first, spec.start_point[0]),)
        if parent is not None:
            kind = "method" if kind == "function" else "field"
        out.append((Symbol(name, kind, first, last, outline, parent), None))
    return out


def _assigned(node: Node, first: int) -> list[tuple[Symbol, Node | None]]:
    """A Python module-level `NAME = value` (or annotated)."""
    assignment = node.named_children[0] if node.named_children else None
    if assignment is None or assignment.type != "assignment":
        return []
    left = assignment.child_by_field_name("left")
    if left is None or left.type != "identifier":
        return []
    last = node.end_point[0]
    outline = ((first, last),) if last - first <= MAX_VARIABLE_LINES else ((first, first),)
    return [(Symbol(_text(left), "variable", first, last, outline), None)]


def _name(node: Node) -> str | None:
    for _ in range(6):  # declarators nest: pointer -> function -> qualified name
        named = node.child_by_field_name("name")
        if named is not None:
            if named.type in ("identifier", "type_identifier", "field_identifier",
                              "property_identifier", "constant"):  # fmt: skip
                return _text(named)
            node = named
            continue
        inner = node.child_by_field_name("declarator")
        if inner is None:
            return _text(node) if node.type in ("identifier", "field_identifier") else None
        node = inner
    return None


def _receiver(node: Node) -> str | None:
    """Returns a Go method's receiver type name: `func (o *Order) Total()` -> Order."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    stack = [receiver]
    for _ in range(32):
        if not stack:
            break
        current = stack.pop()
        if current.type == "type_identifier":
            return _text(current)
        stack.extend(reversed(current.named_children))
    return None


def _text(node: Node) -> str:
    raw: Any = node.text
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
