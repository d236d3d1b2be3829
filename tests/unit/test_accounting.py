"""The usage ledger (SQLite, two writers) and the spending cap's decisions."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from gpt_lsp.accounting.budget import Caps, decide
from gpt_lsp.accounting.ledger import Ledger, LedgerError, Record, Spend, day_start, month_start


def record(at: float, cost: float | None = 0.01, quota: int | None = 5000, **kw: object) -> Record:
    values: dict[str, object] = {
        "relay": "default",
        "model": "gpt-4",
        "action": "refactor",
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "estimated": False,
        "status": "done",
    }
    values.update(kw)
    return Record(at=at, cost_usd=cost, quota=quota, **values)  # type: ignore[arg-type]


def test_records_are_appended_and_totalled(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state" / "usage.sqlite3")
    now = time.time()
    ledger.append(record(now - 86400 * 40))
    ledger.append(record(now, estimated=True))
    ledger.append(record(now, cost=None, quota=None, model="free"))
    assert [r.model for r in ledger.since(now - 10)] == ["gpt-4", "free"]
    assert ledger.since(now - 10)[0].estimated is True
    totals = ledger.totals(now - 10)
    assert totals == Spend(2, 200, 40, 0.01, 5000, 1)
    assert ledger.totals(0).requests == 3


def _writer(path: str, count: int, name: str) -> None:
    ledger = Ledger(Path(path))
    for _ in range(count):
        ledger.append(record(time.time(), relay=name))


def test_two_processes_write_without_losing_a_record(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    Ledger(path)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(path), 150, f"p{i}")) for i in range(2)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    records = Ledger(path).since(0)
    assert len(records) == 300
    assert {r.relay for r in records} == {"p0", "p1"}


def test_a_newer_ledger_is_read_for_what_is_understood(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    Ledger(path).append(record(time.time()))
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE records ADD COLUMN cached_tokens INTEGER")
        db.execute("PRAGMA user_version=7")
    assert Ledger(path).totals(0).requests == 1


def test_a_broken_ledger_is_an_error_the_caller_can_catch(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match="usage ledger"):
        Ledger(path)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(LedgerError):
        Ledger(blocked / "usage.sqlite3")  # its folder is a file


def test_day_and_month_start() -> None:
    now = time.mktime((2026, 12, 15, 13, 30, 0, 0, 0, -1))
    assert time.localtime(day_start(now))[:6] == (2026, 12, 15, 0, 0, 0)
    assert time.localtime(month_start(now))[:6] == (2026, 12, 1, 0, 0, 0)


def test_no_cap_no_decision() -> None:
    assert decide(Caps(), Spend(cost_usd=99), Spend(cost_usd=99)).refusal is None
    assert not Caps().any


def test_a_reached_cap_refuses_naming_cap_spend_and_how_to_raise_it() -> None:
    decision = decide(Caps(daily_usd=0.5), Spend(1, cost_usd=0.52), Spend(1, cost_usd=0.52))
    assert decision.refusal is not None
    assert "$0.5200 spent today" in decision.refusal
    assert "budget.dailyUsd $0.5000" in decision.refusal
    assert "Raise budget.dailyUsd" in decision.refusal and "Nothing was sent" in decision.refusal
    monthly = decide(Caps(monthly_usd=3), Spend(), Spend(cost_usd=3.0))
    assert monthly.refusal is not None and "this month" in monthly.refusal
    quota = decide(Caps(daily_quota=10_000), Spend(quota=12_000), Spend(quota=12_000))
    assert quota.refusal is not None and "12,000 quota" in quota.refusal


def test_eighty_percent_warns_and_unpriced_requests_are_named() -> None:
    decision = decide(Caps(daily_usd=1.0), Spend(3, cost_usd=0.85, unpriced=2), Spend())
    assert decision.refusal is None
    [(key, message)] = decision.warnings
    assert key == "dailyUsd"
    assert "85% of budget.dailyUsd" in message
    assert "not counting 2 requests to models without a price" in message
    assert decide(Caps(daily_usd=1.0), Spend(cost_usd=0.5), Spend()).warnings == []
