"""Answers real models write to code-writing actions, with the code each must leave in the file.

`expected` None: the answer holds no code; the job must fail and keep the answer for reading.
The first three are the answers of issue 14 (SmolLM2-135M-Instruct at temperature 1), verbatim
as far as the issue quotes them. Shared by the unit tests and the e2e replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AREA = "def area(t):\n    w, h = t\n    return w * h\n"


@dataclass(frozen=True)
class Case:
    """One answer, the text it must leave in the region (None: no code), and its context."""

    name: str
    answer: str
    expected: str | None
    original: str = "def area(t):\n    return t[0] * t[1]\n"
    before: tuple[str, ...] = field(default_factory=tuple)
    after: tuple[str, ...] = field(default_factory=tuple)
    flash: bool = False  # a line that reads as code may show until the answer corrects it


CORPUS = [
    Case(
        "issue-prose-with-parenthesis-then-tagged-fence",
        "To make the code more idiomatic ... renders the original selection (without repeating "
        "context). Here's how it can be done:\n\n```python\n" + AREA + "```\n\n"
        "This version unpacks the tuple (width, height) first.",
        AREA,
    ),
    Case(
        "issue-fence-mid-line",
        "... use tuple unpacking to concatenate them: ```def area(t):\n    w, h = t\n"
        "    return w * h\n```\nThis is shorter.",
        AREA,
    ),
    Case(
        "issue-prose-only",
        "Based on the code, we can't match the output that follows the selection.\n"
        "Here's a solution to match ...",
        None,
    ),
    Case(
        "sure-heres-the-updated-function",
        "Sure! Here's the updated function:\n```python\n" + AREA + "```",
        AREA,
    ),
    Case(
        "fence-after-a-first-line-of-code",
        "def area(t):\n```python\n" + AREA + "```\n",
        AREA,
    ),
    Case(
        "bare-fence-after-a-first-line-of-code",
        "def area(t):\n```\n" + AREA + "```\nDone.",
        AREA,
    ),
    Case(
        "words-after-the-closing-fence",
        "```python\n" + AREA + "``` Hope this helps! Let me know if you need anything else.",
        AREA,
    ),
    Case(
        "apology",
        "I'm sorry, but I can't help with that request.",
        None,
    ),
    Case(
        "apology-with-reason",
        "Unfortunately, the selection does not contain enough context to refactor it.\n\n"
        "Could you share the rest of the module?",
        None,
    ),
    Case(
        "chinese-lead-in",
        "以下是修改后的代码：\n```python\n" + AREA + "```\n说明：使用了元组解包。",
        AREA,
    ),
    Case(
        "chinese-lead-in-without-phrase",
        "修改后的代码如下：\n\n```\n" + AREA + "```",
        AREA,
    ),
    Case(
        "think-block-then-fence",
        "<think>\nThe user wants tuple unpacking. I should answer with code only.\n</think>\n"
        "```python\n" + AREA + "```",
        AREA,
    ),
    Case(
        "think-block-after-a-lead-in",
        "Here is the code:\n<think>Keep the name.</think>\n```python\n" + AREA + "```",
        AREA,
    ),
    Case(
        "think-without-its-opening-tag",
        "Okay, the user wants tuple unpacking.\nwidth = t[0] maybe\n</think>\n\n```python\n"
        + AREA
        + "```",
        AREA,
        flash=True,
    ),
    Case(
        "think-only",
        "<think>\nI am not sure what to change.\n</think>\n",
        None,
    ),
    Case(
        "fence-inside-a-docstring",
        'def area(t):\n    """Returns the area.\n\n    ```python\n    area((2, 3))\n    ```\n'
        '    """\n    w, h = t\n    return w * h\n',
        'def area(t):\n    """Returns the area.\n\n    ```python\n    area((2, 3))\n    ```\n'
        '    """\n    w, h = t\n    return w * h\n',
    ),
    Case(
        "fence-inside-a-docstring-inside-a-fence",
        'Here you go:\n```python\ndef area(t):\n    """Example:\n\n    ```\n    area((2, 3))\n'
        '    ```\n    """\n    w, h = t\n    return w * h\n```\nThe docstring has an example.',
        'def area(t):\n    """Example:\n\n    ```\n    area((2, 3))\n    ```\n    """\n'
        "    w, h = t\n    return w * h\n",
    ),
    Case(
        "code-then-commentary-without-fence",
        AREA + "\nThis version unpacks the tuple before multiplying.\n",
        AREA,
    ),
    Case(
        "code-then-bare-fence-then-commentary",
        AREA + "```\n\nThe function now unpacks the tuple.",
        AREA,
    ),
    Case(
        "lead-in-then-unfenced-code",
        "Here is the refactored function:\n\n" + AREA,
        AREA,
    ),
    Case(
        "plain-code",
        AREA,
        AREA,
    ),
    Case(
        "repeats-the-context-around-the-selection",
        "class Shape:\n    # Areas.\n" + AREA + "\n\ndef perimeter(t):\n",
        AREA,
        before=("class Shape:", "# Areas."),
        after=("def perimeter(t):", "return 2 * sum(t)"),
    ),
    Case(
        "repeats-the-context-inside-a-fence",
        "```python\nimport math\n" + AREA + "```",
        AREA,
        before=("import math",),
    ),
]

