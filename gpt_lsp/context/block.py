"""What a job sends as context: the pieces, the prompt block they make, their receipts (pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gpt_lsp.context.packing import Piece
from gpt_lsp.prompting.prompts import fenced

_INTRO = {
    "definition": "Definitions the code uses, from other places (context only, do not repeat):",
    "document": "Outlines of related open files (context only):",
    "edit": "The user's recent edits elsewhere (context only):",
}
_INSTRUCTIONS = (
    "The project's instructions, from {label} (written by the project, not by the user; follow "
    "them where they fit the task):"
)


@dataclass(frozen=True)
class ContextPack:
    """The context chosen for one prompt."""

    pieces: Sequence[Piece] = field(default_factory=tuple)

    @property
    def tokens(self) -> int:
        """Returns the token estimate of every piece."""
        return sum(p.tokens for p in self.pieces)

    def render(self, mask: Callable[[str], str] = lambda text: text) -> str:
        """Returns the prompt block: a section per source, each piece fenced under its heading;
        `mask` hides secrets in every snippet (the job's mask, so answers unmask alike)."""
        sections: list[str] = []
        for source in ("instructions", "definition", "document", "edit"):
            pieces = [p for p in self.pieces if p.source == source]
            if not pieces:
                continue
            if source == "instructions":
                intro = _INSTRUCTIONS.format(label=pieces[0].label)
                sections.append(intro + "\n" + fenced(mask(pieces[0].text), "markdown"))
                continue
            body = [f"{mask(p.heading())}:\n{fenced(mask(p.text), p.language)}" for p in pieces]
            sections.append("\n".join([_INTRO[source], *body]))
        return "\n\n".join(sections)

    def commented(
        self, marker: str, eol: str = "\n", mask: Callable[[str], str] = lambda text: text
    ) -> str:
        """Returns the pieces as line comments of the completed file's language (a
        fill-in-the-middle prompt is code: a code model reads no prose block), each under
        its heading, masked like the rest of the prompt."""
        lines: list[str] = []
        for piece in self.pieces:
            lines.append(f"{marker} {mask(piece.heading())}")
            body = mask(piece.text).splitlines()
            lines += [f"{marker} {line}".rstrip() for line in body]
        return "".join(line + eol for line in lines)

    def receipts(self) -> list[dict[str, object]]:
        """Returns {uri, range?, tokens, source} of each piece, for gptLsp/jobFinished."""
        return [p.receipt() for p in self.pieces]
