"""The names a selection uses and the modules a file imports (pure, by pattern: any language)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"(?<![\w$])([A-Za-z_$][\w$]*)(\s*\()?")
_STRINGS = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`[^`]*`")
_DEFINED = re.compile(r"\b(?:def|class|function|func|type|interface|enum)\s+([A-Za-z_$][\w$]*)")
_COMMENTS = re.compile(r"(?m)(?:#|//|--).*$")
_BOUND = re.compile(
    r"(?:\b(?:let|const|var|for)\s+([A-Za-z_$][\w$]*))"
    r"|(?:^|[;,(]|\s)([A-Za-z_$][\w$]*)[ \t]*(?::=|(?::[ \t]*[\w$.\[\], |]+)?=(?!=))",
    re.MULTILINE,
)
_IMPORTS = re.compile(
    r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))"  # Python
    r"|(?:import|export)[^'\"\n]*?from\s+['\"]([^'\"]+)['\"]"  # JS/TS
    r"|^\s*import\s+['\"]([^'\"]+)['\"]"  # JS side effects, Go single
    r"|^\s*(?:[\w.]+\s+)?\"([\w./-]+)\"\s*$",  # Go, inside an import ( ... ) block
    re.MULTILINE,
)
# `order: Order` (Python, TypeScript), `from, to *Account` (Go): a variable's declared type.
_TYPED = re.compile(r"([A-Za-z_$][\w$]*(?:\s*,\s*[A-Za-z_$][\w$]*)*)\s*:?\s+\*?([A-Z][\w$]*)")
_TYPED_COLON = re.compile(r"([A-Za-z_$][\w$]*)\s*:\s*([A-Z][\w$]*)")
_NAMED_IMPORTS = re.compile(
    r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(?:\(([\w\s,]+)\)|([\w \t,]+))"  # Python
    r"|import\s+(?:type\s+)?\{([^}]*)\}\s*from\s+['\"]([^'\"]+)['\"]",  # JS/TS
    re.MULTILINE,
)
MAX_NAMES = 64

# Words of the languages, and names every program has: never looked up.
_WORDS = """
    and as assert async await break case catch class const continue def default defer del
    delete do elif else enum except export extends false False final finally for from func
    function go goto if implements import in instanceof interface is lambda let map new nil
    None nonlocal not null of or package pass private protected public raise range return
    select self static struct super switch this throw true True try type typeof undefined
    var void while with yield chan fallthrough readonly declare keyof abstract print len int
    str float bool dict list set tuple object bytes string number boolean any unknown never
    Promise Array Object String Number Boolean Map Set Error console log append make cap
    copy panic recover error byte rune uint int64 int32 uint64 float64 float32 isinstance
    range enumerate zip sorted reversed min max sum abs open super Exception ValueError
    TypeError KeyError RuntimeError require module exports JSON Math Date RegExp fmt err ok
"""
COMMON = frozenset(_WORDS.split())


@dataclass(frozen=True)
class Used:
    """A name the selection uses: how it is used, and where it first appears."""

    name: str
    called: bool  # `name(`
    member: bool  # `.name`: a method or field of something
    order: int
    owner: str | None = None  # `order.total()` with `order: Order`: the type it is a member of


def names_used(text: str) -> list[Used]:
    """Returns the names a piece of code uses that it does not bind itself, in order of first
    use (calls and types before plain names); language words and built-ins left out."""
    code = _COMMENTS.sub("", _STRINGS.sub(_string_code, text))
    bound = {m.group(1) or m.group(2) for m in _BOUND.finditer(code)}
    defined = {m.group(1) for m in _DEFINED.finditer(code)}
    types = _typed_variables(code)
    seen: dict[str, Used] = {}
    for match in _IDENTIFIER.finditer(code):
        name, call = match.group(1), match.group(2)
        if name in COMMON or name in defined or len(name) < 2:
            continue
        before = code[max(0, match.start() - 80) : match.start()].rstrip()
        member = before[-1:] == "."
        owner = None
        if member:
            obj = re.search(r"([A-Za-z_$][\w$]*)\s*$", before[:-1])
            owner = types.get(obj.group(1)) if obj else None
        if not member and name in bound and not call:
            continue  # a local: `total = 0` ... `total`
        old = seen.get(name)
        if old is None:
            seen[name] = Used(name, bool(call), member, len(seen), owner)
        elif (call and not old.called) or (old.member and not member):
            called = old.called or bool(call)
            seen[name] = Used(name, called, old.member and member, old.order, old.owner or owner)
        if len(seen) >= MAX_NAMES * 2:
            break
    ranked = sorted(
        seen.values(), key=lambda u: (u.member, not (u.called or _typelike(u)), u.order)
    )
    return ranked[:MAX_NAMES]


def _typed_variables(code: str) -> dict[str, str]:
    """Returns the variables the code declares with a type: name -> type."""
    out: dict[str, str] = {}
    for pattern in (_TYPED, _TYPED_COLON):
        for match in pattern.finditer(code):
            for variable in match.group(1).split(","):
                out.setdefault(variable.strip(), match.group(2))
    return out


def _string_code(match: re.Match[str]) -> str:
    """A string literal's interpolations (f-strings, template literals) are code; the rest not."""
    text = match.group(0)
    return f" {' '.join(re.findall(r'{([^{}]*)}', text))} " if "{" in text else '""'


def _typelike(used: Used) -> bool:
    return used.name[:1].isupper()


def imported_modules(text: str) -> set[str]:
    """Returns the last parts of the modules a file imports (`from shop.pricing import` ->
    pricing, `from './pricing'` -> pricing, `"shop/pricing"` -> pricing)."""
    out: set[str] = set()
    for match in _IMPORTS.finditer(text):
        module = next((g for g in match.groups() if g), "")
        last = re.split(r"[./]", module.rstrip("/"))[-1] if module else ""
        if last:
            out.add(last)
    return out


def imported_names(text: str) -> dict[str, str]:
    """Returns the names a file imports by name, with the last part of their module:
    `from shop.pricing import apply_discount` -> {apply_discount: pricing}."""
    out: dict[str, str] = {}
    for match in _NAMED_IMPORTS.finditer(text):
        module = match.group(1) or match.group(5) or ""
        names = match.group(2) or match.group(3) or match.group(4) or ""
        last = re.split(r"[./]", module.rstrip("/"))[-1]
        for item in names.split(","):
            parts = item.split()
            if parts and last:
                out[parts[0]] = last  # `a as b`: the module defines a
    return out