# Issue 18 item 14 (SmolLM2-135M-Instruct at temperature 1.3, a refactor): three paragraphs and
# no code; the filter dropped the first and wrote this one long line with quotes in it, verbatim
# as far as the issue quotes it. The paragraphs around it are of the same model's kind.
ISSUE_18_LINE = (
    "You just need to make sure to maintain a simple and idiomatic syntax throughout your "
    "entire file. Since you already provided the output for no-repeat conditions in an error "
    "message, there's no need for an explanation. But to be even clearer, it would be better "
    'if you included this: "In Python 3, when you do not specify a context to the code inside '
    'that selection (no "not applicable here"), you are refactoring something. ..."'
)
ISSUE_18_FIRST = (
    "The selection already does what it should, so there is nothing to refactor in the code itself."
)
ISSUE_18_LAST = (
    'Remember that "idiomatic" means what most Python programmers would write, and "simple" '
    "means fewer moving parts. That is all the selection needs."
)
# A long message in code: a string literal of sentences with quoted phrases, and a docstring.
LONG_LITERAL = (
    "def area(t):\n"
    '    """Returns the area. It is "width" times "height". Both must be positive. '
    'Otherwise "ValueError" is raised, as the caller expects."""\n'
    "    w, h = t\n"
    "    if w < 0 or h < 0:\n"
    "        raise ValueError(\"The sides must be positive. You passed a 'negative' one. "
    "Check the 'shape' first.\")\n"
    "    return w * h\n"
)
HELP_TEXT = (
    "HELP = (\n"
    '    "You just need to pass the tuple. Since the function unpacks it, there is no need '
    'for an index. But to be clearer, name it: \\"width\\" and \\"height\\"."\n'
    ")\n"
)
NOTE_LITERAL = (
    "NOTE = \"You just need to keep it simple. Since the code is short, say 'why' not "
    "'what'. That is all.\"\n"
)
MODULE_DOC = (
    '"""Areas of shapes.\n\n'
    'You just need to pass a tuple. Since "area" unpacks it, there is no need for an index. '
    'But to be clearer, name the sides "width" and "height".\n"""\n\n' + AREA
)

CORPUS += [
    Case("issue18-long-line-with-quotes", ISSUE_18_LINE, None),
    Case(
        "issue18-three-paragraphs",
        f"{ISSUE_18_FIRST}\n\n{ISSUE_18_LINE}\n\n{ISSUE_18_LAST}\n",
        None,
    ),
    Case(
        "issue18-paragraphs-without-blank-lines",
        f"{ISSUE_18_FIRST}\n{ISSUE_18_LINE}\n{ISSUE_18_LAST}",
        None,
    ),
    Case(
        "issue18-after-a-tokenizers-leading-space",
        f" {ISSUE_18_FIRST}\n\n{ISSUE_18_LINE}\n\n{ISSUE_18_LAST}\n",
        None,
    ),
    Case(
        "a-leading-space-before-code",
        " " + AREA,
        " " + AREA,
    ),
    Case(
        "long-line-with-curly-and-single-quotes",
        "You should keep the ‘width’ and ‘height’ names as they are. The caller passes “a "
        "tuple” and expects a number back. Changing that would break 'area' for everyone.",
        None,
    ),
    Case(
        "long-line-cut-off-inside-a-quote",
        'The function is fine as written. But if you want it clearer, write this: "Unpack '
        "the tuple first, then multiply the sides, so that the reader sees",
        None,
    ),
    Case(
        "sentences-then-the-quoted-line-then-code-in-a-fence",
        f"{ISSUE_18_FIRST}\n\n{ISSUE_18_LINE}\n\n```python\n{AREA}```\n",
        AREA,
    ),
    Case("long-docstring-and-message-with-quotes", LONG_LITERAL, LONG_LITERAL),
    Case("implicitly-joined-help-text", HELP_TEXT, HELP_TEXT),
    Case("a-literal-of-sentences-with-quotes", NOTE_LITERAL, NOTE_LITERAL),
    Case("module-docstring-of-sentences-with-quotes", MODULE_DOC, MODULE_DOC),
]

# A Markdown answer to `explain`: it goes to the notes document whole.
EXPLAIN = (
    "## What it does\n\n`area` multiplies the two sides of a rectangle:\n\n"
    "```python\narea((2, 3))  # 6\n```\n\n- It takes a tuple.\n- It returns a number.\n"
)


# Pathological answers as (head, repeated piece, tail): a line that never ends, a held blank
# line, long code and prose lines, held prose mode, many lines, many think tags on one line.
# bench/answer_filter.py times the same answers at full size.
PATHOLOGICAL = [
    ("", "word ", ""),  # a prose-like first line that never ends
    ("```\n", " ", ""),  # a held blank line
    ("```\n", "x = 1 # ", ""),  # a long code line
    ("Here is it:\n", "a\n", ""),  # held prose mode
    ("```\n", "x = 1\n", ""),
    ("", "<think></think>", "x = 1"),  # tags on one line: a loop, not recursion
    ("", "</think>", ""),
    ("", 'You said "this". ', ""),  # a long line of sentences quoting phrases
]
