"""The shims' user-only key lists, generated from the settings schema.

    python scripts/shim_settings.py           rewrite the generated blocks in the shims
    python scripts/shim_settings.py --check   exit 1 when a block or package.json has drifted

`gpt_lsp/settings/models.py` says which top-level keys are the user's alone (USER_ONLY_KEYS).
Each shim keeps them out of the project-level `gptLsp` section it answers, from a list written
between `BEGIN user-only keys` and `END user-only keys` in its source: this script writes those
blocks. VS Code's package.json is not generated (its descriptions are translated prose): it is
checked against the schema, setting by setting (`package_problems`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's schema, not an installed one

from gpt_lsp.settings.models import (  # noqa: E402 - after the path above
    SHORTHAND_KEYS,
    USER_ONLY_KEYS,
    RelayConfig,
    Settings,
)

VSCODE = ROOT / "editors" / "vscode"
SECTION = "gptLsp"
WIDTH = 96
NOTE = "written by scripts/shim_settings.py from settings/models.py"


@dataclass(frozen=True)
class Shim:
    """A shim source file and how its block is written."""

    path: Path
    comment: str
    render: Callable[[Sequence[str]], str]


def _wrap(items: Iterable[str], indent: str) -> list[str]:
    """Items joined by spaces into lines of at most WIDTH characters, never split."""
    lines: list[str] = []
    for item in items:
        if lines and len(indent) + len(lines[-1]) + 1 + len(item) <= WIDTH:
            lines[-1] += " " + item
        else:
            lines.append(item)
    return lines


def lua(keys: Sequence[str]) -> str:
    """The Lua set: `local USER_ONLY = { baseUrl = true, ... }`."""
    lines = _wrap((f"{key} = true," for key in keys), "  ")
    return "local USER_ONLY = {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


def elisp(keys: Sequence[str]) -> str:
    """The Emacs Lisp list: `(defconst gpt-lsp--user-only-keys '("baseUrl" ...) DOC)`."""
    lines = _wrap((json.dumps(key) for key in keys), "    ")
    body = "\n    ".join(lines)
    doc = (
        '"Keys the server takes from user-level settings only.\n'
        'It ignores them in the gptLsp section, which a project can write."'
    )
    return f"(defconst gpt-lsp--user-only-keys\n  '({body})\n  {doc})\n"


def javascript(keys: Sequence[str]) -> str:
    """The JavaScript set: `const USER_ONLY = new Set([...]);`."""
    lines = _wrap((json.dumps(key) + "," for key in keys), "  ")
    return "const USER_ONLY = new Set([\n" + "".join(f"  {line}\n" for line in lines) + "]);\n"


SHIMS = (
    Shim(ROOT / "editors" / "nvim" / "lua" / "gpt_lsp" / "init.lua", "--", lua),
    Shim(ROOT / "editors" / "emacs" / "gpt-lsp.el", ";;", elisp),
    Shim(VSCODE / "extension.js", "//", javascript),
)


def block(shim: Shim, keys: Sequence[str] = USER_ONLY_KEYS) -> str:
    """The generated block of a shim, its BEGIN and END lines included."""
    c = shim.comment
    return f"{c} BEGIN user-only keys ({NOTE})\n{shim.render(keys)}{c} END user-only keys\n"


def with_block(text: str, shim: Shim, keys: Sequence[str] = USER_ONLY_KEYS) -> str:
    """Returns TEXT with its generated block rewritten; ValueError when it has none."""
    c = re.escape(shim.comment)
    pattern = re.compile(rf"^{c} BEGIN user-only keys.*?^{c} END user-only keys\n", re.M | re.S)
    found = pattern.findall(text)
    if len(found) != 1:
        raise ValueError(f"{shim.path.name}: {len(found)} user-only key blocks, wanted 1")
    return pattern.sub(lambda _m: block(shim, keys), text)


def drifted() -> list[str]:
    """The shim files whose block is not what the schema gives, or that have none."""
    out = []
    for shim in SHIMS:
        text = shim.path.read_text("utf-8")
        try:
            if with_block(text, shim) != text:
                out.append(f"{shim.path.relative_to(ROOT)}: its user-only keys differ")
        except ValueError as exc:
            out.append(str(exc))
    return out


# ---------------------------------------------------------------- package.json

# JSON-schema keywords compared between package.json and the schema, besides types, defaults,
# items and properties.
CONSTRAINTS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
)
NOT_DECLARED = {"apiKey"}
"""Schema keys package.json leaves out: VS Code keeps keys in its secret storage."""
USER_SCOPES = ("application", "machine")


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """One schema node flattened: $ref followed, anyOf merged into a set of types."""
    if "$ref" in node:
        return _resolve({**defs[node["$ref"].rsplit("/", 1)[1]], **_without(node, "$ref")}, defs)
    if "anyOf" in node:
        out: dict[str, Any] = {**_without(node, "anyOf"), "types": set()}
        for branch in node["anyOf"]:
            part = _resolve(branch, defs)
            out["types"] |= part.pop("types")
            out.update({k: v for k, v in part.items() if k not in ("title", "description")})
        return out
    kind = node.get("type")
    types = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    out = {**_without(node, "type"), "types": types}
    if "integer" in types and "exclusiveMinimum" in out:
        out["minimum"] = out.pop("exclusiveMinimum") + 1  # the same, as VS Code writes it
    return out


def _without(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != key}


def _declared_types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def compare(where: str, declared: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """What a package.json node says that its (resolved) schema node does not."""
    problems = []
    types, wanted = _declared_types(declared), schema["types"]
    if types - {"null"} != wanted - {"null"} or ("null" in types and "null" not in wanted):
        problems.append(f"{where}: type {sorted(types)}, the schema says {sorted(wanted)}")
    for keyword in CONSTRAINTS:
        if declared.get(keyword) != schema.get(keyword):
            problems.append(
                f"{where}: {keyword} {declared.get(keyword)!r}, "
                f"the schema says {schema.get(keyword)!r}"
            )
    if "default" in declared and not _same_default(declared["default"], schema):
        problems.append(
            f"{where}: default {declared['default']!r}, the schema says {schema.get('default')!r}"
        )
    if set(declared.get("required", [])) != set(schema.get("required", [])):
        problems.append(
            f"{where}: required {declared.get('required', [])}, "
            f"the schema says {schema.get('required', [])}"
        )
    for part in ("items", "additionalProperties"):
        inner = schema.get(part)
        if isinstance(inner, dict):
            got = declared.get(part)
            if not isinstance(got, dict):
                problems.append(f"{where}: no {part}, the schema has them")
            else:
                problems += compare(f"{where}.{part}", got, inner)
    if "properties" in schema:
        problems += _properties(where, declared.get("properties", {}), schema)
    return problems


def _properties(where: str, declared: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    problems = []
    fields = schema["properties"]
    for name, node in declared.items():
        if name not in fields:
            problems.append(f"{where}.{name}: no such setting in the schema")
        else:
            problems += compare(f"{where}.{name}", node, fields[name])
    for name in sorted(set(fields) - set(declared) - NOT_DECLARED):
        problems.append(f"{where}.{name}: in the schema, not declared")
    return problems


def _same_default(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a declared default means the schema's (VS Code writes "" or {} for unset)."""
    if "properties" in schema:
        return bool(value == {})  # an object of settings: each has its own default
    unset = schema.get("default") is None  # None, or required (a shorthand's baseUrl)
    if unset and (value is None or (value == "" and "string" in schema["types"])):
        return True
    return "default" in schema and bool(value == schema["default"])


