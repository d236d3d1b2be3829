"""`gpt-lsp check` report details, with an injected transport."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx

from gpt_lsp.check import run_check

STREAM = (
    "".join(
        f"data: {json.dumps(chunk)}\n\n"
        for chunk in (
            {"choices": [{"delta": {"content": "OK"}, "finish_reason": None}]},
            {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        )
    )
    + "data: [DONE]\n\n"
)


def test_backup_under_the_main_path_is_reported_as_backup(tmp_path: Path) -> None:
    # The backup's URL starts with the main base URL's text: only equality tells them apart.
    config = tmp_path / "config.toml"
    config.write_text(
        '[relays.r]\nbaseUrl = "https://relay.example/v1"\n'
        'backupUrls = ["https://relay.example/v1/backup"]\napiKey = "sk-unit-000000000"\n'
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/chat/completions":
            raise httpx.ConnectError("refused")
        if request.url.path == "/v1/backup/chat/completions":
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=STREAM)
        return httpx.Response(404)

    out, err = io.StringIO(), io.StringIO()
    code = run_check(
        out=out,
        err=err,
        environ={"GPT_LSP_CONFIG": str(config), "GPT_LSP_STATE_DIR": str(config.parent)},
        transport=httpx.MockTransport(answer),
    )
    assert code == 0, err.getvalue()
    assert "url:         https://relay.example/v1/backup/chat/completions  (backup host)" in (
        out.getvalue().splitlines()
    )
