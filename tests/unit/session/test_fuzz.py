"""Fuzzing didChange: a change of any shape (gpt_lsp/session/documents.py, text/documents.py)
leaves the server's copy exactly the editor's, or refuses it whole."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_lsp.session.session import Session
from gpt_lsp.text.regions import Pos, Span
from tests.fakes import editor as fake
from tests.fakes.client import FakeClient

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TEXTS = st.text(alphabet=st.sampled_from(list("ab \n\r中😀")), max_size=12)
_POS = st.tuples(st.integers(-2, 6) | st.just(2**40), st.integers(-2, 8))
_CHANGES = st.lists(
    st.tuples(st.none() | st.tuples(_POS, _POS), _TEXTS),
    max_size=3,
)


@FUZZ
@given(text=_TEXTS, changes=_CHANGES, version=st.integers(-1, 5))
def test_a_did_change_of_any_shape_keeps_the_servers_copy_exact(
    text: str,
    changes: list[tuple[tuple[tuple[int, int], tuple[int, int]] | None, str]],
    version: int,
) -> None:
    client = FakeClient("vscode")
    session = Session(client, environ={"GPT_LSP_CONFIG": os.devnull})
    client.connect(session, {})
    uri = "file:///fuzz.py"
    session.did_open(uri, text, 1, "python")
    spans = [
        (None if rng is None else Span(Pos(*rng[0]), Pos(*rng[1])), new) for rng, new in changes
    ]
    session.did_change(uri, version, spans)
    copy = session.documents.get(uri)
    assert copy is not None
    # The editor's copy, had it applied them: LSP's clamping (a character past a line's end
    # is its end, a line past the last is the document's end).
    expected: str | None = text
    for rng, new in changes:
        if expected is None or rng is None:
            expected = new if rng is None else None
        elif min(*rng[0], *rng[1]) < 0 or rng[1] < rng[0]:
            expected = None  # no editor has such a copy: it must be refused
        else:
            start = fake.offset_of(expected, rng[0], "utf-16")
            end = fake.offset_of(expected, rng[1], "utf-16")
            expected = expected[:start] + new + expected[end:]
    refused = copy.source == text and copy.version == 1  # the copy is as it was
    applied = copy.source == expected and copy.version == version  # exactly as the editor's
    assert refused or applied
    if expected is None or version < 1:
        assert refused
