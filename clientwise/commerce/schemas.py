"""API schemas for commerce. Money goes out as strings with two decimals ("1234.50") next to a currency code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]
# Unit prices have up to four decimals: "3999.00", "1.6667" (at least two, trailing zeros past two dropped).
UnitPrice = Annotated[Decimal, PlainSerializer(
    lambda v: f"{v:.4f}".rstrip("0") if f"{v:.4f}"[-2:] != "00" else f"{v:.2f}", return_type=str,
    when_used="always")]
# Quantities go out as JSON numbers: 2, 0.755 (three decimals at most; whole unless the product's unit allows
# fractions).
Quantity = Annotated[Decimal, PlainSerializer(
    lambda v: int(v) if v == v.to_integral_value() else float(v), return_type=int | float, when_used="always")]
# Inputs stay loose (a JSON number or a string like "1,234.50"); the service parses them exactly.
AmountIn = str | int | float | None


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None
    replenishable: bool
    cycle_days: int | None


# --- reference data (commerce/reference.py): In creates, Patch changes the fields sent ------------------------------


class CategoryIn(Schema):
    code: str
    name: str
    parent_id: int | None = None
    replenishable: bool = False
    cycle_days: int | None = Field(None, description="Typical repurchase cycle of a replenishable category.")
    source: str = ""
    external_id: str | None = None


class CategoryPatch(Schema):
    code: str | None = None
    name: str | None = None
    parent_id: int | None = Field(None, description="null makes it a top-level category.")
    replenishable: bool | None = None
    cycle_days: int | None = None


class BrandOut(Schema):
    id: int
    name: str
    active: bool
    product_count: int = Field(description="Products whose brand is this one (compared ignoring case).")


class BrandIn(Schema):
    name: str
    active: bool = True
    source: str = ""
    external_id: str | None = None


class BrandPatch(Schema):
    name: str | None = Field(None, description="Renaming a brand renames it on its products.")
    active: bool | None = None


class RegionOut(Schema):
    id: int
    code: str
    name: str
    team_id: int | None


class RegionIn(Schema):
    code: str
    name: str
    team_id: int | None = None
    source: str = ""
    external_id: str | None = None


class RegionPatch(Schema):
    code: str | None = None
    name: str | None = None
    team_id: int | None = None


class BranchOut(Schema):
    id: int
    code: str
    name: str
    region_id: int
    team_id: int | None


class BranchIn(Schema):
    code: str
    name: str
    region_id: int
    team_id: int | None = None
    source: str = ""
    external_id: str | None = None


class BranchPatch(Schema):
    code: str | None = None
    name: str | None = None
    region_id: int | None = None
    team_id: int | None = None


class ChannelIn(Schema):
    code: str
    name: str
    kind: Literal["store", "web", "phone", "partner", "app"]


class ChannelPatch(Schema):
    code: str | None = None
    name: str | None = None
    kind: Literal["store", "web", "phone", "partner", "app"] | None = None


class UnitOut(Schema):
    id: int
    code: str
    name: str
    fractional: bool = Field(description="Whether an order line may hold a fraction of the unit (kg, L).")
    active: bool


class UnitIn(Schema):
    code: str
    name: str
    fractional: bool = False
    active: bool = True


class UnitPatch(Schema):
    code: str | None = None
    name: str | None = None
    fractional: bool | None = None
    active: bool | None = None


Rate = Annotated[Decimal, PlainSerializer(lambda v: f"{v.normalize():f}", return_type=str, when_used="always")]


class ExchangeRateOut(Schema):
    id: int
    currency: str
    day: dt.date = Field(description="The first day (local calendar) the rate applies to; it applies until the "
                                     "currency's next rate, for at most FX_RATE_VALID_DAYS days.")
    rate: Rate = Field(description="Units of the base currency per unit of `currency` (a string, up to eight "
                                   "decimals).")
    base_currency: str
    converted: int = Field(0, description="On create and change: orders that were waiting for this rate and were "
                                          "converted by it.")


class ExchangeRateIn(Schema):
    currency: str
    day: dt.date
    rate: str | int | float


class ExchangeRatePatch(Schema):
    currency: str | None = None
    day: dt.date | None = None
    rate: str | int | float | None = None


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category_id: int
    category_name: str
    brand: str
    model: str
    attributes: dict[str, Any]
    list_price: Money
    unit_cost: Money | None = Field(None, description="Only for roles that may see costs; null otherwise.")
    currency: str
    active: bool
    source: str
    external_id: str | None


class ProductIn(Schema):
    sku: str
    name: str
    category_id: int
    brand: str = ""
    model: str = ""
    attributes: dict[str, Any] = {}
    list_price: AmountIn = None
    unit_cost: AmountIn = None
    active: bool = True
    source: str = ""
    external_id: str | None = None


class ProductPatch(Schema):
    sku: str | None = None
    name: str | None = None
    category_id: int | None = None
    brand: str | None = None
    model: str | None = None
    attributes: dict[str, Any] | None = None
    list_price: AmountIn = None
    unit_cost: AmountIn = None
    active: bool | None = None


class ProductPage(Schema):
    items: list[ProductOut]
    next_cursor: str | None
    prev_cursor: str | None


class StoreOut(Schema):
    id: int
    code: str
    name: str
    branch_id: int
    branch_name: str
    region_id: int
    region_name: str
    province: str
    city: str
    district: str
    urban_rural: str
    opened_on: dt.date | None
    active: bool


class StoreIn(Schema):
    code: str
    name: str
    branch_id: int
    province: str = ""
    city: str = ""
    district: str = ""
    urban_rural: str = ""
    opened_on: dt.date | None = None
    active: bool = True
    source: str = ""
    external_id: str | None = None


class StorePatch(Schema):
    code: str | None = None
    name: str | None = None
    branch_id: int | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    urban_rural: str | None = None
    opened_on: dt.date | None = None
    active: bool | None = Field(None, description="false closes the store (kept with its orders).")


class StorePage(Schema):
    items: list[StoreOut]
    next_cursor: str | None
    prev_cursor: str | None


class ChannelOut(Schema):
    id: int
    code: str
    name: str
    kind: str


class OrderLineIn(Schema):
    product_id: int | None = None
    sku: str | None = None
    quantity: int | str | float = Field(description="Greater than zero; up to three decimals when the product's unit "
                                                    "allows fractions (kg, L).")
    unit_price: AmountIn = Field(None, description="Up to four decimals. Defaults to the product's list price.")
    amount: AmountIn = Field(None, description="What the customer paid for the line: when given, it is kept and "
                                               "the unit price derived (amount + discounts) ÷ quantity.")
    discount: AmountIn = Field(None, description="A promotion (retail) discount; same as promotion_discount.")
    promotion_discount: AmountIn = None
    coupon_discount: AmountIn = None
    loyalty_discount: AmountIn = None
    manual_discount: AmountIn = None


class OrderIn(Schema):
    customer_id: int
    lines: list[OrderLineIn]
    store_id: int | None = None
    channel_id: int | None = None
    channel_code: str | None = None
    sales_rep_id: int | None = None
    promoter_id: int | None = None
    ordered_at: dt.datetime | None = None
    number: str | None = None
    source: str = ""
    external_id: str | None = None
    currency: str | None = Field(None, description="Defaults to the configured currency (settings.CURRENCY).")


class OrderLineOut(Schema):
    id: int
    product_id: int
    sku: str
    product_name: str
    quantity: Quantity
    unit_price: UnitPrice
    promotion_discount: Money
    coupon_discount: Money
    loyalty_discount: Money
    manual_discount: Money
    discount: Money = Field(description="The sum of the four discounts.")
    amount: Money
    cost: Money | None = None
    returned_quantity: Quantity = Decimal(0)


class ReturnLineOut(Schema):
    order_line_id: int
    quantity: Quantity
    amount: Money


class ReturnOut(Schema):
    id: int
    order_id: int
    customer_id: int
    returned_at: dt.datetime
    amount: Money
    currency: str
    reason: str
    lines: list[ReturnLineOut]


class OrderSummaryOut(Schema):
    id: int
    number: str
    customer_id: int
    customer_name: str
    store_id: int | None
    store_name: str | None
    channel_id: int | None
    channel_code: str | None
    ordered_at: dt.datetime
    status: str
    currency: str
    subtotal: Money
    discount: Money
    amount: Money
    fx_rate: Rate | None = Field(None, description="The exchange rate captured when the order was stored: units of "
                                                   "the base currency per unit of `currency` (1 in the base "
                                                   "currency). Null: no rate for the order's day yet — the order "
                                                   "is in no total until one is entered.")
    base_amount: Money | None = Field(None, description="The amount in the base currency (`base_currency`) at "
                                                        "fx_rate; null while the order waits for a rate.")
    base_currency: str = ""
    line_count: int
    missing_lines: int = Field(0, description="Lines still in an import's quarantine: the order is partial until "
                                              "they are replayed into it.")


class OrderOut(OrderSummaryOut):
    sales_rep_id: int | None
    promoter_id: int | None
    cost: Money | None = None
    margin: Money | None = None
    returned_amount: Money
    source: str
    external_id: str | None
    lines: list[OrderLineOut]
    returns: list[ReturnOut]


class OrderPage(Schema):
    items: list[OrderSummaryOut]
    next_cursor: str | None
    prev_cursor: str | None


class CancelIn(Schema):
    reason: str


class ReturnLineIn(Schema):
    order_line_id: int
    quantity: int | str


class ReturnIn(Schema):
    lines: list[ReturnLineIn]
    reason: str = ""
    returned_at: dt.datetime | None = None
    source: str = ""
    external_id: str | None = None


class OrderFilterIn(Schema):
    """Query parameters of GET /orders (the order list page parses the same names)."""

    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    store_id: int | None = None
    channel_id: int | None = None
    status: Literal["", "completed", "cancelled"] = ""
    customer_id: int | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
