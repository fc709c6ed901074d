"""The trained model's parameters: levels random pairs never reach, and the term-frequency set-up."""

from __future__ import annotations

import math

from clientwise.dataio.identity import engine
from clientwise.dataio.identity.tests.test_blocking import PERSON, STRANGER, records


def _linker():
    from splink import DuckDBAPI, Linker

    con = records([PERSON, STRANGER])
    return Linker(DuckDBAPI(con).register("records"), engine.settings_creator())


def _level(settings_obj, comparison: str, label: str):
    comp = next(c for c in settings_obj.comparisons if c.output_column_name == comparison)
    return next(lv for lv in comp._comparison_levels_excluding_null if lv.label_for_charts == label)


def test_a_level_no_random_pair_reached_gets_u_of_one_in_the_pairs_sampled():
    """Splink 5.0 leaves u unset for a level none of the sampled random pairs reached and scores it with a default
    (a shared mobile weighed 2^9.3 on the 200k demo); the run sets it to 1 / pairs sampled (2^20 for 2M pairs)."""
    settings_obj = _linker()._settings_obj
    seen = _level(settings_obj, "gender", "same gender")
    seen.u_probability = 0.5
    fixed = engine.bound_unseen_u(settings_obj, 2e6)
    same_mobile = _level(settings_obj, "mobile", "same mobile")
    assert "mobile: same mobile" in fixed
    assert same_mobile.u_probability == 1 / 2e6
    assert seen.u_probability == 0.5
    same_mobile.m_probability = 0.58
    assert math.log2(same_mobile._bayes_factor) > 20


def test_names_and_cities_are_weighed_by_how_common_they_are():
    """A common name (张伟) or a big city agrees between strangers more often than a rare one: the exact levels
    take their u from the value's frequency, in full (weight 1)."""
    settings_obj = _linker()._settings_obj
    for comparison, label, column in (("name", "same name", "name_pinyin"),
                                      ("name", "same pinyin (another character)", "name_pinyin"),
                                      ("place", "same city", "city")):
        level = _level(settings_obj, comparison, label)
        assert level._tf_adjustment_input_column.unquote().name == column
        assert level._tf_adjustment_weight == 1.0
