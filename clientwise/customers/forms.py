"""Forms for the customer pages. They only shape input; the services validate and their errors are mapped back
onto the fields (`apply_domain_errors`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clientwise.core.errors import DomainError, ValidationFailed
from clientwise.customers.models import Consent, ContactPoint, CustomAttribute, Customer, Interaction

# Service field names → form field names.
FIELD_MAP = {"owner_id": "owner", "team_id": "team", "organization_id": "organization"}


def apply_domain_errors(form: forms.Form, exc: DomainError) -> None:
    """Show each service error next to its field (or at the top when the form has no such field)."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    for err in errors:
        name = err.field or ""
        if name.startswith("custom."):
            name = "custom_" + name.split(".", 1)[1]
        name = FIELD_MAP.get(name, name)
        form.add_error(name if name in form.fields else None, err.message)


def _blank(choices):
    return [("", "—")] + [(v, label) for v, label in choices if v != ""]


class CustomerForm(forms.Form):
    """Profile, primary mobile/email (create only), tags and the admin-defined custom attributes."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices, initial=Customer.Kind.PERSON)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    member_number = forms.CharField(label=_("Member number"), max_length=40, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=Customer.Status.choices, initial=Customer.Status.ACTIVE)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    organization = forms.TypedChoiceField(label=_("Organization"), required=False, coerce=int, empty_value=None)
    mobile = forms.CharField(label=_("Mobile"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=_blank(Customer.Gender.choices), required=False)
    birth_date = forms.CharField(label=_("Birth date"), required=False, max_length=30,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    occupation = forms.CharField(label=_("Occupation"), max_length=100, required=False)
    income_band = forms.ChoiceField(label=_("Income band"), choices=_blank(Customer.IncomeBand.choices), required=False)
    urban_rural = forms.ChoiceField(label=_("Urban or rural"), choices=_blank(Customer.Area.choices), required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    province = forms.CharField(label=_("Province"), max_length=40, required=False)
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    customer_since = forms.CharField(label=_("Customer since"), required=False, max_length=30,
                                     widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text=_("When the relationship began; a new customer left blank starts "
                                                 "today."))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000,
                           help_text=_("Separate tags with commas."))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, owners=(), teams=(), organizations=(), attributes=(), creating=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—")] + [(u.pk, str(u)) for u in owners]
        self.fields["team"].choices = [("", "—")] + [(t.pk, str(t)) for t in teams]
        self.fields["organization"].choices = [("", "—")] + [(o.pk, o.name) for o in organizations]
        if not creating:
            del self.fields["mobile"]
            del self.fields["email"]
        self.attributes = list(attributes)
        for attr in self.attributes:
            self.fields[f"custom_{attr.key}"] = self._attribute_field(attr)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    @staticmethod
    def _attribute_field(attr: CustomAttribute) -> forms.Field:
        common = {"label": attr.label, "required": False, "help_text": attr.help_text}
        if attr.type == CustomAttribute.Type.NUMBER:
            return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
        if attr.type == CustomAttribute.Type.DATE:
            return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        if attr.type == CustomAttribute.Type.BOOLEAN:
            return forms.ChoiceField(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))], **common)
        if attr.type == CustomAttribute.Type.CHOICE:
            return forms.ChoiceField(choices=[("", "—")] + [(str(c), str(c)) for c in attr.choices], **common)
        return forms.CharField(max_length=500, **common)

    @property
    def profile_fields(self):
        skip = {"mobile", "email", "tags", "notes"} | {f"custom_{a.key}" for a in self.attributes}
        return [self[name] for name in self.fields if name not in skip]

    @property
    def custom_fields(self):
        return [self[f"custom_{a.key}"] for a in self.attributes]

    def service_data(self) -> dict:
        """The cleaned input in the shape services.create_customer/update_customer take."""
        d = self.cleaned_data
        data = {k: d.get(k) for k in ("kind", "name", "member_number", "status", "gender", "birth_date", "occupation",
                                      "income_band", "urban_rural", "id_number", "industry", "province", "city",
                                      "notes", "customer_since")}
        data["owner_id"], data["team_id"], data["organization_id"] = d.get("owner"), d.get("team"), d.get("organization")
        data["custom"] = {a.key: d.get(f"custom_{a.key}") or None for a in self.attributes}
        return data

    def tag_names(self) -> list[str]:
        raw = (self.cleaned_data.get("tags") or "").replace("，", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]

    @staticmethod
    def initial_for(customer: Customer) -> dict:
        initial = {f: getattr(customer, f) for f in ("kind", "name", "member_number", "status", "gender", "occupation",
                                                      "income_band", "urban_rural", "id_number", "industry",
                                                      "province", "city", "notes")}
        initial["birth_date"] = customer.birth_date.isoformat() if customer.birth_date else ""
        initial["customer_since"] = customer.customer_since.isoformat() if customer.customer_since else ""
        initial["owner"], initial["team"] = customer.owner_id, customer.team_id
        initial["organization"] = customer.organization_id
        initial["tags"] = ", ".join(t.name for t in customer.tags.all())
        for key, value in (customer.custom or {}).items():
            initial[f"custom_{key}"] = ("true" if value else "false") if isinstance(value, bool) else value
        return initial


class ContactPointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactPoint.Kind.choices)
    value = forms.CharField(label=_("Value"), max_length=300, required=False)
    label = forms.CharField(label=_("Label"), max_length=40, required=False)
    province = forms.CharField(label=_("Province"), max_length=40, required=False)
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    district = forms.CharField(label=_("District"), max_length=60, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=12, required=False)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class ContactPointEditForm(ContactPointForm):
    status = forms.ChoiceField(label=_("Status"), choices=ContactPoint.Status.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["kind"]


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=Consent.Channel.choices)
    purpose = forms.ChoiceField(choices=Consent.Purpose.choices)
    status = forms.ChoiceField(choices=Consent.Status.choices)


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), initial="call",
                             choices=[(k, label) for k, label in Interaction.Kind.choices
                                      if k in Interaction.MANUAL_KINDS])
    direction = forms.ChoiceField(label=_("Direction"), required=False,
                                  choices=[("", "—"), ("out", _("Outbound")), ("in", _("Inbound"))])
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Details"), required=False, max_length=10000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    occurred_at = forms.DateTimeField(label=_("When"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])


class AttributeForm(forms.Form):
    key = forms.CharField(label=_("Key"), max_length=50, required=False,
                          help_text=_("Used in imports and the API, e.g. shoe_size."))
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=CustomAttribute.Type.choices)
    choices = forms.CharField(label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("For choice attributes: one choice per line."))
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=200, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=100000, initial=0, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-check-input")
            else:
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
                field.widget.attrs.setdefault("class", css)
