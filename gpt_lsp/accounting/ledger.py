"""The usage ledger: one SQLite record per relay request that cost tokens, in the user state dir.

SQLite from the standard library, in WAL mode: readers never block the writer, and two servers
(two editors) append to the same file safely; each insert is one short transaction retried for
up to `BUSY_MS` while another process writes. No prompt, answer or key is ever stored: only
time, relay, model, action, token counts, cost and status.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_MS = 5000
_COLUMNS = (
    "at",
    "relay",
    "model",
    "action",
    "prompt_tokens",
    "completion_tokens",
    "estimated",
    "cost_usd",
    "quota",
    "status",
)
_CREATE = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    relay TEXT NOT NULL,
    model TEXT NOT NULL,
    action TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    cost_usd REAL,
    quota INTEGER,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_at ON records (at);
"""


@dataclass(frozen=True)
class Record:
    """One request's usage; cost None when the model has no price."""

    at: float
    relay: str
    model: str
    action: str  # an action id, or "completion"
    prompt_tokens: int
    completion_tokens: int
    estimated: bool
    cost_usd: float | None
    quota: int | None
    status: str

    @property
    def tokens(self) -> int:
        """Returns prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Spend:
    """Totals over some records; `unpriced` counts those whose model had no price."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    quota: int = 0
    unpriced: int = 0

    @property
    def tokens(self) -> int:
        """Returns prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, record: Record) -> Spend:
        """Returns the totals with one more record."""
        return Spend(
            self.requests + 1,
            self.prompt_tokens + record.prompt_tokens,
            self.completion_tokens + record.completion_tokens,
            self.cost_usd + (record.cost_usd or 0.0),
            self.quota + (record.quota or 0),
            self.unpriced + (record.cost_usd is None),
        )


class LedgerError(Exception):
    """The ledger file cannot be opened, read or written."""


class Ledger:
    """Appends records to, and reads them from, one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                db.executescript(_CREATE)
                if version == 0:
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"usage ledger {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level="DEFERRED")
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable enough, no fsync per record
        return db

    def append(self, record: Record) -> None:
        """Adds one record; raises LedgerError when the file cannot be written."""
        values = [getattr(record, c) for c in _COLUMNS]
        values[_COLUMNS.index("estimated")] = int(record.estimated)
        marks = ", ".join("?" for _ in _COLUMNS)
        try:
            with closing(self._connect()) as db, db:
                db.execute(f"INSERT INTO records ({', '.join(_COLUMNS)}) VALUES ({marks})", values)
        except (sqlite3.Error, OverflowError, ValueError, TypeError) as exc:
            # OverflowError: an int past SQLite's 64 bits (a relay's usage of 2**63).
            raise LedgerError(f"usage ledger {self.path}: {exc}") from exc

    def totals(self, start: float) -> Spend:
        """Returns the totals of the records from `start` on (one aggregate query)."""
        # A negative record (written before relays' usage was checked) never lowers a total.
        query = (
            "SELECT COUNT(*), SUM(MAX(prompt_tokens, 0)), SUM(MAX(completion_tokens, 0)),"
            " SUM(MAX(cost_usd, 0)), SUM(MAX(quota, 0)), SUM(cost_usd IS NULL)"
            " FROM records WHERE at >= ?"
        )
        try:
            with closing(self._connect()) as db:
                count, prompt, completion, cost, quota, unpriced = db.execute(
                    query, (start,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise LedgerError(f"usage ledger {self.path}: {exc}") from exc
        return Spend(
            int(count),
            int(prompt or 0),
            int(completion or 0),
            float(cost or 0.0),
            int(quota or 0),
            int(unpriced or 0),
        )

    def since(self, start: float) -> list[Record]:
        """Returns the records from `start` (a time.time()) on, oldest first."""
        return list(self._select(start))

    def _select(self, start: float) -> Iterator[Record]:
        # Columns by name: a ledger written by a newer version may have more of them.
        query = f"SELECT {', '.join(_COLUMNS)} FROM records WHERE at >= ? ORDER BY at"
        try:
            with closing(self._connect()) as db:
                rows = db.execute(query, (start,)).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"usage ledger {self.path}: {exc}") from exc
        for row in rows:
            at, relay, model, action, prompt, completion, estimated, cost, quota, status = row
            yield Record(
                float(at),
                str(relay),
                str(model),
                str(action),
                max(int(prompt), 0),
                max(int(completion), 0),
                bool(estimated),
                None if cost is None else max(float(cost), 0.0),
                None if quota is None else max(int(quota), 0),
                str(status),
            )


def day_start(now: float | None = None) -> float:
    """Returns the start of the local day holding `now`."""
    moment = time.localtime(time.time() if now is None else now)
    return time.mktime((moment.tm_year, moment.tm_mon, moment.tm_mday, 0, 0, 0, 0, 0, -1))


def month_start(now: float | None = None) -> float:
    """Returns the start of the local month holding `now`."""
    moment = time.localtime(time.time() if now is None else now)
    return time.mktime((moment.tm_year, moment.tm_mon, 1, 0, 0, 0, 0, 0, -1))


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the file in the user state directory."""
    from gpt_lsp.paths import state_dir

    return state_dir(environ) / "usage.sqlite3"
