"""Privacy end to end: the key never leaves, content is logged only when asked, redirects are
not followed, excluded documents are never sent, secrets in a selection are masked."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.conftest import RelaySimFactory
from tests.e2e.cli import CANARY, isolated_env, run_cli
from tests.e2e.conftest import EditorFactory, relay_options
from tests.e2e.editor import Editor
from tests.relay_sim import RelaySim, Scenario

PROMPT_MARK = "zebraQuokkaPromptMark"
ANSWER_MARK = "walrusNarwhalAnswerMark"
SOURCE = f"import os\n\ndef add(a, b):\n    return a+b  # {PROMPT_MARK}\n\nprint(add(1, 2))\n"
FUNC = {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}}
ANSWER = f"def add(a, b):\n    return a + b  # {ANSWER_MARK}\n"


def pieces(key: str, size: int = 8) -> list[str]:
    return [key[i : i + size] for i in range(len(key) - size + 1)]


def assert_no_key(name: str, text: str) -> None:
    assert CANARY not in text, f"the key is in {name}"
    for piece in pieces(CANARY):
        assert piece not in text, f"{piece!r}, part of the key, is in {name}"


async def chat(editor: Editor, uri: str) -> dict[str, Any]:
    job = await editor.command("gptLsp.chat", {"uri": uri, "range": FUNC, "instruction": "go"})
    return await editor.wait_finished(job["jobId"])


def echoing_faults(other: RelaySim) -> list[Scenario]:
    """Relays that echo the key, whole or in part, in every place an error can come from."""
    partial = f"{CANARY[:12]}***{CANARY[-8:]}"
    stream = Scenario(text=ANSWER * 5, chunk_size=4, pace=0.005)
    return [
        Scenario.error(401, f"无效的令牌: {CANARY}"),
        Scenario.error(403, f"该令牌无权使用模型 (key {partial})"),
        Scenario.error(400, f"Incorrect API key provided: {CANARY}", type="invalid_request_error"),
        stream.replace(error_event_after=3, error_message=f"upstream refused key {CANARY}"),
        Scenario(json_error_on_200=True, error_message=f"bad key {partial}"),
        Scenario(html_status=524),
        Scenario(redirect_to=f"{other.chat_url}?key={CANARY}"),
    ]


@pytest.mark.parametrize("log_content", [False, True], ids=["logContent-off", "logContent-on"])
async def test_the_key_never_appears_anywhere(
    log_content: bool,
    make_editor: EditorFactory,
    relay_sim_factory: RelaySimFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    sim = relay_sim_factory(api_key=CANARY, name="main")
    other = relay_sim_factory(api_key=None, name="other")
    log_file = tmp_path / "server.log"
    monkeypatch.setenv("GPT_LSP_TEST_SERVER_ARGS", f"--log-level DEBUG --log-file {log_file}")
    options = {"baseUrl": sim.base_url, "apiKey": CANARY, "model": "gpt-4"}
    editor = await make_editor({**options, "logContent": log_content})
    uri = editor.open("p.py", SOURCE)

    sim.default = Scenario(text=ANSWER)
    done = await chat(editor, uri)
    assert done["status"] == "done"
    await editor.command("gptLsp.reject", {"jobId": done["jobId"]})
    await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    faults = echoing_faults(other)
    sim.enqueue(*faults)
    for _ in faults:
        finished = await chat(editor, uri)
        assert finished["status"] == "failed", finished
        await editor.wait_until(lambda: editor.text(uri) == SOURCE)
    assert other.requests == []
    status = await editor.command("gptLsp.status")
    await editor.shutdown()
    await editor.client.stop()
    captured = capfd.readouterr()

    streams = {
        "showMessage": "\n".join(m.message for m in editor.client.messages),
        "logMessage": "\n".join(m.message for m in editor.client.log_messages),
        "jobFinished": repr(editor.finished),
        "status": repr(status),
        "server stderr": captured.err,
        "stdout": captured.out,
        "log file": log_file.read_text(encoding="utf-8"),
    }
    # The relay did send the key back: the test would see it, had it got through.
    assert len(editor.client.messages) >= len(faults)
    assert "[redacted]" in streams["showMessage"]
    assert "DEBUG" in streams["log file"]
    for name, text in streams.items():
        assert_no_key(name, text)
    log = streams["log file"]
    if log_content:
        assert PROMPT_MARK in log and ANSWER_MARK in log
    else:
        for name, text in streams.items():
            assert PROMPT_MARK not in text, f"the prompt is in {name}"
            assert ANSWER_MARK not in text, f"the answer is in {name}"


def test_check_with_a_relay_that_echoes_the_key(
    tmp_path: Path, relay_sim_factory: RelaySimFactory
) -> None:
    sim = relay_sim_factory(api_key=CANARY, name="main")
    env = isolated_env(
        tmp_path,
        GPT_LSP_BASE_URL=sim.base_url,
        GPT_LSP_API_KEY=CANARY,
        GPT_LSP_CONFIG=os.devnull,
    )
    sim.enqueue(Scenario.error(401, f"无效的令牌 {CANARY}"))
    failed = run_cli(env, "check")
    assert failed.returncode == 1 and "无效的令牌" in failed.stderr
    sim.enqueue(Scenario(error_event_after=0, error_message=f"key {CANARY[3:20]} refused"))
    failed_later = run_cli(env, "--log-level", "DEBUG", "check")
    ok = run_cli(env, "check")
    assert ok.returncode == 0, ok.stderr
    for proc in (failed, failed_later, ok):
        assert_no_key("check stdout", proc.stdout)
        assert_no_key("check stderr", proc.stderr)


def test_check_with_a_relay_that_echoes_the_key_encoded_or_in_pieces(
    tmp_path: Path, relay_sim_factory: RelaySimFactory
) -> None:
    sim = relay_sim_factory(api_key=CANARY, name="main")
    env = isolated_env(
        tmp_path, GPT_LSP_BASE_URL=sim.base_url, GPT_LSP_API_KEY=CANARY, GPT_LSP_CONFIG=os.devnull
    )
    encoded = base64.b64encode(CANARY.encode()).decode()
    bearer = base64.urlsafe_b64encode(f"Bearer {CANARY}".encode()).decode()
    echoes = {
        "base64": encoded,
        "base64 of the header": bearer,
        "lower case": CANARY.lower(),
        "split": f"{CANARY[:16]} / {CANARY[16:]}",
        "split, upper case": f"{CANARY[:20]}, {CANARY[20:]}".upper(),
    }
    for name, echo in echoes.items():
        sim.enqueue(Scenario.error(401, f"无效的令牌 {echo}"))
        failed = run_cli(env, "check")
        assert failed.returncode == 1 and "[redacted]" in failed.stderr, name
        assert echo not in failed.stderr and encoded[:-4] not in failed.stderr, name
        assert_no_key(name, failed.stderr.lower().replace(CANARY.lower(), CANARY))
        assert_no_key(name, failed.stderr)


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_to_another_host_is_never_followed(
    status: int,
    make_editor: EditorFactory,
    relay_sim: RelaySim,
    relay_sim_factory: RelaySimFactory,
) -> None:
    other = relay_sim_factory(api_key=None, name="elsewhere")
    other.default = Scenario(text=ANSWER)
    relay_sim.enqueue(Scenario(redirect_to=other.chat_url, redirect_status=status))
    editor = await make_editor(relay_options(relay_sim))
    uri = editor.open("r.py", SOURCE)
    finished = await chat(editor, uri)
    assert finished["status"] == "failed"
    assert f"HTTP {status}" in finished["message"]
    assert f"redirects to {other.chat_url}" in finished["message"]
    assert other.requests == []
    assert len(relay_sim.requests) == 1  # not retried either
    assert editor.text(uri) == SOURCE
    errors = [m for m in editor.client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1


# ---------------------------------------------------------------- exclude


WHOLE_LINE = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
EXCLUDED = ["id_rsa", "id_rsa.pub", "server.pem", "my_secret.txt", "tls.key", ".env.local"]


async def assert_refused(editor: Editor, uri: str) -> None:
    try:
        await editor.command("gptLsp.chat", {"uri": uri, "range": WHOLE_LINE, "instruction": "x"})
    except Exception as exc:  # noqa: BLE001 - the JSON-RPC error
        assert "exclude pattern" in str(exc) and "never sent" in str(exc), str(exc)
    else:
        raise AssertionError(f"{uri} was accepted")
    rng = types.Range(start=types.Position(0, 0), end=types.Position(1, 0))
    actions = await editor.code_actions(uri, rng)
    assert actions and all(a.disabled is not None for a in actions)


# On macOS and Windows `.ENV` is `.env`: a glob matches in any letter case.
EXCLUDED_ANY_CASE = [
    ".ENV",
    ".Env",
    "server.PEM",
    "app.KEY",
    "ID_RSA",
    "MySecret.py",
    "SECRETS.yaml",
]


async def test_exclude_globs_match_in_any_letter_case(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, exclude=["*.Private.py"]))
    for name in [*EXCLUDED_ANY_CASE, "config.PRIVATE.py"]:
        await assert_refused(editor, editor.open(name, "KEY=abc\n", "plaintext"))
    assert relay_sim.requests == []


async def test_excluded_documents_by_default_and_by_user_glob(
    make_editor: EditorFactory, relay_sim: RelaySim, tmp_path: Path
) -> None:
    editor = await make_editor(relay_options(relay_sim, exclude=["*.private.py", "**/vault/*"]))
    for name in [*EXCLUDED, "config.private.py"]:
        await assert_refused(editor, editor.open(name, "KEY=abc\n", "plaintext"))
    await assert_refused(
        editor, editor.open("notes.py", "KEY=abc\n", folder=tmp_path / "deep" / "vault")
    )
    assert relay_sim.requests == []
    # An ordinary file still goes.
    relay_sim.default = Scenario(text="KEY = 'abc'\n")
    uri = editor.open("ordinary.py", "KEY=abc\n")
    job = await editor.command("gptLsp.chat", {"uri": uri, "range": WHOLE_LINE, "instruction": "x"})
    assert (await editor.wait_finished(job["jobId"]))["status"] == "done"
    assert len(relay_sim.requests) == 1


async def test_exclude_defaults_off_sends_what_the_user_allows(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(
        relay_options(relay_sim, excludeDefaults=False, exclude=["*.private.py"])
    )
    relay_sim.default = Scenario(text="x = 2\n")
    await assert_refused(editor, editor.open("a.private.py", "x = 1\n"))
    for name in ("id_rsa", "my_secret.txt"):
        uri = editor.open(name, "x = 1\n", "plaintext")
        job = await editor.command(
            "gptLsp.chat", {"uri": uri, "range": WHOLE_LINE, "instruction": "x"}
        )
        assert (await editor.wait_finished(job["jobId"]))["status"] == "done"
    assert len(relay_sim.requests) == 2


# ---------------------------------------------------------------- masking

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)
SECRET_SOURCE = f'AWS = "{AWS_KEY}"\nPEM = """{PEM}"""\n\ndef f():\n    return AWS\n'


async def secret_job(editor: Editor, relay_sim: RelaySim) -> tuple[dict[str, Any], str]:
    relay_sim.default = Scenario(text="x = 1\n")
    uri = editor.open("creds.py", SECRET_SOURCE)
    lines = SECRET_SOURCE.count("\n")
    rng = {"start": {"line": 0, "character": 0}, "end": {"line": lines, "character": 0}}
    job = await editor.command("gptLsp.chat", {"uri": uri, "range": rng, "instruction": "x"})
    finished = await editor.wait_finished(job["jobId"])
    return finished, relay_sim.requests[-1].raw_body.decode()


async def test_aws_key_and_pem_block_are_masked(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    finished, body = await secret_job(editor, relay_sim)
    assert finished["status"] == "done"
    assert "2 secrets were masked" in finished["message"]
    assert AWS_KEY not in body and "PRIVATE KEY" not in body and "MIIEowIBAAKCAQEA" not in body
    assert "GPT_LSP_SECRET_1" in body and "GPT_LSP_SECRET_2" in body


async def test_mask_secrets_off_sends_them_as_they_are(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim, maskSecrets=False))
    finished, body = await secret_job(editor, relay_sim)
    assert finished["status"] == "done"
    assert "masked" not in (finished.get("message") or "")
    assert AWS_KEY in body and "BEGIN RSA PRIVATE KEY" in body and "GPT_LSP_SECRET" not in body


# ------------------------------------------ masking what the user did not select

OPENAI_KEY = "sk-proj-Q7vX2mN9pL4kR8sT1wY6zB3cD5fG0hJ"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PLAIN = "def connect():\n    return None\n"
BODY = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}


def sent_bodies(relay_sim: RelaySim) -> str:
    return "\n".join(r.raw_body.decode() for r in relay_sim.requests)


async def test_a_secret_in_the_first_chat_instruction_is_masked_and_put_back(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    # The model echoes the placeholder it was sent: the answer gets the key back.
    relay_sim.default = Scenario(text='def connect():\n    return client(key="GPT_LSP_SECRET_1")\n')
    uri = editor.open("conn.py", PLAIN)
    instruction = f"use the key {OPENAI_KEY} when connecting"
    job = await editor.command(
        "gptLsp.chat", {"uri": uri, "range": BODY, "instruction": instruction}
    )
    finished = await editor.wait_finished(job["jobId"])
    assert finished["status"] == "done", finished
    body = sent_bodies(relay_sim)
    assert OPENAI_KEY not in body and OPENAI_KEY[8:24] not in body
    assert "use the key GPT_LSP_SECRET_1 when connecting" in body
    assert "1 secret was masked" in finished["message"]
    assert f'key="{OPENAI_KEY}"' in editor.text(uri)
    # The follow-up masks with the same numbers: the model's placeholder still means the key.
    follow = await editor.command(
        "gptLsp.chat", {"jobId": job["jobId"], "instruction": f"and log {GITHUB_TOKEN}"}
    )
    assert follow["jobId"] == job["jobId"]
    await editor.wait_until(lambda: sum(f["jobId"] == job["jobId"] for f in editor.finished) == 2)
    body = sent_bodies(relay_sim)
    assert OPENAI_KEY not in body and GITHUB_TOKEN not in body
    assert len(relay_sim.requests) == 2
    assert "and log GPT_LSP_SECRET_2" in relay_sim.requests[-1].raw_body.decode()


async def test_a_secret_in_an_ai_marker_is_masked_in_the_title_and_the_request(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = Scenario(text="def connect():\n    return 1\n")
    source = f"# AI: call the api with {OPENAI_KEY}\n{PLAIN}"
    uri = editor.open("marker.py", source)
    rng = types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    actions = await editor.code_actions(uri, rng)
    marker = [a for a in actions if a.title.startswith("AI: call the api")]
    assert len(marker) == 1, [a.title for a in actions]
    assert OPENAI_KEY not in marker[0].title and OPENAI_KEY[:12] not in marker[0].title
    assert marker[0].command is not None
    job = await editor.command("gptLsp.run", _plain_argument(marker[0].command.arguments))
    finished = await editor.wait_finished(job["jobId"])
    assert finished["status"] == "done", finished
    body = sent_bodies(relay_sim)
    assert relay_sim.requests and OPENAI_KEY not in body and OPENAI_KEY[8:24] not in body
    assert "call the api with GPT_LSP_SECRET_1" in body
    progress = "\n".join(m.message for m in editor.client.messages) + repr(editor.finished)
    assert OPENAI_KEY not in progress


async def test_a_secret_in_a_diagnostic_sent_with_fix_is_masked(
    make_editor: EditorFactory, relay_sim: RelaySim
) -> None:
    editor = await make_editor(relay_options(relay_sim))
    relay_sim.default = Scenario(text="def connect():\n    return 1\n")
    uri = editor.open("diag.py", PLAIN)
    diagnostic = types.Diagnostic(
        range=types.Range(start=types.Position(1, 4), end=types.Position(1, 15)),
        message=f"hard-coded token {GITHUB_TOKEN} found",
        source="secretlint",
    )
    rng = types.Range(start=types.Position(1, 4), end=types.Position(1, 4))
    actions = await editor.code_actions(uri, rng, [diagnostic])
    fix = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert fix and fix[0].command is not None
    job = await editor.command("gptLsp.run", _plain_argument(fix[0].command.arguments))
    finished = await editor.wait_finished(job["jobId"])
    assert finished["status"] == "done", finished
    body = sent_bodies(relay_sim)
    assert relay_sim.requests and GITHUB_TOKEN not in body and GITHUB_TOKEN[4:20] not in body
    assert "hard-coded token GPT_LSP_SECRET_1 found" in body


def _plain_argument(arguments: list[Any] | None) -> Any:
    """A code action's argument as the editor sends it back (lsprotocol objects to JSON)."""
    assert arguments
    from tests.e2e.editor import _plain

    return _plain(arguments[0])
