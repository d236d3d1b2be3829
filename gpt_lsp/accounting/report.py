"""`gpt-lsp usage`: the ledger's totals per day, model, relay or action, as a table or JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gpt_lsp.accounting.ledger import Record, day_start

GroupBy = Literal["model", "relay", "action", "day"]


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
    for _ in range(max(0, days - 1)):
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
    plural = "s" if days != 1 else ""
    lines = [f"usage since {first} ({days} day{plural}), by {by}"]
    if not total.requests:
        return "\n".join([*lines, "no requests recorded"])
    header = (by, "requests", "prompt", "completion", "cost", "quota")
    table = [header, *(_cells(row) for row in rows), _cells(total)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for number, cells in enumerate(table):
        if number == len(table) - 1:
            lines.append("  ".join("-" * w for w in widths))
        rest = zip(cells[1:], widths[1:], strict=True)
        parts = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in rest]
        lines.append("  ".join(parts).rstrip())
    notes = []
    if total.estimated:
        notes.append(f"~ estimated tokens ({total.estimated} requests: the relay sent no usage)")
    if total.unpriced:
        notes.append(f"{total.unpriced} requests to models without a price are not in the cost")
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
