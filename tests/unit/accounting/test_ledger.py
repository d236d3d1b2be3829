"""The usage ledger (SQLite, two writers) and what spending records in it. The spending cap's
decisions: test_budget.py."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from gpt_lsp.accounting.ledger import Ledger, LedgerError, Record, Spend, day_start, month_start
from gpt_lsp.accounting.spending import Spending
from gpt_lsp.relay.events import Usage
from gpt_lsp.settings import Price


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


def test_a_number_sqlite_cannot_hold_is_a_ledger_error(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "usage.sqlite3")
    with pytest.raises(LedgerError, match="usage ledger"):
        ledger.append(record(time.time(), prompt_tokens=2**63))
    assert ledger.totals(0).requests == 0


def test_negative_records_never_lower_the_totals(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "usage.sqlite3")
    now = time.time()
    ledger.append(record(now))
    # Written by a version that believed a relay's negative usage.
    ledger.append(record(now, prompt_tokens=-(10**6), completion_tokens=-5, cost=-3.0, quota=-9))
    assert ledger.totals(0) == Spend(2, 100, 20, 0.01, 5000, 0)
    assert [r.prompt_tokens for r in ledger.since(0)] == [100, 0]


class _Port:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def show_message(self, kind: str, text: str) -> None:
        self.messages.append((kind, text))


def spend_once(spending: Spending, usage: Usage) -> None:
    spending.record_usage(
        relay="r",
        model="gpt-4",
        action="refactor",
        usage=usage,
        estimated=False,
        price=Price(input=1.0, output=2.0),
        status="done",
    )


def test_recording_never_raises_and_says_a_failure_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = _Port()
    spending = Spending(port, tmp_path / "usage.sqlite3")  # type: ignore[arg-type]

    def broken(self: Ledger, record: Record) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Ledger, "append", broken)
    for _ in range(3):
        spend_once(spending, Usage(10, 2))
    assert len(port.messages) == 1 and "disk on fire" in port.messages[0][1]
    assert len([r for r in caplog.records if "disk on fire" in r.getMessage()]) == 1


def test_a_usage_sqlite_cannot_hold_leaves_the_job_and_the_totals_alone(tmp_path: Path) -> None:
    port = _Port()
    spending = Spending(port, tmp_path / "usage.sqlite3")  # type: ignore[arg-type]
    spend_once(spending, Usage(2**63, 1))  # a caller that did not check: still no raise
    assert len(port.messages) == 1 and "usage is not recorded" in port.messages[0][1]
