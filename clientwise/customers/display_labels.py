"""The customer record's codes in words (core/labels.py): timeline kinds, audit actions, where PII was viewed."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core import audit_display, labels
from clientwise.customers.models import Consent, ContactPoint, Customer, Interaction


def register() -> None:
    labels.register("customers.interaction.kind", Interaction.Kind)
    labels.register("customers.contact.kind", ContactPoint.Kind)
    labels.register("customers.customer.status", Customer.Status)
    labels.register("customers.customer.kind", Customer.Kind)
    labels.register("errors.code", {"customer_archived": _("Customer archived")})
    labels.register("customers.consent.status", Consent.Status)
    labels.register("customers.consent.channel", Consent.Channel)
    labels.register("customers.consent.purpose", Consent.Purpose)
    # A customer field by its name (owner_id → 负责人): the model field's verbose name, as the audit log shows it.
    labels.register_resolver("customers.customer.field",
                             lambda name: audit_display.field_label("customers.customer", name))
    labels.register("audit.action", {
        "customer.": _("Customers: any change"), "contact.": _("Contacts: any change"),
        "consent.": _("Consents: any change"),
        "customer.create": _("Customer created"), "customer.update": _("Customer changed"),
        "customer.archive": _("Customer archived"), "customer.restore": _("Customer restored"),
        "customer.merge": _("Duplicates merged into this customer"),
        "customer.merged_into": _("Merged into another customer"), "customer.unmerge": _("Merge undone"),
        "customer.reassign": _("Owner changed"), "customer.tags": _("Tags changed"),
        "customer.share": _("Shared with a team"), "customer.unshare": _("Sharing ended"),
        "contact.create": _("Contact detail added"), "contact.update": _("Contact detail changed"),
        "contact.delete": _("Contact detail removed"), "consent.set": _("Consent recorded"),
        "interaction.create": _("Contact logged"), "attribute.save": _("Custom field saved"),
        "attribute.delete": _("Custom field deleted"),
    })
    labels.register("audit.detail.context", {"customer_list": _("customer list"), "customer_360": _("customer page"),
                                             "call_screen": _("call screen")})
    labels.register("audit.detail.kind", ContactPoint.Kind)
    labels.register("model", {
        "customers.customer": _("Customer"),
        "customers.customershare": _("Sharing with a team"),
        "customers.tag": _("Tag"),
        "customers.customattribute": _("Custom field"),
        "customers.contactpoint": _("Contact detail"),
        "customers.consent": _("Consent"),
        "customers.interaction": _("Timeline entry"),
    })
