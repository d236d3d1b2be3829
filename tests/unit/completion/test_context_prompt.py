"""Context in a completion's prompt: the definitions block before the file in the chat prompt,
line comments above the text in a fill-in-the-middle prompt, masked with the hole's mask."""

from __future__ import annotations

from gpt_lsp.completion.asking import Hole, chat_prompt, fim_prompt
from gpt_lsp.completion.context import cut_context
from gpt_lsp.context.block import ContextPack
from gpt_lsp.context.packing import Piece
from gpt_lsp.prompting.secrets import SecretMask
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Pos


def _hole(context: ContextPack, language: str = "python", masking: bool = True) -> Hole:
    doc = TextDoc("file:///w/app.py", "def f():\n    return \n", 1, language)
    ctx = cut_context(doc, Pos(1, 11), "utf-16", 3000, 1000)
    return Hole(ctx, ctx.prefix, ctx.suffix, "line", SecretMask(), context, masking)


def test_a_completion_prompt_carries_its_context_masked() -> None:
    key = "sk-" + "a1B2" * 8
    text = f'def charge(amount):\n    """Bills with {key}."""\n'
    piece = Piece("file:///w/pay.py", "pay.py", 2, 3, text, "definition", "charge", "python")
    hole = _hole(ContextPack((piece,)))
    user = chat_prompt(hole).messages[-1]["content"]
    assert user.startswith("Definitions the code uses") and "pay.py, lines 3-4 (charge)" in user
    assert key not in user and "GPT_LSP_SECRET_1" in user
    prompt = fim_prompt(hole).prompt
    assert prompt == (
        "# pay.py, lines 3-4 (charge)\n"
        "# def charge(amount):\n"
        '#     """Bills with GPT_LSP_SECRET_1."""\n'
        "def f():\n    return "
    )
    assert hole.mask.unmask("GPT_LSP_SECRET_1") == key  # an answer quoting it unmasks
    go = fim_prompt(_hole(ContextPack((piece,)), "go")).prompt
    assert go.startswith("// pay.py, lines 3-4 (charge)\n")
    # A language without a known comment gets none in FIM; nothing at all without context.
    assert fim_prompt(_hole(ContextPack((piece,)), "markdown")).prompt == "def f():\n    return "
    assert chat_prompt(_hole(ContextPack())).messages[-1]["content"].startswith("app.py (python)")
    assert key in fim_prompt(_hole(ContextPack((piece,)), masking=False)).prompt
