"""Command line: `gpt-lsp` serves LSP; `gpt-lsp check` tests the relay."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from gpt_lsp import __version__

_EPILOG = """\
Without a command, gpt-lsp serves LSP on stdin/stdout for an editor.

Settings: the user file config.toml (~/.config/gpt-lsp/config.toml on Linux, or the file
named by GPT_LSP_CONFIG), the environment (GPT_LSP_BASE_URL, GPT_LSP_API_KEY, GPT_LSP_MODEL;
or OPENAI_BASE_URL, OPENAI_API_KEY), then your editor's settings. State (learned relay
quirks, the usage ledger): ~/.local/state/gpt-lsp, or GPT_LSP_STATE_DIR.
Messages in Chinese (check, usage, the editor's menus): LANG=zh_CN.UTF-8 or `language = "zh"`.

Try a relay first:  GPT_LSP_BASE_URL=https://relay.example/v1 GPT_LSP_API_KEY=sk-... gpt-lsp check
"""


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser."""
    parser = argparse.ArgumentParser(
        prog="gpt-lsp",
        description="AI code actions and inline chat over OpenAI-compatible relays (LSP).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"gpt-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="speak LSP on stdin/stdout (default)")
    parser.add_argument("--tcp", action="store_true", help="speak LSP over TCP instead")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    parser.add_argument("--log-file", help="write logs to this file instead of stderr")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"],
        help="log level (default INFO)",
    )
    # Resource counts in gptLsp.status, for leak tests and benchmarks; users have no use for it.
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("check", help="send one small request to the relay and report")
    check.add_argument("--relay", help="relay name (default: the configured one)")
    check.add_argument("--model", help="model to use (default: the relay's)")
    check.add_argument(
        "--relearn", action="store_true", help="forget what was learned of the relay first"
    )
    usage = commands.add_parser("usage", help="what the relay requests cost, from the ledger")
    usage.add_argument("--days", type=int, default=30, help="days back, today included (30)")
    usage.add_argument(
        "--by",
        choices=["day", "model", "relay", "action"],
        action="append",
        help="group by (repeatable; default: per day, then per model)",
    )
    usage.add_argument("--json", action="store_true", help="JSON for scripts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gpt-lsp` console script."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # `gpt-lsp usage | head`: the reader left; nothing more to say, and no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from gpt_lsp.logs import configure

    if args.command == "check":
        # check speaks for itself in one line; logs only when asked for.
        configure(args.log_level if args.log_level.upper() != "INFO" else "ERROR", args.log_file)
        from gpt_lsp.check import run_check

        return run_check(args.relay, args.model, relearn=args.relearn)
    if args.command == "usage":
        configure("ERROR", args.log_file)
        return print_usage(days=args.days, by=args.by, as_json=args.json)
    configure(args.log_level, args.log_file)
    return serve(tcp=args.tcp, host=args.host, port=args.port, debug=args.debug)


TTY_HINT = (
    "gpt-lsp {version} is a language server: it waits for an LSP client (your editor) on stdin.\n"
    "To test a relay from a terminal, run `gpt-lsp check`. Ctrl-D or Ctrl-C quits."
)


def print_usage(*, days: int, by: list[str] | None, as_json: bool) -> int:
    """Prints the ledger's totals; exit 2 when it cannot be read."""
    from gpt_lsp.accounting.ledger import Ledger, LedgerError, default_path
    from gpt_lsp.accounting.report import group, render_json, render_table, since
    from gpt_lsp.i18n import _, environ_language, ngettext, set_language_from_environ

    setting = None
    if environ_language(os.environ) is None:  # a terminal in C: the `language` setting
        from gpt_lsp.settings import load_settings

        setting = load_settings()[0].language
    set_language_from_environ(os.environ, setting)

    if days < 1:
        print(_("gpt-lsp usage: --days must be 1 or more"), file=sys.stderr)
        return 2
    path = default_path()
    start = since(days)
    try:
        records = Ledger(path).since(start) if path.exists() else []
    except LedgerError as exc:
        print(_("gpt-lsp usage: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    if not records and not as_json:
        # One line, not one empty table per grouping.
        first = time.strftime("%Y-%m-%d", time.localtime(start))
        none = ngettext(
            "No usage yet: no relay request recorded since {first} ({days} day).",
            "No usage yet: no relay request recorded since {first} ({days} days).",
            days,
        )
        print(none.format(first=first, days=days))
        return 0
    keys = by or ["day", "model"]
    reports = []
    for key in keys:
        rows, total = group(records, key)  # type: ignore[arg-type]
        render = render_json if as_json else render_table
        reports.append(render(rows, total, start=start, days=days, by=key))  # type: ignore[arg-type]
    if as_json and len(reports) > 1:
        import json

        print(json.dumps([json.loads(r) for r in reports], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(reports))
    return 0


def serve(*, tcp: bool, host: str, port: int, debug: bool = False) -> int:
    """Runs the language server until the client exits or goes away."""
    if not tcp:
        if sys.stdin is None or sys.stdout is None:
            print("gpt-lsp: stdin and stdout must be open: LSP runs over them", file=sys.stderr)
            return 2
        if sys.stdin.isatty():
            # Someone typed `gpt-lsp` in a terminal: say what it is doing and what they may want.
            print(TTY_HINT.format(version=__version__), file=sys.stderr, flush=True)
        from gpt_lsp.lsp.stdio import exit_quietly_on_signals

        exit_quietly_on_signals()  # importing pygls takes a while: a signal then exits cleanly
    from gpt_lsp.lsp.server import create_server

    server = create_server(debug=debug)
    if tcp:
        server.start_tcp(host, port)
        return 0
    from gpt_lsp.lsp.stdio import serve_stdio

    # LSP owns stdout: anything else printed by accident goes to stderr instead.
    lsp_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    return serve_stdio(server, sys.stdin.buffer, lsp_out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
