"""`gpt-lsp usage`: the ledger's totals per day, model, relay or action, as a table or JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gpt_lsp.accounting.ledger import Record, day_start
from gpt_lsp.i18n import N_, _, ljust, ngettext, rjust, width

GroupBy = Literal["model", "relay", "action", "day"]
# Column heads of the table (the --by value names the first column).
HEADS = {
    "day": N_("day"),
    "model": N_("model"),
    "relay": N_("relay"),
    "action": N_("action"),
    "requests": N_("requests"),
    "prompt": N_("prompt"),
    "completion": N_("completion"),
    "cost": N_("cost"),
    "quota": N_("quota"),
}


@dataclass
class Row:
    """Totals of one group."""

    key: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    quota: int = 0
    unpriced: int = 0
    estimated: int = 0

    def add(self, record: Record) -> None:
        """Counts one record."""
        self.requests += 1
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens
        self.cost_usd += record.cost_usd or 0.0
        self.quota += record.quota or 0
        self.unpriced += record.cost_usd is None
        self.estimated += record.estimated

    def as_json(self) -> dict[str, Any]:
        """Returns the row for scripts."""
        return {
            "key": self.key,
            "requests": self.requests,
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "costUsd": round(self.cost_usd, 6),
            "quota": self.quota,
            "unpriced": self.unpriced,
            "estimated": self.estimated,
        }


def group(records: Sequence[Record], by: GroupBy) -> tuple[list[Row], Row]:
    """Returns one row per group (largest cost first; days in order) and the total."""
    rows: dict[str, Row] = {}
    total = Row("total")
    for record in records:
        key = _key(record, by)
        rows.setdefault(key, Row(key)).add(record)
        total.add(record)
    ordered = sorted(rows.values(), key=lambda r: r.key if by == "day" else (-r.cost_usd, r.key))
    return ordered, total


def _key(record: Record, by: GroupBy) -> str:
    if by == "day":
        return time.strftime("%Y-%m-%d", time.localtime(record.at))
    return str(getattr(record, by))


def since(days: int, now: float | None = None) -> float:
    """Returns the start of the day `days - 1` days before today (days=1: today)."""
    start = day_start(now)
    for _day in range(max(0, days - 1)):
        start = day_start(start - 1)
    return start


def render_json(rows: list[Row], total: Row, *, start: float, days: int, by: GroupBy) -> str:
    """Returns the report as JSON."""
    payload = {
        "since": time.strftime("%Y-%m-%d", time.localtime(start)),
        "days": days,
        "by": by,
        "groups": [row.as_json() for row in rows],
        "total": total.as_json(),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)


def render_table(rows: list[Row], total: Row, *, start: float, days: int, by: GroupBy) -> str:
    """Returns the report as a table a person reads at a glance."""
    first = time.strftime("%Y-%m-%d", time.localtime(start))
    title = ngettext(
        "usage since {first} ({days} day), by {by}",
        "usage since {first} ({days} days), by {by}",
        days,
    )
    lines = [title.format(first=first, days=days, by=_(HEADS[by]))]
    if not total.requests:
        return "\n".join([*lines, _("no requests recorded")])
    keys = (by, "requests", "prompt", "completion", "cost", "quota")
    header = tuple(_(HEADS[key]) for key in keys)
    total_cells = (_("total"), *_cells(total)[1:])
    table = [header, *(_cells(row) for row in rows), total_cells]
    # Columns by terminal width: a Chinese head takes two columns a character.
    widths = [max(width(r[i]) for r in table) for i in range(len(header))]
    for number, cells in enumerate(table):
        if number == len(table) - 1:
            lines.append("  ".join("-" * w for w in widths))
        rest = zip(cells[1:], widths[1:], strict=True)
        parts = [ljust(cells[0], widths[0])] + [rjust(c, w) for c, w in rest]
        lines.append("  ".join(parts).rstrip())
    notes = []
    if total.estimated:
        note = ngettext(
            "~ estimated tokens ({count} request: the relay sent no usage)",
            "~ estimated tokens ({count} requests: the relay sent no usage)",
            total.estimated,
        )
        notes.append(note.format(count=total.estimated))
    if total.unpriced:
        note = ngettext(
            "{count} request to a model without a price is not in the cost",
            "{count} requests to models without a price are not in the cost",
            total.unpriced,
        )
        notes.append(note.format(count=total.unpriced))
    return "\n".join(lines + notes)


def _cells(row: Row) -> tuple[str, str, str, str, str, str]:
    approx = "~" if row.estimated else ""
    return (
        row.key,
        f"{row.requests:,}",
        f"{approx}{row.prompt_tokens:,}",
        f"{approx}{row.completion_tokens:,}",
        f"${row.cost_usd:.4f}",
        f"{row.quota:,}",
    )
