"""Order-line rules as pure functions: reading a quantity and a unit price, pricing a line, the currency of an
order, and matching lines of an order already stored. `commerce.services.create_order` (pages, API), the orders
import's per-row reference handler and its column-wise handler all call these, so a line is priced the same way
whichever door it comes through (docs/import.md, "Order lines").

Pricing a line (`price_line`), all money rounded half up to the cent:

- quantity: at least 0, at most three decimals, and whole unless the product's unit allows fractions
  (kg, L; a product without a unit is sold in whole pieces). 0 is a void line.
- unit-price basis (the default): gross = round(quantity × unit price) (unit price: up to four decimals, the
  product's list price when missing); discounts (promotion, coupon, loyalty, manual) are cents and their sum may
  not exceed gross; amount = gross − discounts. A line amount given beside it must agree within a cent.
- amount basis (the line amount is what the customer paid, e.g. a POS export's multi-buy "3 for 5.00"): the given
  amount is kept as is; gross = amount + discounts; the unit price is derived, gross ÷ quantity rounded to four
  decimals. A unit price given beside it must agree with gross within half a cent per unit plus half a cent (a
  price printed to the cent: 1.67 × 3 = 5.01 for a line paid 5.00).
- cost = round(quantity × the product's unit cost).

So gross − discounts = amount holds on every line to the cent, and an order's subtotal, discount, amount and cost
are the sums of its lines' (no rounding at the order level).
"""

from __future__ import annotations

import bisect
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from django.conf import settings
from django.utils.translation import gettext as _

from clientwise.commerce.errors import CommerceErrorCode
from clientwise.core.errors import DomainError, ErrorCode

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
ZERO = Decimal("0.00")
QUANTITY_PLACES = Decimal("0.001")
PRICE_PLACES = Decimal("0.0001")
MAX_QUANTITY = Decimal(1_000_000)
MAX_PRICE = Decimal("1e10")
KNOWN_CURRENCIES = ("CNY", "USD", "EUR", "HKD")
DISCOUNT_KINDS = ("promotion", "coupon", "loyalty", "manual")

# Line policies of an orders import: what happens to an order with an invalid line.
WHOLE_ORDER = "whole_order"  # the order goes in whole or not at all
KEEP_VALID = "keep_valid"  # the valid lines are stored; the order is marked partial until its lines are replayed
LINE_POLICIES = (KEEP_VALID, WHOLE_ORDER)
# What happens to a void line (quantity 0).
VOID_KEEP, VOID_SKIP, VOID_QUARANTINE = "keep", "skip", "quarantine"
VOID_POLICIES = (VOID_KEEP, VOID_SKIP, VOID_QUARANTINE)
# Which value of a line is the truth.
BASIS_UNIT_PRICE, BASIS_AMOUNT = "unit_price", "amount"
PRICE_BASES = (BASIS_UNIT_PRICE, BASIS_AMOUNT)


# Units of measure (weight, volume, length, area) are sold in fractions: a unit created from an import's unit
# column allows them when its code is one of these (case and spaces ignored); any other (pcs, 件, 瓶…) counts
# whole pieces. The unit's page can change it either way.
MEASURE_UNITS = frozenset({
    "kg", "g", "mg", "t", "lb", "lbs", "oz", "公斤", "千克", "克", "斤", "两", "吨",
    "l", "ml", "cl", "dl", "gal", "升", "毫升", "公升",
    "m", "cm", "mm", "km", "ft", "in", "米", "厘米", "毫米", "公里",
    "m2", "m²", "㎡", "sqm", "平方米", "平米", "m3", "m³", "立方米", "kwh", "度",
})


def unit_allows_fractions(code: str) -> bool:
    """Whether a unit with this code is a measure sold in fractions (kg, L, m…) rather than a count of pieces."""
    return "".join(str(code or "").split()).lower() in MEASURE_UNITS


def _round(value: Decimal, places: Decimal = CENT) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def parse_quantity(text: str, field: str = "quantity") -> Decimal:
    """A quantity from its text ('2', '1,000', '0.755'): at least 0, at most three decimals, at most 1,000,000."""
    try:
        number = Decimal(str(text).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number < 0:
        raise DomainError(ErrorCode.INVALID, _("Quantity must be a number, zero or more."), field)
    if number > MAX_QUANTITY:
        raise DomainError(ErrorCode.INVALID, _("Quantity is too large."), field)
    if number != number.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP):
        raise DomainError(ErrorCode.INVALID, _("Quantity has at most three decimals."), field)
    return number.quantize(QUANTITY_PLACES)


