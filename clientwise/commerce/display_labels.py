"""Commerce's codes in words (core/labels.py): its audit actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
    from clientwise.commerce.models import Order
    from clientwise.core import labels

    labels.register("commerce.order.status", Order.Status)
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
