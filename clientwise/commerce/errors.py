"""Error codes of commerce: orders, returns, line rules and reference data (a DomainError's `code`; the API, the
forms and the import quarantine show the same one). The imports of orders and products reuse these codes."""

from __future__ import annotations

import enum

from clientwise.core.errors import register_codes


class CommerceErrorCode(enum.StrEnum):
    ORDER_CANCELLED = "order_cancelled"  # a cancelled order cannot be cancelled again or take returns
    OVER_RETURN = "over_return"  # returning more than was bought (less what was returned already)
    INACTIVE_PRODUCT = "inactive_product"  # the product is no longer sold
    FRACTIONAL_QUANTITY = "fractional_quantity"  # a fraction of a unit that is counted in whole pieces
    DISCOUNT_TOO_LARGE = "discount_too_large"  # the discounts exceed the line's gross amount
    AMOUNT_MISMATCH = "amount_mismatch"  # the stated amount does not match quantity × price − discounts
    PRICE_MISMATCH = "price_mismatch"  # the stated unit price does not match amount ÷ quantity
    VOID_LINE = "void_line"  # a zero-quantity (voided) line, skipped or rejected by the import's line policy
    IN_USE = "in_use"  # reference data still used by other rows cannot be deleted
    CATEGORY_CYCLE = "category_cycle"  # a category placed inside itself or its own descendant


register_codes(CommerceErrorCode, {
    CommerceErrorCode.ORDER_CANCELLED: 409, CommerceErrorCode.IN_USE: 409,
})
