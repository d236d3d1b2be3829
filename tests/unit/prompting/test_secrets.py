"""Secret masking before sending, and unmasking of streamed answers."""

from hypothesis import given
from hypothesis import strategies as st

from gpt_lsp.prompting.actions import chat_action
from gpt_lsp.prompting.secrets import SecretMask, StreamUnmasker, conceal

OPENAI = "sk-proj-" + "A1b2C3d4" * 5
AWS = "AKIAIOSFODNN7EXAMPLE"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"


def test_masks_obvious_secrets_and_counts_them() -> None:
    mask = SecretMask()
    text = f'KEY = "{OPENAI}"\naws = "{AWS}"\n{PEM}\nagain = "{OPENAI}"\n'
    masked = mask.mask(text)
    assert OPENAI not in masked and AWS not in masked and "MIIEow" not in masked
    assert mask.count == 3  # the repeated key is one secret
    assert mask.unmask(masked) == text


def test_leaves_ordinary_code_alone() -> None:
    mask = SecretMask()
    code = "def sk_test(): return 'sk-short'\nASK = 1\n"
    assert mask.mask(code) == code and mask.count == 0


@given(st.integers(1, 12), st.text(alphabet="abc GPT_LSEC\n1", max_size=40))
def test_stream_unmasking_is_split_proof(step: int, noise: str) -> None:
    mask = SecretMask()
    masked = mask.mask(f"x = '{OPENAI}'\n{noise}y = '{AWS}'\n")
    unmasker = StreamUnmasker(mask)
    pieces = [masked[i : i + step] for i in range(0, len(masked), step)]
    out = "".join(unmasker.feed(p) for p in pieces) + unmasker.finish()
    assert out == mask.unmask(masked)
    assert OPENAI in out and AWS in out


def test_titles_show_secrets_concealed() -> None:
    text = f"use {OPENAI} and {AWS} here"
    assert conceal(text) == "use [secret] and [secret] here"
    assert conceal("rename sk_test to ask") == "rename sk_test to ask"
    assert chat_action(text).label == "use [secret] and [secret] here"
    assert chat_action(text).task == text  # masked when sent, with the job's own mask
