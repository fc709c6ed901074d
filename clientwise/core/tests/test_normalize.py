"""The fast paths of core.normalize give exactly what the general code gives.

Phones: normalize_phone answers an 11-digit mainland mobile text from a per-prefix cache instead of parsing it.
That is sound when (1) every pattern of the CN metadata, restricted to 11-digit numbers that begin like the
fast-path texts, leaves the digits after the prefix unconstrained — proved here by expanding each pattern into
its fixed-length alternatives — and (2) the fast and the general path agree on every prefix, checked on each
prefix with several suffixes.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import phonenumbers
import pytest
from phonenumbers.phonemetadata import PhoneMetadata

from clientwise.core import normalize as N
from clientwise.core.errors import DomainError

try:  # Python 3.11+
    from re import _constants as C
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as C
    import sre_parse

DIGITS = frozenset("0123456789")
LENGTH = 11
# The first three digits of the texts the fast path takes (CN_MOBILE_RE).
HEADS = [h for h in (f"1{a}{b}" for a in "0123456789" for b in "0123456789") if N.CN_MOBILE_RE.fullmatch(h + "0" * 8)]


def _class(items) -> frozenset:
    out: set[str] = set()
    negate = False
    for op, arg in items:
        if op is C.LITERAL:
            out.add(chr(arg))
        elif op is C.RANGE:
            out.update(chr(c) for c in range(arg[0], arg[1] + 1))
        elif op is C.CATEGORY and arg is C.CATEGORY_DIGIT:
            out.update(DIGITS)
        elif op is C.NEGATE:
            negate = True
        else:
            raise AssertionError(f"unexpected class item {op} {arg}")
    return (DIGITS - out) if negate else frozenset(out & DIGITS)


def _expand(items, budget: int) -> set[tuple]:
    """Every way the pattern items can match at most `budget` characters, as tuples of per-position digit sets."""
    if not items:
        return {()}
    op, arg = items[0]
    if op is C.LITERAL:
        firsts = {(frozenset({chr(arg)}),)}
    elif op is C.IN:
        firsts = {(_class(arg),)}
    elif op is C.SUBPATTERN:
        firsts = _expand(list(arg[-1]), budget)
    elif op is C.BRANCH:
        firsts = set().union(*(_expand(list(alt), budget) for alt in arg[1]))
    elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
        low, high, sub = arg
        firsts, current = set(), {()}
        for k in range(0, min(high, budget) + 1):
            if k >= low:
                firsts |= current
            current = {a + b for a in current for b in _expand(list(sub), budget - len(a)) if len(a + b) <= budget}
            if not current:
                break
    else:
        raise AssertionError(f"unexpected pattern item {op}")
    out = set()
    for first in firsts:
        if len(first) > budget:
            continue
        for rest in _expand(items[1:], budget - len(first)):
            out.add(first + rest)
    return out


def _alternatives(pattern: str, length: int) -> set[tuple]:
    return {seq for seq in _expand(list(sre_parse.parse(pattern)), length) if len(seq) == length}


def _cn_patterns() -> dict[str, str]:
    meta = PhoneMetadata.metadata_for_region("CN")
    names = ["general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
             "voip", "pager", "uan", "voicemail"]
    return {n: getattr(meta, n).national_number_pattern for n in names
            if getattr(meta, n) is not None and getattr(meta, n).national_number_pattern}


def test_expansion_reads_patterns_right():
    assert _alternatives(r"1(?:3\d|4[57])\d{2}", 5) == {
        (frozenset("1"), frozenset("3"), DIGITS, DIGITS, DIGITS),
        (frozenset("1"), frozenset("4"), frozenset("57"), DIGITS, DIGITS)}
    assert len(_alternatives(r"[2-9]\d{3,4}", 5)) == 1 and _alternatives(r"[2-9]\d{3,4}", 6) == set()


def test_cn_validity_of_fast_path_numbers_depends_only_on_the_prefix():
    checked = 0
    for name, pattern in _cn_patterns().items():
        for seq in _alternatives(pattern, LENGTH):
            if not any(all(h[i] in seq[i] for i in range(3)) for h in HEADS):
                continue  # no fast-path text can match this alternative
            checked += 1
            free = [s == DIGITS for s in seq[N.CN_MOBILE_PREFIX:]]
            assert all(free), (name, [sorted(s) for s in seq])
    assert checked >= 2  # the mobile ranges at least


def test_fast_path_agrees_with_phonenumbers_on_every_prefix():
    rng = random.Random(7)
    heads = {h for h in HEADS}
    assert "138" in heads and "179" not in heads and "120" not in heads
    prefixes = [f"{p:05d}" for p in range(10000, 20000) if f"{p:05d}"[:3] in heads]
    assert len(prefixes) == 6900
    for prefix in prefixes:
        for suffix in ("000000", "999999", f"{rng.randrange(10 ** 6):06d}"):
            text = prefix + suffix
            expected = _general(text)
            assert _fast(text) == expected, text
            number = phonenumbers.parse(text, "CN")
            assert (number.country_code, number.national_number) == (86, int(text))


def _general(text: str):
    try:
        return N._normalize_phone(text, "CN", "mobile")
    except DomainError as exc:
        return (exc.code, exc.message, exc.field)


def _fast(text: str):
    assert N.CN_MOBILE_RE.fullmatch(text)
    try:
        return N.normalize_phone(text, region="CN", field="mobile")
    except DomainError as exc:
        return (exc.code, exc.message, exc.field)


@pytest.mark.parametrize("text", ["13812345678", "17400123456", "17406123456", "16101234567", "16201234567",
                                  "12345678901", "17912345678", "138 1234 5678", "+8613812345678", "12345", ""])
def test_normalize_phone_examples_match_general_path(text, settings):
    settings.PHONE_REGION = "CN"
    try:
        got = N.normalize_phone(text, field="mobile")
    except DomainError as exc:
        got = (exc.code, exc.message, exc.field)
    try:
        want = N._normalize_phone(text.strip(), "CN", "mobile")
    except DomainError as exc:
        want = (exc.code, exc.message, exc.field)
    assert got == want


def test_fast_path_only_for_region_cn():
    with pytest.raises(DomainError):
        N.normalize_phone("13812345678", region="US")


@pytest.mark.parametrize("text", ["2025-03-01", "1990-01-02", "2024-02-29", "2025-02-29", "2025-13-01", "0000-01-01",
                                  "0001-01-01", "2025-3-1", "2025/3/1", "2025年3月1日", "01/03/2025", "20250301", "x"])
def test_parse_date_matches_strptime_formats(text):
    def slow(value):
        for fmt in N.DATE_FORMATS:
            try:
                return dt.datetime.strptime(value, fmt).date()
            except ValueError:
                continue
        return "invalid"

    try:
        got = N.parse_date(text)
    except DomainError:
        got = "invalid"
    assert got == slow(text)


def test_iso_shape_is_ascii_only():
    assert not N.ISO_DATE_RE.fullmatch("２０２５-03-01")
    assert re.fullmatch(N.ISO_DATE_RE, "2025-03-01")
