"""Commerce's codes in words (core/labels.py): order status, audit actions, record types, and how purchase and
return rows of the timeline read in the reader's language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clientwise.commerce.models import Order
from clientwise.commerce.services import format_amount
from clientwise.core import labels


def _amount(value, currency) -> str | None:
    try:
        return format_amount(Decimal(str(value)), currency or settings.CURRENCY)
    except (InvalidOperation, TypeError, ValueError):
        return None


def purchase_text(row) -> str | None:
    """"Order SO1 · ¥3,999.00" (or its cancellation) from a purchase row's payload, whoever wrote it in whatever
    language (the order service, an import, the demo); None when the payload lacks the parts."""
    p = row.payload if isinstance(row.payload, dict) else {}
    number = p.get("number")
    if not number:
        return None
    if p.get("cancelled"):
        amount = _amount(-Decimal(str(p.get("revenue_change") or 0)), p.get("currency"))
        return gettext("Order %(number)s cancelled · %(amount)s") % {"number": number, "amount": amount}
    amount = _amount(p.get("amount"), p.get("currency"))
    if amount is None:
        return None
    return gettext("Order %(number)s · %(amount)s") % {"number": number, "amount": amount}


def return_text(row) -> str | None:
    p = row.payload if isinstance(row.payload, dict) else {}
    amount = _amount(p.get("amount"), p.get("currency"))
    if not p.get("number") or amount is None:
        return None
    return gettext("Return on %(number)s · %(amount)s") % {"number": p["number"], "amount": amount}


def register() -> None:
    labels.register("commerce.order.status", Order.Status)
    labels.register_row_text("customers.interaction:purchase", purchase_text)
    labels.register_row_text("customers.interaction:return", return_text)
    labels.register("errors.code", {
        "order_cancelled": _("Order cancelled"), "over_return": _("More returned than bought"),
        "inactive_product": _("Product no longer sold"), "fractional_quantity": _("Fraction of a whole unit"),
        "discount_too_large": _("Discount larger than the amount"), "amount_mismatch": _("Amount does not add up"),
        "price_mismatch": _("Price does not add up"), "void_line": _("Void line"), "in_use": _("Still in use"),
        "category_cycle": _("Category inside itself"),
    })
    labels.register("audit.action", {
        "order.": _("Orders: any change"), "return.": _("Returns: any change"),
        "order.create": _("Order recorded"), "order.cancel": _("Order cancelled"), "return.create": _("Return recorded"),
        "product.create": _("Product created"), "product.update": _("Product changed"),
        "brand.create": _("Brand created"), "brand.update": _("Brand changed"), "brand.delete": _("Brand deleted"),
        "brand.rename_products": _("Brand renamed in product names"),
        "category.create": _("Category created"), "category.update": _("Category changed"),
        "category.delete": _("Category deleted"),
        "channel.create": _("Channel created"), "channel.update": _("Channel changed"),
        "channel.delete": _("Channel deleted"),
        "region.create": _("Region created"), "region.update": _("Region changed"), "region.delete": _("Region deleted"),
        "branch.create": _("Branch created"), "branch.update": _("Branch changed"), "branch.delete": _("Branch deleted"),
        "store.create": _("Store created"), "store.update": _("Store changed"), "store.delete": _("Store deleted"),
        "unit.create": _("Unit created"), "unit.update": _("Unit changed"), "unit.delete": _("Unit deleted"),
        "promoter.create": _("Promoter created"), "promoter.update": _("Promoter changed"),
        "promoter.delete": _("Promoter deleted"),
    })
    labels.register("model", {
        "commerce.region": _("Region"),
        "commerce.branch": _("Branch"),
        "commerce.store": _("Store"),
        "commerce.channel": _("Channel"),
        "commerce.productcategory": _("Product category"),
        "commerce.unit": _("Unit"),
        "commerce.brand": _("Brand"),
        "commerce.product": _("Product"),
        "commerce.promoter": _("Promoter"),
        "commerce.order": _("Order"),
        "commerce.return": _("Return"),
    })
