"""A job's region moved with one change of the document (pure): shifted by a change before
it, kept by one after it. A change inside it is, by its author: the user's, a conflict while
the job runs, followed while its text is pending review; another job's edit, a conflict either
way (a pending job's text is then the other job's original: it can no longer be reviewed or
put back on its own); a misplaced edit of ours or its undo, covered: the region then holds the
change's text, and an edge the change covered waits in the repair's text (edits/repairs.py)
until the undo puts it back. Only the user's changes ask a pending job for a verdict.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

from gpt_lsp.edits.region import JobRegion
from gpt_lsp.edits.verdict import knows
from gpt_lsp.text.changes import follow_in_review, slide_into, slide_out
from gpt_lsp.text.documents import TextDoc
from gpt_lsp.text.regions import Conflict, Encoding, Span, end_after_insert, map_change, shift_after

# Who made a change: the user, another job (an edit of its text), or the server fixing a
# client's mistake (an edit of ours the client put at stale positions, or its undo).
Author = Literal["user", "job", "misplaced"]


def move_region(
    doc: TextDoc, tracked: JobRegion, span: Span, text: str, encoding: Encoding, *, by: Author
) -> None:
    """Moves `tracked` with the change (span, text) about to be applied to `doc`."""
    mapped = map_change(tracked.span, span, text, encoding)
    if isinstance(mapped, Conflict) and by != "misplaced":
        # Clients report the minimal diff, which may put a change made beside the region
        # inside it when the text there repeats: try the equivalent forms (ours are exact).
        outside = slide_out(doc, span, text, tracked.span, encoding)
        if outside is not None:
            mapped = map_change(tracked.span, outside[0], outside[1], encoding)
    edge = span.start == tracked.span.end or span.end == tracked.span.start
    if tracked.reviewing and edge and by == "user":
        tracked.abutted = True  # maybe an undo putting the original back at the edge
    if not isinstance(mapped, Conflict):
        tracked.span = mapped
    elif by == "misplaced":
        # No user touched the region: it covers our change until the undo (or after it).
        new_end = end_after_insert(span.start, text, encoding)
        region = tracked.span
        start = min(region.start, span.start)
        end = shift_after(region.end, span.end, new_end) if region.end >= span.end else new_end
        tracked.span = Span(start, end)
    elif tracked.reviewing and by == "user":
        change, change_text = slide_into(doc, span, text, tracked.span, encoding) or (span, text)
        known = partial(knows, tracked)
        followed = follow_in_review(doc, tracked.span, known, change, change_text, encoding)
        tracked.touched = True
        if followed is None:
            tracked.lost_track = True
        else:
            tracked.span = followed
    else:
        tracked.conflict = True
        tracked.pending.clear()
        tracked.update_settled()
        tracked.on_conflict()
