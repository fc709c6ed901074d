"""The quantity measure sums NUMERIC(14,3) order-line quantities: shown with up to three decimals (kg, L), none
when whole."""

from decimal import Decimal

from clientwise.reports.display import fmt_value
from clientwise.reports.runner import _num


def test_quantities_keep_their_fractions():
    assert _num(Decimal("1234.500"), "qty") == 1234.5
    assert _num(2.0004, "qty") == 2.0
    assert fmt_value(1234.5, "qty") == "1,234.5"
    assert fmt_value(35.27, "qty") == "35.27"
    assert fmt_value(1250.0, "qty") == "1,250"
    assert fmt_value(0.0, "qty") == "0"
    assert fmt_value(None, "qty") == ""