def parse_unit_price(text: str, field: str = "unit_price") -> Decimal:
    """A unit price from its text ('1.6667', '¥1,234.50', '7.89元'): at least 0, rounded half up to four decimals."""
    cleaned = re.sub(r"[,\s¥￥元]|CNY|RMB", "", str(text))
    try:
        number = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or abs(number) >= MAX_PRICE:
        raise DomainError(ErrorCode.INVALID_AMOUNT, _("“%(value)s” is not an amount.") % {"value": text}, field)
    if number < 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, _("An amount cannot be negative."), field)
    return _round(number, PRICE_PLACES)


def currencies() -> tuple[str, ...]:
    """The currencies an order may be in: the configured one (settings.CURRENCY) and the known ones."""
    configured = str(getattr(settings, "CURRENCY", "CNY") or "CNY").upper()
    return KNOWN_CURRENCIES if configured in KNOWN_CURRENCIES else (configured, *KNOWN_CURRENCIES)


def default_currency() -> str:
    """An order's currency when none is given (the Order model's default too): settings.CURRENCY."""
    return str(getattr(settings, "CURRENCY", "CNY") or "CNY").upper()


def base_currency() -> str:
    """The currency every total, measure and model counts in: settings.CURRENCY (the default currency too)."""
    return default_currency()


RATE_PLACES = Decimal("0.00000001")
MAX_RATE = Decimal("1e9")


def parse_rate(text, field: str = "rate") -> Decimal:
    """An exchange rate from its text ('7.1234', '0,0482'): units of the base currency per unit of the other,
    greater than zero, at most eight decimals."""
    try:
        number = Decimal(str(text).replace(",", ".").strip()) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number <= 0 or number >= MAX_RATE:
        raise DomainError(ErrorCode.INVALID, _("An exchange rate is a number greater than zero."), field)
    if number != number.quantize(RATE_PLACES, rounding=ROUND_HALF_UP):
        raise DomainError(ErrorCode.INVALID, _("An exchange rate has at most eight decimals."), field)
    return number.quantize(RATE_PLACES)


def rate_valid_days() -> int:
    """How long a rate applies when no later rate of its currency follows: settings.FX_RATE_VALID_DAYS (31)."""
    return int(getattr(settings, "FX_RATE_VALID_DAYS", 31))


def rate_on(days: list, rates: list, day, valid_days: int) -> Decimal | None:
    """The rate of one currency on `day`: of its rates (`days` ascending, `rates` beside them) the one with the
    latest day on or before `day`, unless that day is `valid_days` or more days before it; None when there is
    none (the order waits for a rate)."""
    i = bisect.bisect_right(days, day) - 1
    if i < 0 or (day - days[i]).days >= valid_days:
        return None
    return rates[i]


def to_base(amount: Decimal, rate: Decimal | None) -> Decimal | None:
    """An amount in the base currency at `rate`, rounded half up to the cent (None without a rate)."""
    if rate is None:
        return None
    if rate == 1:
        return amount
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)


def clean_currency(value: str | None, default: str | None = None, field: str = "currency") -> str:
    """The currency of an order: the given code (any case), else `default` (an import mapping's), else
    settings.CURRENCY. An unknown code is an error."""
    code = (value or "").strip().upper() or (default or "").strip().upper() or default_currency()
    if code not in currencies():
        raise DomainError(ErrorCode.INVALID, _("Unknown currency %(value)s.") % {"value": code}, field)
    return code


class PricedLine(NamedTuple):
    """A priced line as it is stored: quantity, unit price (four decimals), gross, the four discounts, their
    sum, the net amount (what the customer paid) and the cost, all money in cents. (A named tuple: imports price
    a line per distinct combination of values, often once per line.)"""

    quantity: Decimal
    unit_price: Decimal
    gross: Decimal
    promotion: Decimal
    coupon: Decimal
    loyalty: Decimal
    manual: Decimal
    discount: Decimal
    amount: Decimal
    cost: Decimal

    @property
    def void(self) -> bool:
        return not self.quantity

    def key(self, product_id: int) -> tuple:
        """What identifies this line among its order's lines when a file comes again (see `match_lines`)."""
        return (product_id, self.quantity, self.unit_price, self.discount, self.amount)


