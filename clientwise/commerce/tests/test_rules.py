"""commerce.rules: pricing one order line, reading quantities and unit prices, currencies, matching stored lines."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from clientwise.commerce import rules
from clientwise.core.errors import DomainError


def price(**kw):
    base = {"unit_price": None, "amount": None, "list_price": D("20.00"), "unit_cost": D("5.00"), "fractional": False}
    return rules.price_line(**{**base, **kw})


def test_unit_price_basis_rounds_half_up_to_the_cent_and_subtracts_every_discount():
    line = price(quantity=D("3"), unit_price=D("1.6675"), promotion=D("0.10"), coupon=D("0.20"),
                 loyalty=D("0.30"), manual=D("0.01"))
    assert line.gross == D("5.00")  # 5.0025 → 5.00
    assert (line.discount, line.amount) == (D("0.61"), D("4.39"))
    assert price(quantity=D("1"), unit_price=D("0.005")).gross == D("0.01")  # half up, not half even
    assert price(quantity=D("1"), unit_price=D("0.015")).gross == D("0.02")
    assert price(quantity=D("2")).gross == D("40.00")  # the list price when no unit price
    assert price(quantity=D("2")).cost == D("10.00")


def test_a_given_amount_must_agree_within_a_cent_on_the_unit_price_basis():
    assert price(quantity=D("3"), unit_price=D("1.67"), amount=D("5.00")).amount == D("5.01")  # computed kept
    with pytest.raises(DomainError) as exc:
        price(quantity=D("3"), unit_price=D("1.67"), amount=D("4.99"))
    assert (exc.value.code, exc.value.field) == ("amount_mismatch", "amount")


def test_amount_basis_keeps_what_the_customer_paid_and_derives_the_unit_price():
    multi = price(quantity=D("3"), unit_price=D("1.67"), amount=D("5.00"), basis=rules.BASIS_AMOUNT)
    assert (multi.gross, multi.amount, multi.unit_price) == (D("5.00"), D("5.00"), D("1.6667"))
    fuel = price(quantity=D("35.27"), unit_price=D("7.89"), amount=D("278.28"), fractional=True,
                 basis=rules.BASIS_AMOUNT, unit_cost=D("6.5"))
    assert (fuel.amount, fuel.unit_price, fuel.cost) == (D("278.28"), D("7.8900"), D("229.26"))
    discounted = price(quantity=D("2"), amount=D("36.00"), coupon=D("4.00"), basis=rules.BASIS_AMOUNT)
    assert (discounted.gross, discounted.discount, discounted.unit_price) == (D("40.00"), D("4.00"), D("20.0000"))
    # without an amount the line is priced from its unit price
    assert price(quantity=D("2"), basis=rules.BASIS_AMOUNT).amount == D("40.00")
    with pytest.raises(DomainError) as exc:  # 1.99 × 3 = 5.97 is not 5.00 give or take half a cent a unit
        price(quantity=D("3"), unit_price=D("1.99"), amount=D("5.00"), basis=rules.BASIS_AMOUNT)
    assert (exc.value.code, exc.value.field) == ("price_mismatch", "unit_price")


def test_fractions_only_for_units_that_allow_them():
    with pytest.raises(DomainError) as exc:
        price(quantity=D("0.5"))
    assert (exc.value.code, exc.value.field) == ("fractional_quantity", "quantity")
    assert price(quantity=D("0.5"), fractional=True).amount == D("10.00")


def test_void_lines_and_too_large_discounts():
    void = price(quantity=D("0"))
    assert void.void and (void.gross, void.amount, void.cost) == (D("0.00"), D("0.00"), D("0.00"))
    with pytest.raises(DomainError) as exc:
        price(quantity=D("0"), amount=D("1.00"), basis=rules.BASIS_AMOUNT)
    assert exc.value.code == "amount_mismatch"
    with pytest.raises(DomainError) as exc:
        price(quantity=D("1"), promotion=D("15.00"), manual=D("5.01"))
    assert (exc.value.code, exc.value.field) == ("discount_too_large", "discount")


@pytest.mark.parametrize(("text", "value"), [("2", D("2")), ("1,000", D("1000")), ("0.755", D("0.755")),
                                             ("0", D("0")), ("35.270", D("35.27"))])
def test_parse_quantity(text, value):
    assert rules.parse_quantity(text) == value


@pytest.mark.parametrize("text", ["-1", "x", "", "1.2345", "2000000", "NaN", "Infinity"])
def test_parse_quantity_refuses(text):
    with pytest.raises(DomainError):
        rules.parse_quantity(text)


def test_parse_unit_price_keeps_four_decimals():
    assert rules.parse_unit_price("1.66666") == D("1.6667")
    assert rules.parse_unit_price("¥1,234.5") == D("1234.5000")
    for bad in ("-1", "abc", "1e20"):
        with pytest.raises(DomainError):
            rules.parse_unit_price(bad)


def test_currency_from_the_row_the_mapping_or_the_settings(settings):
    settings.CURRENCY = "USD"
    assert rules.clean_currency("") == "USD"
    assert rules.clean_currency("", "hkd") == "HKD"
    assert rules.clean_currency("eur", "HKD") == "EUR"
    settings.CURRENCY = "SGD"  # the configured currency is always allowed
    assert rules.clean_currency(None) == "SGD"
    with pytest.raises(DomainError) as exc:
        rules.clean_currency("XYZ")
    assert (exc.value.code, exc.value.field) == ("invalid", "currency")


def test_match_lines_finds_new_lines_of_a_partial_order():
    a, b, c = (1, D("1"), D("20"), D("0"), D("20")), (2, D("2"), D("5"), D("0"), D("10")), (3, D("1"), D("1"), 0, 1)
    assert rules.match_lines([a, b], [a, b], 0) == [False, False]  # the same lines again
    assert rules.match_lines([a, b], [b, c, a], 1) == [False, True, False]  # one line the order missed
    assert rules.match_lines([a, b], [c], 0) is None  # a complete order takes no new line
    assert rules.match_lines([a], [a, a], 1) == [False, True]  # each stored line matches once
    assert rules.match_lines([a], [c, c], 1) is None
