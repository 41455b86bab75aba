"""The closed-answer parser on outputs written the way real VLMs write them."""

from __future__ import annotations

import pytest

from mimir.tools.vlm.parsing import parse_closed

OPTS = {"A": "The lesion is larger", "B": "stable", "C": "The lesion is smaller", "D": "Resolved"}
YN = {"A": "yes", "B": "no"}
SIDES = {"A": "left", "B": "right", "C": "bilateral"}

CASES = [
    # (output, options, letter, status)
    ("A", OPTS, "A", "letter"),
    ("B", OPTS, "B", "letter"),
    ("(A)", OPTS, "A", "letter"),
    ("(c)", OPTS, "C", "letter"),
    ("A.", OPTS, "A", "letter"),
    ("d", OPTS, "D", "letter"),
    ("  C  \n", OPTS, "C", "letter"),
    ("Answer: A.", OPTS, "A", "letter"),
    ("answer: b", OPTS, "B", "letter"),
    ("The answer is B: stable", OPTS, "B", "letter"),
    ("The answer is (C) The lesion is smaller.", OPTS, "C", "letter"),
    ("The correct answer is D.", OPTS, "D", "letter"),
    ("**B**", OPTS, "B", "letter"),
    ("**Answer:** C", OPTS, "C", "letter"),
    ("Answer: **A** - The lesion is larger", OPTS, "A", "letter"),
    ("B. stable", OPTS, "B", "letter"),
    ("B) stable", OPTS, "B", "letter"),
    ("C: The lesion is smaller", OPTS, "C", "letter"),
    ("Option B", OPTS, "B", "letter"),
    ("The best option is option A.", OPTS, "A", "letter"),
    ("Comparing both scans, the lesion has shrunk, so the answer is C.", OPTS, "C", "letter"),
    ("I would choose (B) because nothing changed.", OPTS, "B", "letter"),
    ("Choice: D", OPTS, "D", "letter"),
    ("[A]", OPTS, "A", "letter"),
    ("A", YN, "A", "letter"),
    ("Answer: B. no", YN, "B", "letter"),
    # option text without its letter
    ("stable", OPTS, "B", "text_match"),
    ("The lesion is smaller.", OPTS, "C", "text_match"),
    ("Resolved", OPTS, "D", "text_match"),
    ("resolved.", OPTS, "D", "text_match"),
    ("In the follow-up image the finding appears stable compared with the prior.", OPTS, "B", "text_match"),
    ("Yes", YN, "A", "text_match"),
    ("no.", YN, "B", "text_match"),
    ("The mass is in the right kidney.", SIDES, "B", "text_match"),
    ("larger", OPTS, "A", "text_match"),
    # refusals
    ("I cannot determine the answer from these images.", OPTS, None, "refusal"),
    ("I'm sorry, but I can't tell whether A or B is correct without a clinical history.", OPTS, None, "refusal"),
    ("It is not possible to determine the change between the studies.", OPTS, None, "refusal"),
    ("There is not enough information in the images.", OPTS, None, "refusal"),
    ("The images are of insufficient quality; I am unable to answer.", OPTS, None, "refusal"),
    # ambiguous or empty
    ("A or B", OPTS, None, "unparsed"),
    ("Either (A) or (C).", OPTS, None, "unparsed"),
    ("The answer is A, or possibly the answer is B.", OPTS, None, "unparsed"),
    ("A, B", OPTS, None, "unparsed"),
    ("", OPTS, None, "unparsed"),
    ("The images show a chest radiograph.", OPTS, None, "unparsed"),
    ("E", OPTS, None, "unparsed"),
    ("A lesion is visible in both images.", YN, None, "unparsed"),
    ("left and right", SIDES, None, "unparsed"),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("output", "options", "letter", "status"), CASES)
def test_parse_closed(output: str, options: dict[str, str], letter: str | None, status: str) -> None:
    parsed = parse_closed(output, options)
    assert (parsed.letter, parsed.status) == (letter, status), output
