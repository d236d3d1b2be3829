"""What context was sent, said briefly: a chat heading's one bounded line of receipts and a
jobFinished summary's count and tokens, in both UI languages."""

from __future__ import annotations

from gpt_lsp.context.packing import Piece
from gpt_lsp.context.receipts import listed, summary
from gpt_lsp.i18n import set_language

PRICING = Piece("file:///w/shop/pricing.py", "shop/pricing.py", 11, 29, "def f():\n", "definition")
AGENTS = Piece("file:///w/AGENTS.md", "AGENTS.md", 0, 3, "Be brief.\n", "instructions")


def test_a_heading_names_each_piece_with_its_lines_and_tokens() -> None:
    text = listed([PRICING, AGENTS])
    assert text == (
        f"context: pricing.py:12-30 ({PRICING.tokens} tok), AGENTS.md ({AGENTS.tokens} tok)"
    )
    assert listed([]) == ""


def test_a_heading_stays_one_bounded_line() -> None:
    odd = Piece("file:///w/x", "a\nb" + "n" * 90 + ".py", 0, 0, "x\n", "edit")
    many = [odd, PRICING, PRICING, PRICING, AGENTS]
    text = listed(many)
    assert "\n" not in text and len(text) < 160
    rest = PRICING.tokens + AGENTS.tokens
    assert text.endswith(f", +2 more ({rest} tok)")
    assert "a?bnnn" in text and "…" in text


def test_a_summary_counts_pieces_and_tokens() -> None:
    receipts = [PRICING.receipt(), AGENTS.receipt()]
    assert summary(receipts) == f"context: 2 pieces, {PRICING.tokens + AGENTS.tokens} tokens"
    assert summary([AGENTS.receipt()]) == f"context: 1 piece, {AGENTS.tokens} tokens"
    assert summary([]) == ""


def test_receipts_in_chinese() -> None:
    set_language("zh_CN")
    try:
        assert summary([AGENTS.receipt()]).startswith("上下文：1 ")
        assert listed([AGENTS]).startswith("上下文：AGENTS.md（")
    finally:
        set_language("en")
