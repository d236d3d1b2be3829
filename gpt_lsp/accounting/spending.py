"""What jobs spend: each finished job appended to the usage ledger, and the spending cap
checked before a request starts. Without a ledger (a broken state dir) gpt-lsp works on,
says so once, and keeps no budget. Recording never raises: a job ends whatever the ledger
does (a write that fails for another reason is logged and said once too)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.port import ClientPort

if TYPE_CHECKING:
    from gpt_lsp.accounting.ledger import Ledger, Spend
    from gpt_lsp.relay.events import Usage
    from gpt_lsp.settings import Budget, Price

log = logging.getLogger(__name__)


class Spending:
    """The session's side of the usage ledger and the budget."""

    def __init__(
        self,
        port: ClientPort,
        path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._port = port
        self.path = path
        self._environ = environ
        self._ledger: Ledger | None = None
        self._failed = False
        self._write_failed = False  # a write failed for another reason: said once
        self._warned: set[tuple[str, float]] = set()  # budget warnings shown, per day

    def ledger(self) -> Ledger | None:
        """Returns the usage ledger; None (said once) when it cannot be opened."""
        if self._ledger is None and not self._failed:
            from gpt_lsp.accounting.ledger import Ledger, LedgerError, default_path

            try:
                self._ledger = Ledger(self.path or default_path(self._environ))
            except LedgerError as exc:
                self._unavailable(exc)
        return self._ledger

    def _unavailable(self, exc: Exception) -> None:
        log.warning("%s", exc)
        self._failed = True
        self._ledger = None
        text = _("gpt-lsp works on, but usage is not recorded (and no budget kept): {problem}")
        self._port.show_message("warning", text.format(problem=exc))

    def record_usage(
        self,
        *,
        relay: str,
        model: str,
        action: str,
        usage: Usage,
        estimated: bool,
        price: Price | None,
        status: str,
    ) -> None:
        """Appends one request's usage (a job's, or a completion's) to the ledger; never
        raises (the caller is ending a job)."""
        from gpt_lsp.accounting.ledger import LedgerError, Record

        try:
            ledger = self.ledger()
            if ledger is None:
                return
            prompt, completion = usage.prompt_tokens, usage.completion_tokens
            record = Record(
                at=time.time(),
                relay=relay,
                model=model,
                action=action,
                prompt_tokens=prompt,
                completion_tokens=completion,
                estimated=estimated,
                cost_usd=price.cost_usd(prompt, completion) if price else None,
                quota=price.quota(prompt, completion) if price else None,
                status=status,
            )
            ledger.append(record)
        except LedgerError as exc:
            self._unavailable(exc)
        except Exception as exc:  # whatever it is, the job must still end
            if self._write_failed:
                return
            self._write_failed = True
            log.warning("usage not recorded: %s", exc, exc_info=True)
            self._port.show_message(
                "warning",
                _("gpt-lsp works on, but a request's usage was not recorded: {problem}").format(
                    problem=f"{type(exc).__name__}: {exc}"
                ),
            )

    def spend(self) -> tuple[Spend, Spend] | None:
        """Returns what was spent today and this month (every server, from the ledger)."""
        from gpt_lsp.accounting.ledger import LedgerError, day_start, month_start

        ledger = self.ledger()
        if ledger is None:
            return None
        try:
            return ledger.totals(day_start()), ledger.totals(month_start())
        except LedgerError as exc:
            self._unavailable(exc)
            return None

    def check(self, budget: Budget) -> None:
        """Refuses a request with a cap reached; warns once a day at 80 % of a cap."""
        from gpt_lsp.accounting.budget import Caps, decide
        from gpt_lsp.accounting.ledger import day_start

        caps = Caps(budget.daily_usd, budget.monthly_usd, budget.daily_quota)
        if not caps.any:
            return
        spent = self.spend()
        if spent is None:
            return  # said once already: no ledger, no budget
        decision = decide(caps, *spent)
        if decision.refusal is not None:
            raise RequestRefused(decision.refusal)
        today = day_start()
        for key, message in decision.warnings:
            if (key, today) not in self._warned:
                self._warned.add((key, today))
                self._port.show_message("warning", message)


def spend_json(spend: Spend) -> dict[str, Any]:
    """Returns totals for gptLsp.status."""
    return {
        "requests": spend.requests,
        "tokens": spend.tokens,
        "costUsd": round(spend.cost_usd, 6),
        "quota": spend.quota,
        "unpriced": spend.unpriced,
    }
