"""The UI catalogs: extract the messages from gpt_lsp into gpt-lsp.pot, compile every .po.

    python scripts/catalogs.py           rewrite gpt_lsp/locale/gpt-lsp.pot and every .mo
    python scripts/catalogs.py --check   exit 1 when the .pot or a .mo is out of date

A translator copies gpt-lsp.pot to gpt_lsp/locale/<lang>/LC_MESSAGES/gpt-lsp.po, fills the
msgstr lines, and runs this script. Compiling follows CPython's Tools/i18n/msgfmt.py (fuzzy
and empty entries are left out), with a fixed byte order so the output is the same on every
machine; only the standard library is used.
"""

from __future__ import annotations

import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gpt_lsp"
LOCALE = PACKAGE / "locale"
DOMAIN = "gpt-lsp"
# function name -> string arguments it takes (pgettext: the context, then the message)
MARKERS = {"_": 1, "N_": 1, "ngettext": 2, "pgettext": 2}
MO_MAGIC = 0x950412DE

Key = tuple[str | None, str, str | None]  # (msgctxt, msgid, msgid_plural)


@dataclass
class Message:
    """One message found in the code: its context, id, plural form and where it is used."""

    context: str | None
    msgid: str
    plural: str | None = None
    places: list[str] = field(default_factory=list)


def extract(package: Path = PACKAGE) -> dict[Key, Message]:
    """Returns every literal passed to _(), N_(), ngettext() or pgettext() in the package."""
    found: dict[Key, Message] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
            if not isinstance(node.func, ast.Name):
                continue
            wanted = MARKERS.get(node.func.id)
            if wanted is None:
                continue
            args = node.args[:wanted]
            if len(args) < wanted or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
            ):
                continue  # _(variable): the literal was marked with N_() where it is written
            texts = [a.value for a in args if isinstance(a, ast.Constant)]
            if node.func.id == "pgettext":
                key: Key = (texts[0], texts[1], None)
            else:
                key = (None, texts[0], texts[1] if wanted == 2 else None)
            message = found.setdefault(key, Message(*key))
            # Files, not lines: the template must not go stale at every edit above a message.
            place = str(path.relative_to(package.parent))
            if place not in message.places:
                message.places.append(place)
    return found


def parse_po(text: str) -> dict[Key, list[str]]:
    """Returns a .po file's translations: (msgid, plural) -> msgstr forms; fuzzy ones left out."""
    entries: dict[Key, list[str]] = {}
    entry: dict[str, str] = {}
    fuzzy = False
    current: str | None = None

    def flush() -> None:
        nonlocal entry, fuzzy, current
        if "msgid" in entry and not fuzzy:
            forms = [entry[k] for k in sorted(entry, key=_form_index) if k.startswith("msgstr")]
            key = (entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural"))
            if any(forms) or key[1] == "":
                entries[key] = forms
        entry, fuzzy, current = {}, False, None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if current is not None and current.startswith("msgstr"):
                flush()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"line {number}: a string outside an entry")
            entry[current] += _unquote(line, number)
            continue
        keyword, _sep, rest = line.partition(" ")
        if keyword in ("msgid", "msgctxt") and current is not None and current.startswith("msgstr"):
            flush()
        if keyword not in ("msgid", "msgid_plural", "msgctxt") and not keyword.startswith("msgstr"):
            raise ValueError(f"line {number}: unknown keyword {keyword}")
        current = keyword
        entry[keyword] = _unquote(rest.strip(), number)
    flush()
    return entries


def _form_index(keyword: str) -> int:
    return int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0


def _unquote(text: str, number: int) -> str:
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"line {number}: expected a quoted string")
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def compile_mo(entries: dict[Key, list[str]]) -> bytes:
    """Returns the .mo bytes of a catalog (little-endian, keys sorted, no hash table)."""
    messages: dict[bytes, bytes] = {}
    for (context, msgid, plural), forms in entries.items():
        key = msgid if plural is None else f"{msgid}\0{plural}"
        key = key if context is None else f"{context}\x04{key}"
        messages[key.encode("utf-8")] = "\0".join(forms).encode("utf-8")
    keys = sorted(messages)
    ids = strs = b""
    spans = []
    for key in keys:
        spans.append((len(ids), len(key), len(strs), len(messages[key])))
        ids += key + b"\0"
        strs += messages[key] + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_table: list[int] = []
    value_table: list[int] = []
    for id_at, id_len, str_at, str_len in spans:
        key_table += [id_len, id_at + key_start]
        value_table += [str_len, str_at + value_start]
    header = struct.pack("<7I", MO_MAGIC, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    table = struct.pack(f"<{len(key_table) + len(value_table)}I", *key_table, *value_table)
    return header + table + ids + strs


POT_HEADER = """\
# Messages of gpt-lsp's user interface. Written by scripts/catalogs.py: do not edit;
# copy it to gpt_lsp/locale/<lang>/LC_MESSAGES/gpt-lsp.po to add a language.
msgid ""
msgstr ""
"Project-Id-Version: gpt-lsp\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"
"""


def render_pot(messages: dict[Key, Message]) -> str:
    """Returns the template a translator starts a .po file from."""
    blocks = [POT_HEADER]
    for message in messages.values():
        lines = ["#: " + " ".join(message.places)]
        if "{" in message.msgid:
            lines.append("#, python-brace-format")
        if message.context is not None:
            lines.append(f"msgctxt {_quote(message.context)}")
        lines.append(f"msgid {_quote(message.msgid)}")
        if message.plural is None:
            lines.append('msgstr ""')
        else:
            lines += [f"msgid_plural {_quote(message.plural)}", 'msgstr[0] ""', 'msgstr[1] ""']
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\t", "\\t") + '"'


def po_files() -> list[Path]:
    """Returns every language's .po file."""
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def main(argv: list[str]) -> int:
    """Writes (or with --check, verifies) the template and the compiled catalogs."""
    check = "--check" in argv
    wanted = {LOCALE / f"{DOMAIN}.pot": render_pot(extract()).encode("utf-8")}
    for po in po_files():
        wanted[po.with_suffix(".mo")] = compile_mo(parse_po(po.read_text("utf-8")))
    stale = [
        path for path, data in wanted.items() if not path.is_file() or path.read_bytes() != data
    ]
    for path in stale:
        if check:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        else:
            path.write_bytes(wanted[path])
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
