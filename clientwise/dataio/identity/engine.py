"""The Splink model: comparisons, blocking rules, training and scoring over the DuckDB `records` table.

Nothing here touches Django: `extract.py` fills DuckDB, this module scores pairs, `services.py` stores them.

Training: u (how often each level happens between *different* people) by random sampling; m (how often it
happens between records of the *same* person) by expectation maximisation on the training rules, each of which
leaves the other comparisons free (same mobile; same pinyin and birth date; same ID number; same street address
and postcode): a rule whose field a customer base lacks finds no pairs and is skipped, so a base without phones
(or without ID numbers) is still trained on every comparison; the prior (how likely two random records match)
from deterministic rules with an assumed recall.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

log = logging.getLogger(__name__)


@dataclass
class DedupParams:
    """What a run may tune. Stored in DedupRun.params."""

    threshold: float = 0.9
    u_max_pairs: float = 2e6
    seed: int = 42
    # Pairs scored per predict chunk side; None lets Splink score in one pass.
    chunks: int | None = None
    # Assumed recall of the deterministic rules used to estimate the prior.
    prior_recall: float = 0.7

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Blocking rules: a pair is scored only when it shares one of these keys. Each catches a kind of duplicate
# the others miss (another phone, no email, a typo in the name, an unknown birth date). Optional fields a
# company's data often lacks (gender, email, ID number, mobile) are never combined with other fields in one
# rule: a rule made only of one such field finds the pairs that share it, and every other rule works without
# them (tests/test_blocking.py blanks each in turn). Name initials + city catch a one-character slip that changes
# the pinyin (王琪诺 typed 王琪娜, Kevin Lee typed Kein Lee) on a record without birth date or postcode: 17 of the
# 200k demo's 4,000 true pairs were never compared without it.
OPTIONAL_FIELDS = ("gender", "email", "id_number", "mobile")
BLOCKING_KEYS: list[tuple[str, ...]] = [
    ("mobile",),
    ("phone_last8",),
    ("email",),
    ("email_local",),
    ("id_number",),
    ("name_pinyin", "city"),
    ("name_sorted", "city"),
    ("name_initials", "city"),
    ("name_pinyin", "birth_year"),
    ("name_sorted", "birth_year"),
    ("birth_date", "city"),
    ("birth_date", "postal_code"),
    ("name_last", "birth_date"),
    ("name_first", "birth_date"),
    ("name_last", "postal_code"),
    ("name_first", "postal_code"),
    ("address", "postal_code"),
    ("address", "city"),
]


# Deterministic rules for the prior: pairs that share one of these are nearly always one person.
PRIOR_KEYS: list[tuple[str, ...]] = [("mobile",), ("email",), ("id_number",), ("name_sorted", "birth_date")]
# Expectation maximisation runs once per rule that finds pairs; the comparisons a rule blocks on keep the m
# estimated in the other rounds.
TRAINING_KEYS: list[tuple[str, ...]] = [("mobile",), ("name_pinyin", "birth_date"), ("id_number",),
                                        ("address", "postal_code")]


def dl_within(left: str, right: str, k: int) -> str:
    """SQL: Damerau-Levenshtein distance (a swap of two neighbours is one edit) at most k. DuckDB's
    damerau_levenshtein is several times slower than levenshtein, so it runs only where Levenshtein, which counts
    a swap as two edits, is at most 2k."""
    return (f"CASE WHEN levenshtein({left}, {right}) <= {2 * k} THEN damerau_levenshtein({left}, {right}) <= {k} "
            "ELSE false END")


def comparisons():
    # splink (heavy) loads only when a duplicate search runs.
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    # Given and family names of a name in words, in either order (name_first/name_last: first and last word).
    parts_close = (
        f"(({dl_within('name_first_l', 'name_first_r', 1)}) AND ({dl_within('name_last_l', 'name_last_r', 1)}))"
        f" OR (({dl_within('name_first_l', 'name_last_r', 1)}) AND ({dl_within('name_last_l', 'name_first_r', 1)}))")
    # One record has a single word (a missing given or family name) that is one of the other's names.
    part_missing = (
        "((name_last_l IS NULL AND name_last_r IS NOT NULL AND name_clean_l IN (name_first_r, name_last_r))"
        " OR (name_last_r IS NULL AND name_last_l IS NOT NULL AND name_clean_r IN (name_first_l, name_last_l)))")
    initial = (
        "((name_last_l = name_last_r AND left(name_first_l, 1) = left(name_first_r, 1))"
        " OR (name_first_l = name_first_r AND left(name_last_l, 1) = left(name_last_r, 1))"
        " OR (name_last_l = name_first_r AND left(name_first_l, 1) = left(name_last_r, 1))"
        " OR (name_first_l = name_last_r AND left(name_last_l, 1) = left(name_first_r, 1)))")
    one_part = ("(name_first_l IN (name_first_r, name_last_r) OR name_last_l IN (name_first_r, name_last_r))")
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="Name: as written, as pinyin, and given and family names one by one",
        comparison_levels=[
            cll.CustomLevel("name_clean_l IS NULL OR name_clean_r IS NULL").configure(is_null_level=True),
            cll.CustomLevel("name_clean_l = name_clean_r OR name_sorted_l = name_sorted_r",
                            label_for_charts="same name").configure(tf_adjustment_column="name_pinyin",
                                                                    tf_adjustment_weight=1.0),
            cll.CustomLevel("name_pinyin_l = name_pinyin_r", label_for_charts="same pinyin (another character)")
            .configure(tf_adjustment_column="name_pinyin", tf_adjustment_weight=1.0),
            cll.CustomLevel(parts_close, label_for_charts="given and family names each ≤ 1 edit (either order)"),
            cll.CustomLevel("jaro_winkler_similarity(name_pinyin_l, name_pinyin_r) >= 0.92",
                            label_for_charts="pinyin similar (Jaro-Winkler ≥ 0.92)"),
            cll.CustomLevel(part_missing, label_for_charts="one name missing, the other the same"),
            cll.CustomLevel(initial, label_for_charts="one name the same, the other's initial"),
            cll.CustomLevel("levenshtein(name_pinyin_l, name_pinyin_r) <= 2",
                            label_for_charts="pinyin close (≤ 2 edits)"),
            cll.CustomLevel(one_part, label_for_charts="one of the names the same"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="mobile",
        comparison_description="Mobile phone",
        comparison_levels=[
            cll.NullLevel("mobile"),
            cll.ExactMatchLevel("mobile").configure(label_for_charts="same mobile"),
            cll.ExactMatchLevel("phone_last8").configure(label_for_charts="same last 8 digits"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_description="Email address",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email").configure(label_for_charts="same email"),
            cll.ExactMatchLevel("email_local").configure(label_for_charts="same local part, other provider"),
            cll.JaroWinklerLevel("email_local", 0.9).configure(label_for_charts="local part similar"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_description="Birth date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts="same birth date"),
            cll.CustomLevel(dl_within("birth_date_l", "birth_date_r", 1),
                            label_for_charts="one digit differs or two swapped"),
            cll.CustomLevel("substr(birth_date_l, 6, 5) = substr(birth_date_r, 6, 5) "
                            "OR (substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) "
                            "AND substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
                            "AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2))",
                            label_for_charts="same day and month, or day and month swapped"),
            cll.CustomLevel("birth_year_l = birth_year_r", label_for_charts="same birth year"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="Street address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address").configure(label_for_charts="same address"),
            cll.CustomLevel("jaro_winkler_similarity(address_l, address_r) >= 0.9",
                            label_for_charts="address similar (Jaro-Winkler ≥ 0.9)"),
            cll.CustomLevel("jaro_winkler_similarity(address_l, address_r) >= 0.75",
                            label_for_charts="address alike (Jaro-Winkler ≥ 0.75)"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    place = cl.CustomComparison(
        output_column_name="place",
        comparison_description="Postcode, city and province",
        comparison_levels=[
            cll.CustomLevel("(postal_code_l IS NULL OR postal_code_r IS NULL) AND (city_l IS NULL OR city_r IS NULL)"
                            " AND (province_l IS NULL OR province_r IS NULL)").configure(is_null_level=True),
            cll.CustomLevel("postal_code_l = postal_code_r AND city_l = city_r",
                            label_for_charts="same postcode and city"),
            cll.ExactMatchLevel("postal_code").configure(label_for_charts="same postcode"),
            cll.ExactMatchLevel("city").configure(label_for_charts="same city",
                                               tf_adjustment_column="city"),
            cll.CustomLevel(f"({dl_within('postal_code_l', 'postal_code_r', 1)}) "
                            "OR jaro_winkler_similarity(city_l, city_r) >= 0.9",
                            label_for_charts="postcode one digit off or city similar"),
            cll.ExactMatchLevel("province").configure(label_for_charts="same province"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_description="ID number",
        comparison_levels=[
            cll.NullLevel("id_number"),
            cll.ExactMatchLevel("id_number").configure(label_for_charts="same ID number"),
            cll.CustomLevel(dl_within("id_number_l", "id_number_r", 1),
                            label_for_charts="one character differs or two swapped"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    gender = cl.CustomComparison(
        output_column_name="gender",
        comparison_description="Gender",
        comparison_levels=[
            cll.NullLevel("gender"),
            cll.ExactMatchLevel("gender").configure(label_for_charts="same gender"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    occupation = cl.CustomComparison(
        output_column_name="occupation",
        comparison_description="Occupation",
        comparison_levels=[
            cll.NullLevel("occupation"),
            cll.ExactMatchLevel("occupation").configure(label_for_charts="same occupation"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    income = cl.CustomComparison(
        output_column_name="income_band",
        comparison_description="Income band",
        comparison_levels=[
            cll.NullLevel("income_band"),
            cll.ExactMatchLevel("income_band").configure(label_for_charts="same income band"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    return [name, phone, email, birth, address, place, id_number, gender, occupation, income]


def settings_creator():
    # splink (heavy) loads only when a duplicate search runs.
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in BLOCKING_KEYS],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )


def bound_unseen_u(settings_obj, sampled_pairs: float) -> list[str]:
    """Give a level that no sampled random pair reached (same mobile, same email, same ID number) u = 1 / the
    number of pairs sampled: it happened in none of them, so between different people it is at most about that
    rare. Splink 5.0 leaves such a level's u unset and then scores it with a default u (about 1 in 1,000 for
    "same mobile" on the 200k demo: m 0.58, weight 2^9.3), so a shared mobile weighed 2^9 instead of about 2^20 and two
    records with the same mobile and a one-character typo in the name stayed under 0.9. Returns the levels set.
    """
    fixed = []
    for comparison in settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            if level._u_probability is None or isinstance(level._u_probability, str):
                level.u_probability = 1.0 / max(sampled_pairs, 1.0)
                fixed.append(f"{comparison.output_column_name}: {level.label_for_charts}")
    return fixed


def shares_key(con: duckdb.DuckDBPyConnection, table: str, cols: tuple[str, ...]) -> bool:
    """Whether two records of `table` have the same (non-null) values in all `cols`."""
    keys = ", ".join(cols)
    not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    return bool(con.execute(f"SELECT 1 FROM {table} WHERE {not_null} GROUP BY {keys} HAVING count(*) > 1 "
                            "LIMIT 1").fetchall())


@dataclass
class ScoreResult:
    """What `score` leaves behind: the DuckDB table of pairs above the threshold, and timings."""

    table: str
    pairs: int
    records: int
    seconds: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


def score(con: duckdb.DuckDBPyConnection, params: DedupParams, *, table: str = "records") -> ScoreResult:
    """Train the model on `table` and write the pairs at or above `params.threshold` to DuckDB table `pairs`."""
    # splink (heavy) loads only when a duplicate search runs.
    from splink import DuckDBAPI, Linker, block_on

    seconds: dict[str, float] = {}
    records = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    t = time.perf_counter()
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register(table), settings_creator(), log_level=logging.ERROR)
    if records < 2:
        con.execute("DROP TABLE IF EXISTS pairs")
        con.execute("CREATE TABLE pairs (unique_id_l BIGINT, unique_id_r BIGINT, match_probability DOUBLE, "
                    "match_weight DOUBLE)")
        return ScoreResult(table="pairs", pairs=0, records=records, seconds={"train": 0.0, "predict": 0.0})
    training = linker.training
    settings_obj = linker._settings_obj  # splink is pinned (pyproject); this attribute is the model's prior
    all_pairs = records * (records - 1) / 2
    try:
        training.estimate_probability_two_random_records_match(
            [block_on(*cols) for cols in PRIOR_KEYS], recall=params.prior_recall)
    except ValueError:
        # A handful of records where most pairs share a mobile (Splink: "more observed matches than is
        # consistent with the recall"): take the share of such pairs, at most one half.
        settings_obj._probability_two_random_records_match = min(0.5, records / all_pairs)
    if not settings_obj._probability_two_random_records_match:
        # No two records share a key of PRIOR_KEYS (a small or new customer base): Splink estimates a
        # prior of 0, and every match weight would be -inf. Assume one matching pair in the whole table instead.
        settings_obj._probability_two_random_records_match = 1 / all_pairs
    training.estimate_u_using_random_sampling(max_pairs=params.u_max_pairs, seed=params.seed)
    bound_unseen_u(settings_obj, min(params.u_max_pairs, all_pairs))
    for cols in TRAINING_KEYS:
        if not shares_key(con, table, cols):
            # A customer base without this field (no phones, no ID numbers) or a small, clean one has no pairs
            # under the rule. Checked before Splink is asked: its EM session leaves the model without the
            # comparisons of the rule's columns when it fails for want of pairs.
            log.info("dedup: no record pairs to train on under %s", cols)
            continue
        training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    kwargs: dict[str, Any] = {"threshold_match_probability": params.threshold}
    if params.chunks:
        kwargs.update(num_chunks_left=params.chunks, num_chunks_right=params.chunks)
    predictions = linker.inference.predict(**kwargs)
    con.execute("DROP TABLE IF EXISTS pairs")
    con.execute(f"CREATE TABLE pairs AS SELECT * FROM {predictions.physical_name}")
    predictions.drop_table_from_database_and_remove_from_cache()
    seconds["predict"] = time.perf_counter() - t
    pairs = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    model = linker.misc.save_model_to_json()
    return ScoreResult(table="pairs", pairs=pairs, records=records, seconds=seconds, model=model,
                       levels=level_labels(model))


def level_labels(model: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """For each comparison, its levels as (match weight, label); the null level weighs 0 ("missing").

    Splink's predictions carry each comparison's match weight (mw_*), not the level, so the level is found again
    by its trained weight, log2(m / u): distinct levels have distinct weights.
    """
    out: dict[str, list[tuple[float, str]]] = {}
    for comp in model.get("comparisons", []):
        levels: list[tuple[float, str]] = []
        for lv in comp["comparison_levels"]:
            if lv.get("is_null_level"):
                levels.append((0.0, "missing"))
                continue
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if m and u:
                levels.append((math.log2(m / u), lv.get("label_for_charts") or lv.get("sql_condition", "")))
        out[comp["output_column_name"]] = levels
    return out


def level_for(levels: list[tuple[float, str]], weight: float) -> str:
    if not levels:
        return ""
    best = min(levels, key=lambda lw: abs(lw[0] - weight))
    return best[1] if abs(best[0] - weight) < 1e-6 else ""


COMPARISON_NAMES = ["name", "mobile", "email", "birth_date", "address", "place", "id_number", "gender",
                    "occupation", "income_band"]


def evidence_rows(con: duckdb.DuckDBPyConnection, result: ScoreResult, *, batch: int = 20_000):
    """Yield (id_a, id_b, probability, match_weight, evidence) for the stored pairs, a batch at a time, id_a < id_b.

    Evidence per comparison: the level that applied ("same mobile", "same pinyin", "missing" ...), its match
    weight (log2 of the Bayes factor) and the Bayes factor itself: how many times likelier this agreement is
    between records of one person than between two different people (below 1 counts against the match).
    """
    have = {r[0] for r in con.execute(f"DESCRIBE {result.table}").fetchall()}
    names = [n for n in COMPARISON_NAMES if f"mw_{n}" in have]
    cols = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    cols += [f"mw_{n}" for n in names]
    cols += [f"coalesce(mw_tf_adj_{n}, 0)" if f"mw_tf_adj_{n}" in have else "0" for n in names]
    cur = con.execute(f"SELECT {', '.join(cols)} FROM {result.table} ORDER BY unique_id_l, unique_id_r")
    k = len(names)
    while True:
        rows = cur.fetchmany(batch)
        if not rows:
            break
        for row in rows:
            a, b, prob, weight = row[:4]
            evidence = {}
            for i, name in enumerate(names):
                mw = float(row[4 + i] or 0.0)
                tf = float(row[4 + k + i] or 0.0)
                total = mw + tf
                evidence[name] = {"label": level_for(result.levels.get(name, []), mw),
                                  "weight": round(total, 3), "bf": round(math.pow(2.0, max(min(total, 60), -60)), 4)}
            if a > b:
                a, b = b, a
            yield int(a), int(b), float(prob), float(weight), evidence
