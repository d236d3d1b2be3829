"""The UI language: gettext catalogs shipped in gpt_lsp/locale, English when none fits.

One server talks to one client, so the language is per process: the server sets it from the
`language` setting and the client's `locale` (initialize), the command line from the
environment. Strings marked with `_()` translate when they are shown; `N_()` marks a string
(a class attribute, a table entry) whose `_()` comes later. Catalogs are compiled from the
`.po` files by scripts/catalogs.py; a translator adds a language with one `.po` file.
"""

from __future__ import annotations

import gettext
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

DOMAIN = "gpt-lsp"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH = "en"
# Tags that mean the source language, or no language at all ("C", "POSIX").
_SOURCE_TAGS = frozenset({"en", "c", "posix"})
# The environment variables a command line reads, in gettext's order.
ENV_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH


def _(message: str) -> str:
    """Returns a message in the UI language."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Marks a message for translation where it is shown; returns it unchanged."""
    return message


def pgettext(context: str, message: str) -> str:
    """Returns a message in the UI language, for a word whose sense depends on `context`."""
    return _current.pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Returns the singular or plural form of a message in the UI language."""
    return _current.ngettext(singular, plural, n)


def language() -> str:
    """Returns the UI language in use: a catalog name such as zh_CN, or "en"."""
    return _language


def available() -> list[str]:
    """Returns the catalogs shipped (their directory names, e.g. zh_CN)."""
    if not LOCALE_DIR.is_dir():
        return []
    return sorted(
        p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()
    )


def catalog_for(tag: str | None) -> str | None:
    """Returns the catalog a language tag asks for ("en" for English), or None when the tag
    names a language gpt-lsp does not have.

    zh, zh-CN, zh_CN.UTF-8 and zh-Hans all find zh_CN: any region of a language falls back to
    the catalog of that language that exists.
    """
    if not isinstance(tag, str):
        return None
    cleaned = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_")
    if not cleaned:
        return None
    lang, _sep, region = cleaned.partition("_")
    lang = lang.lower()
    if lang in _SOURCE_TAGS:
        return ENGLISH
    shipped = available()
    for wanted in (f"{lang}_{region.upper()}" if region else "", lang):
        if wanted and wanted in shipped:
            return wanted
    return next((name for name in shipped if name.split("_", 1)[0].lower() == lang), None)


def choose(tags: Iterable[str | None]) -> str:
    """Returns the catalog of the first tag gpt-lsp has a language for, else English."""
    for tag in tags:
        for part in (tag or "").split(":"):  # LANGUAGE is a list: zh_CN:en
            found = catalog_for(part)
            if found is not None:
                return found
    return ENGLISH


def set_language(*tags: str | None) -> str:
    """Sets the UI language from the first tag it has a catalog for; returns the one chosen."""
    global _current, _language
    chosen = choose(tags)
    if chosen == _language:
        return chosen
    if chosen == ENGLISH:
        _current = gettext.NullTranslations()
    else:
        _current = gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    _language = chosen
    return chosen


def environ_language(environ: Mapping[str, str]) -> str | None:
    """Returns the language a command line's environment asks for (LANGUAGE, LC_ALL,
    LC_MESSAGES, LANG); None when unset or C / POSIX, which name no language."""
    # The first variable set decides, as in gettext: LC_ALL=C wins over LANG=zh_CN.
    first = next((environ[name] for name in ENV_VARIABLES if environ.get(name)), None)
    if first is None or first.split(".", 1)[0].split("@", 1)[0].upper() in ("C", "POSIX"):
        return None
    return first


def set_language_from_environ(environ: Mapping[str, str], setting: str | None = None) -> str:
    """Sets a command line's UI language: the environment's, else the `language` setting."""
    return set_language(environ_language(environ), setting)


def width(text: str) -> int:
    """Returns the columns text takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ljust(text: str, columns: int) -> str:
    """Pads text on the right to `columns` terminal columns."""
    return text + " " * max(0, columns - width(text))


def rjust(text: str, columns: int) -> str:
    """Pads text on the left to `columns` terminal columns."""
    return " " * max(0, columns - width(text)) + text
