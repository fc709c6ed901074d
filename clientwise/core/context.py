"""Template context shared by every page: navigation and the user's role."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clientwise.core import extensions
from clientwise.core import permissions as perms


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Icon names are Bootstrap Icons (bi-<name>). Only pages the role may open are listed.
    items = [("home", _("Home"), reverse("core:home"), "house")]
    if perms.has_perm(user, perms.VIEW_CUSTOMERS):
        items.append(("customers", _("Customers"), reverse("customers:list"), "people"))
    if perms.has_perm(user, perms.VIEW_ORDERS):
        items += [
            ("orders", _("Orders"), reverse("commerce:order_list"), "receipt"),
            ("products", _("Products"), reverse("commerce:product_list"), "box-seam"),
            ("stores", _("Stores"), reverse("commerce:store_list"), "shop"),
            ("reference", _("Reference data"), reverse("commerce:reference"), "diagram-3"),
        ]
    if perms.has_perm(user, perms.VIEW_ANALYTICS):
        items.append(("analytics", _("Analytics"), reverse("analytics:index"), "graph-up-arrow"))
    for entry in extensions.NAV:  # sales, service, reports… (registered in their AppConfig.ready)
        if entry.perm is None or perms.has_perm(user, entry.perm):
            items.append((entry.key, entry.label, reverse(entry.url_name), entry.icon))
    if perms.has_perm(user, perms.MERGE):
        items.append(("duplicates", _("Duplicates"), reverse("identity:queue"), "intersect"))
    if perms.has_perm(user, perms.VIEW_CUSTOMERS):
        items.append(("quality", _("Data quality"), reverse("quality:index"), "clipboard-check"))
    if perms.has_perm(user, perms.IMPORT):
        items.append(("imports", _("Data import"), reverse("dataio:import_list"), "upload"))
    if perms.has_perm(user, perms.VIEW_AUDIT):
        items.append(("audit", _("Audit log"), reverse("core:audit"), "shield-check"))
    if perms.has_perm(user, perms.MANAGE_ATTRIBUTES):
        items.append(("attributes", _("Custom fields"), reverse("customers:attribute_list"), "sliders"))
    if perms.has_perm(user, perms.MANAGE_USERS):
        items.append(("users", _("Users and teams"), reverse("accounts:users"), "person-gear"))
    path = request.path
    active = ""
    for key, _label, url, _icon in items:
        if url != "/" and path.startswith(url):
            active = key
    if not active and path.startswith(reverse("accounts:teams")) and perms.has_perm(user, perms.MANAGE_USERS):
        active = "users"
    if not active and path == "/":
        active = "home"
    return {
        "nav_items": items,
        "nav_active": active,
        "user_role": perms.user_role(user),
        "user_role_label": perms.ROLE_LABELS.get(perms.user_role(user), ""),
        "user_can_pii": perms.can_view_pii(user),
        "user_perms": perms.ROLE_PERMISSIONS.get(perms.user_role(user), set()) if perms.user_role(user) else set(),
    }