def price_line(*, quantity: Decimal, unit_price: Decimal | None, amount: Decimal | None, list_price: Decimal,
               unit_cost: Decimal, fractional: bool, promotion: Decimal = ZERO, coupon: Decimal = ZERO,
               loyalty: Decimal = ZERO, manual: Decimal = ZERO, basis: str = BASIS_UNIT_PRICE) -> PricedLine:
    """Price one line (the rules in this module's docstring). Raises DomainError with the field at fault:
    fractional_quantity, discount_too_large, amount_mismatch, price_mismatch."""
    return price_values(quantity, unit_price, amount, list_price, unit_cost, fractional, promotion, coupon, loyalty,
                        manual, basis)


def price_values(quantity: Decimal, unit_price: Decimal | None, amount: Decimal | None, list_price: Decimal,
                 unit_cost: Decimal, fractional: bool, promotion: Decimal, coupon: Decimal, loyalty: Decimal,
                 manual: Decimal, basis: str) -> PricedLine:
    """`price_line` with positional arguments, for imports that price a line per distinct combination of values."""
    if not fractional and quantity != quantity.to_integral_value():
        raise DomainError(CommerceErrorCode.FRACTIONAL_QUANTITY, _(
            "This product is sold in whole units; %(quantity)s is a fraction.") % {
            "quantity": f"{quantity.normalize():f}"}, "quantity")
    discount = promotion + coupon + loyalty + manual if (coupon or loyalty or manual) else promotion
    if basis == BASIS_AMOUNT and amount is not None:
        gross = amount + discount
        if not quantity:
            if gross:
                raise DomainError(CommerceErrorCode.AMOUNT_MISMATCH, _(
                    "A void line (quantity 0) cannot have an amount or a discount."), "amount")
            price = list_price if unit_price is None else unit_price
        else:
            price = _round(gross / quantity, PRICE_PLACES)
            if unit_price is not None and abs(unit_price * quantity - gross) > quantity * HALF_CENT + HALF_CENT:
                raise DomainError(CommerceErrorCode.PRICE_MISMATCH, _(
                    "The unit price %(price)s does not fit the amount: %(gross)s ÷ %(quantity)s is %(derived)s.") % {
                    "price": f"{unit_price.normalize():f}", "gross": f"{gross:.2f}",
                    "quantity": f"{quantity.normalize():f}", "derived": f"{price.normalize():f}"}, "unit_price")
    else:
        price = list_price if unit_price is None else unit_price
        gross = (price * quantity).quantize(CENT, ROUND_HALF_UP)
        if discount > gross:
            raise DomainError(CommerceErrorCode.DISCOUNT_TOO_LARGE, _(
                "The discount (%(discount)s) is larger than quantity × unit price (%(gross)s).") % {
                "discount": f"{discount:.2f}", "gross": f"{gross:.2f}"}, "discount")
        net = gross - discount
        if amount is not None and abs(amount - net) > CENT:
            raise DomainError(CommerceErrorCode.AMOUNT_MISMATCH, _(
                "The amount %(amount)s is not quantity × unit price − discount (%(expected)s).") % {
                "amount": f"{amount:.2f}", "expected": f"{net:.2f}"}, "amount")
        amount = net
    return PricedLine(quantity, price, gross, promotion, coupon, loyalty, manual, discount, amount,
                      (unit_cost * quantity).quantize(CENT, ROUND_HALF_UP))


def match_lines(stored: list[tuple], incoming: list[tuple], missing: int) -> list[bool] | None:
    """Which incoming lines of an order already stored are new: each incoming line key (`PricedLine.key`) that
    equals a stored line's (each stored line matched once) is already there; the others are new, and may be
    added only while the order misses that many lines (a partial order waiting for its quarantined lines).
    Returns one flag per incoming line (True: new), or None when the lines do not fit the stored order."""
    left: dict[tuple, int] = {}
    for key in stored:
        left[key] = left.get(key, 0) + 1
    new = []
    for key in incoming:
        if left.get(key):
            left[key] -= 1
            new.append(False)
        else:
            new.append(True)
    if sum(new) > missing:
        return None
    return new
