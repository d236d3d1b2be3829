"""What a pending job's region shows after the user's change (pure): its original (an undo),
a text the job wrote before its current one (an undo that landed between the job's states:
Neovim after typing during the stream, VS Code and Emacs after a follow-up turn), its current
text, or other text, which only the user can have typed."""

from __future__ import annotations

from gpt_lsp.jobs.region import JobRegion, Verdict
from gpt_lsp.text.changes import text_around
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding

MAX_AROUND = 8  # earlier turns' answers looked for around a pending region (an undone turn)


def review_verdict(doc: TextDoc, tracked: JobRegion, encoding: Encoding) -> Verdict:
    """Returns what the region shows; found around the region (an undo reported as an
    insertion at its edge, Emacs), the region moves onto it."""
    written = tracked.written
    if not tracked.lost_track:
        text = doc.text_in(tracked.span, encoding)
        if text == tracked.original:
            return "original"
        if text == written.current:
            return "current"
        if written.earlier(text):
            return "earlier"
    candidates: list[tuple[str, Verdict]] = [(tracked.original, "original")]
    candidates += [(state, "earlier") for state in written.ends()[:MAX_AROUND]]
    for state, verdict in candidates:
        around = text_around(doc, tracked.span, state, encoding)
        if around is not None:
            tracked.span, tracked.lost_track = around, False
            return verdict
    return "other"


def knows(tracked: JobRegion, text: str) -> bool:
    """True when `text` is the job's original or a text the job wrote."""
    written = tracked.written
    return text in (tracked.original, written.current) or written.earlier(text)