def schema_keys() -> dict[str, dict[str, Any]]:
    """Every top-level key a user may write, resolved: Settings' and the relay shorthand."""
    settings = Settings.model_json_schema(by_alias=True)
    relay = RelayConfig.model_json_schema(by_alias=True)
    keys = {}
    for schema, names in ((settings, list(settings["properties"])), (relay, SHORTHAND_KEYS)):
        defs = schema.get("$defs", {})
        for name in names:
            keys[name] = resolve_all(_resolve(schema["properties"][name], defs), defs)
    return keys


def resolve_all(node: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved node with its items, additionalProperties and properties resolved too."""
    out = dict(node)
    for part in ("items", "additionalProperties"):
        if isinstance(out.get(part), dict):
            out[part] = resolve_all(_resolve(out[part], defs), defs)
    if "properties" in out:
        out["properties"] = {
            name: resolve_all(_resolve(inner, defs), defs)
            for name, inner in out["properties"].items()
        }
    return out


def client_only(extension: str) -> set[str]:
    """extension.js's CLIENT_ONLY: its own settings, which the server never sees."""
    found = re.search(r"const CLIENT_ONLY = new Set\(\[(.*?)\]\)", extension, re.S)
    return set(re.findall(r'"([^"]+)"', found.group(1))) if found else set()


def package_problems(manifest: Mapping[str, Any], extension: str) -> list[str]:
    """What package.json's settings say that the schema does not (empty: none)."""
    properties = manifest["contributes"]["configuration"]["properties"]
    keys = schema_keys()
    own = client_only(extension)
    problems = []
    declared = set()
    for full, node in properties.items():
        name = full.removeprefix(f"{SECTION}.")
        declared.add(name)
        if not ("markdownDescription" in node or "description" in node):
            problems.append(f"{full}: no description")
        if name in own:
            continue
        if name not in keys:
            problems.append(f"{full}: no such setting in the schema (nor in CLIENT_ONLY)")
            continue
        problems += compare(full, node, keys[name])
        scope = node.get("scope", "window")
        if name in USER_ONLY_KEYS and scope not in USER_SCOPES:
            problems.append(f"{full}: user-only, but its scope is {scope} (a workspace sets it)")
        if name not in USER_ONLY_KEYS and scope in USER_SCOPES:
            problems.append(f"{full}: a workspace may set it, but its scope is {scope}")
    for name in sorted(set(keys) - declared - NOT_DECLARED):
        problems.append(f"{SECTION}.{name}: in the schema, not declared in package.json")
    for name in sorted(own - declared):
        problems.append(f"{SECTION}.{name}: in CLIENT_ONLY, not declared in package.json")
    return problems


def vscode_problems() -> list[str]:
    """package_problems of the checkout's package.json and extension.js."""
    manifest = json.loads((VSCODE / "package.json").read_text("utf-8"))
    return package_problems(manifest, (VSCODE / "extension.js").read_text("utf-8"))


def main(argv: Sequence[str]) -> int:
    """Rewrites the blocks, or with --check reports what drifted."""
    if "--check" in argv:
        problems = drifted() + vscode_problems()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python scripts/shim_settings.py (and fix package.json)", file=sys.stderr)
        return 1 if problems else 0
    for shim in SHIMS:
        text = shim.path.read_text("utf-8")
        new = with_block(text, shim)
        if new != text:
            shim.path.write_text(new, "utf-8")
            print(f"wrote {shim.path.relative_to(ROOT)}")
    for problem in vscode_problems():
        print(f"package.json: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
