"""Template context shared by every page: navigation and the user's role."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clientwise.core import permissions as perms


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        ("home", _("Home"), reverse("core:home"), "home"),
        ("customers", _("Customers"), reverse("customers:list"), "users"),
        ("orders", _("Orders"), reverse("commerce:order_list"), "receipt"),
        ("products", _("Products"), reverse("commerce:product_list"), "box"),
        ("stores", _("Stores"), reverse("commerce:store_list"), "store"),
    ]
    if perms.has_perm(user, perms.VIEW_AUDIT):
        items.append(("audit", _("Audit log"), reverse("core:audit"), "shield"))
    if perms.has_perm(user, perms.MANAGE_ATTRIBUTES):
        items.append(("attributes", _("Custom fields"), reverse("customers:attribute_list"), "sliders"))
    path = request.path
    active = ""
    for key, _label, url, _icon in items:
        if url != "/" and path.startswith(url):
            active = key
    if not active and path == "/":
        active = "home"
    return {
        "nav_items": items,
        "nav_active": active,
        "user_role": perms.user_role(user),
        "user_role_label": perms.ROLE_LABELS.get(perms.user_role(user), ""),
        "user_can_pii": perms.can_view_pii(user),
    }
