"""The VS Code extension's own words in Chinese: every string it passes to vscode.l10n.t has a
zh-cn translation with the same placeholders, and every %key% of package.json is in
package.nls.json and package.nls.zh-cn.json. (No editor needed: a check of the files.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"
# t("...") calls; a JS double-quoted literal is a JSON string for these (no \x or \u{...}).
T_CALL = re.compile(r'\bt\(\s*("(?:[^"\\]|\\.)*")')
PLACEHOLDER = re.compile(r"\{\d+\}")


def messages() -> set[str]:
    found: set[str] = set()
    for name in ("extension.js", "review.js", "output.js", "chat.js"):
        text = (EXTENSION / name).read_text("utf-8")
        found |= {json.loads(m[1]) for m in T_CALL.finditer(text)}
    return found


def test_every_message_has_a_chinese_translation_with_its_placeholders() -> None:
    bundle = json.loads((EXTENSION / "l10n" / "bundle.l10n.zh-cn.json").read_text("utf-8"))
    wanted = messages()
    assert len(wanted) > 50, wanted  # the extraction found the calls
    assert sorted(wanted - set(bundle)) == []
    assert sorted(set(bundle) - wanted) == []  # no stale entries
    for english, chinese in bundle.items():
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(chinese)), english
        assert chinese.strip() and chinese != english, english


def test_package_json_strings_are_in_both_nls_files() -> None:
    package = (EXTENSION / "package.json").read_text("utf-8")
    keys = set(re.findall(r'"%([\w.]+)%"', package))
    english = json.loads((EXTENSION / "package.nls.json").read_text("utf-8"))
    chinese = json.loads((EXTENSION / "package.nls.zh-cn.json").read_text("utf-8"))
    assert len(keys) > 40, keys
    assert set(english) == keys and set(chinese) == keys
    assert json.loads(package)["l10n"] == "./l10n"
    # Every command title and setting description goes through the nls files.
    contributes = json.loads(package)["contributes"]
    assert all(c["title"].startswith("%") for c in contributes["commands"])
