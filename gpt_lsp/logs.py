"""Logging setup: stderr or a file, every line scrubbed of API keys."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from gpt_lsp.redaction import redact

# pygls logs whole JSON-RPC messages at DEBUG: document text and the model's answers.
_CONTENT_LOGGERS = ("pygls", "pygls.protocol", "pygls.server", "pygls.feature_manager")


class _ContentGate:
    """Whether message bodies may be logged (logContent)."""

    enabled = False


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with keys removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("pygls") and record.args and not _ContentGate.enabled:
            # pygls puts whole messages (document text, answers) in its arguments.
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple("<omitted>" for _ in args)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, so the redacted text is what gets written.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(
    level: str = "INFO", log_file: str | None = None, *, log_content: bool = False
) -> None:
    """Sends gpt-lsp's logs to stderr (never stdout: it carries LSP) or to a file."""
    handler: logging.Handler
    if log_file:
        Path(log_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(Path(log_file).expanduser(), encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    # httpx logs every request at INFO: noise in an editor's log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    set_content_logging(log_content)


def set_content_logging(enabled: bool) -> None:
    """Lets pygls log message bodies only when the user asked for content logging."""
    for name in _CONTENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if enabled else logging.WARNING)
    content_logger().disabled = not enabled
    _ContentGate.enabled = enabled


def content_logger() -> logging.Logger:
    """Returns the logger for prompts and answers; silent unless logContent is on."""
    return logging.getLogger("gpt_lsp.content")
