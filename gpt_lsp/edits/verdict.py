"""What a pending job's region shows after the user's change (pure): its original (an undo),
a text the job wrote before its current one (an undo that landed between the job's states:
Neovim after typing during the stream, VS Code and Emacs after a follow-up turn), its current
text, or other text, which only the user can have typed."""

from __future__ import annotations

from gpt_lsp.edits.region import JobRegion, Verdict
from gpt_lsp.text.changes import text_around
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Encoding

MAX_AROUND = 8  # earlier turns' answers looked for around a pending region (an undone turn)


def review_verdict(doc: TextDoc, tracked: JobRegion, encoding: Encoding) -> Verdict:
    """Returns what the region shows; found around the region (an undo reported as an
    insertion at its edge, Emacs, or as a minimal diff that leaves the region's common prefix
    alone, Neovim), the region moves onto it. The original comes first: an undo passes through
    the job's earlier states on its way back to it."""
    written = tracked.written
    text = None if tracked.lost_track else doc.text_in(tracked.span, encoding)
    if text == tracked.original:
        return "original"
    if _moved_onto(doc, tracked, tracked.original, encoding):
        return "original"
    if text is not None and text == written.current:
        return "current"
    if text is not None and written.earlier(text):
        return "earlier"
    for state in written.ends()[:MAX_AROUND]:
        if _moved_onto(doc, tracked, state, encoding):
            return "earlier"
    return "other"


def _moved_onto(doc: TextDoc, tracked: JobRegion, state: str, encoding: Encoding) -> bool:
    around = text_around(doc, tracked.span, state, encoding)
    if around is None:
        return False
    tracked.span, tracked.lost_track = around, False
    return True


def knows(tracked: JobRegion, text: str) -> bool:
    """True when `text` is the job's original or a text the job wrote."""
    written = tracked.written
    return text in (tracked.original, written.current) or written.earlier(text)
