"""Purchases: orders, their lines and returns. These are accounting facts: erasure keeps every order, line and
return with its amounts, dates, products and store (they stay attached to the anonymised customer) and blanks only
the free-text return reason, which may describe the person."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.commerce.models import Order, OrderLine, Return
from clientwise.privacy.sections.base import Col, table


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    orders = table("orders", _("Orders"), Order.objects.filter(customer_id__in=ids).select_related(
        "store", "channel").order_by("ordered_at", "id"), [
        "number", "ordered_at", "status",
        ("store", _("store"), lambda o: o.store.name if o.store else ""),
        ("channel", _("channel"), lambda o: o.channel.name if o.channel else ""),
        "currency", "subtotal", "discount", "amount", Col("line_count", pgettext_lazy("export column", "Lines")),
    ], model=Order)
    lines = table("order_lines", _("Order lines"), OrderLine.objects.filter(customer_id__in=ids).select_related(
        "order", "product").order_by("order__ordered_at", "order_id", "id"), [
        ("order", _("order number"), lambda li: li.order.number),
        ("sku", _("SKU"), lambda li: li.product.sku),
        ("product", _("product"), lambda li: li.product.name),
        "quantity", "unit_price", "discount", "amount",
    ], model=OrderLine)
    returns = table("returns", _("Returns"), Return.objects.filter(customer_id__in=ids).select_related("order")
                    .order_by("returned_at", "id"), [
        ("order", _("order number"), lambda r: r.order.number), "returned_at", "amount", "reason",
    ], model=Return)
    return [orders, lines, returns]


def erase(erasure) -> None:
    ids = list(erasure.subject.customer_ids)
    erasure.count("commerce.return_reasons_blanked",
                  Return.objects.filter(customer_id__in=ids).exclude(reason="").update(reason=""))
    kept = Order.objects.filter(customer_id__in=ids).aggregate(n=Count("id"), total=Sum("amount"))
    erasure.kept["orders"] = kept["n"]
    erasure.kept["orders_amount"] = str(Decimal(kept["total"] or 0).quantize(Decimal("0.01")))
    erasure.pii_keys.add("reason")
