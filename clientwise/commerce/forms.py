"""Forms for commerce pages. They only shape input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clientwise.accounts.models import Team
from clientwise.commerce.models import Branch, Channel, ProductCategory, Region
from clientwise.commerce.queries import category_tree


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    category_id = forms.TypedChoiceField(label=_("Category"), coerce=int)
    brand = forms.CharField(label=_("Brand"), max_length=60, required=False)
    model = forms.CharField(label=_("Model"), max_length=60, required=False)
    list_price = forms.CharField(label=_("List price"), max_length=20, required=False)
    unit_cost = forms.CharField(label=_("Unit cost"), max_length=20, required=False)
    attributes = forms.CharField(
        label=_("Attributes"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line, as name: value (for example network: 5G)."))
    active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = [("", "—")] + [
            (c.pk, f"{c.parent.name} / {c.name}" if c.parent_id else c.name)
            for c in ProductCategory.objects.select_related("parent").order_by("code")]
        for name, field in self.fields.items():
            css = "form-check-input" if name == "active" else (
                "form-select" if isinstance(field.widget, forms.Select) else "form-control")
            field.widget.attrs.setdefault("class", css)

    def clean_attributes(self) -> dict:
        out = {}
        for number, raw in enumerate((self.cleaned_data.get("attributes") or "").splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            sep = ":" if ":" in line else ("：" if "：" in line else "=" if "=" in line else None)
            if sep is None:
                raise forms.ValidationError(_("Line %(n)s is not “name: value”.") % {"n": number})
            key, value = (part.strip() for part in line.split(sep, 1))
            if not key:
                raise forms.ValidationError(_("Line %(n)s has no name.") % {"n": number})
            out[key] = value
        return out

    @staticmethod
    def attributes_text(attributes: dict) -> str:
        return "\n".join(f"{k}: {v}" for k, v in (attributes or {}).items())


# --- Reference data (commerce/reference.py validates and writes) ----------------------------------------------------


class _StyledForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = ("form-check-input" if isinstance(field.widget, forms.CheckboxInput) else
                   "form-select" if isinstance(field.widget, forms.Select) else "form-control")
            field.widget.attrs.setdefault("class", css)

    @property
    def checkboxes(self):
        return [f for f in self if isinstance(f.field.widget, forms.CheckboxInput)]

    @property
    def inputs(self):
        return [f for f in self if not isinstance(f.field.widget, forms.CheckboxInput)]


def _choices(rows, label=lambda r: f"{r.name} ({r.code})", empty="—"):
    return [("", empty)] + [(r.pk, label(r)) for r in rows]


class CategoryForm(_StyledForm):
    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)
    parent_id = forms.TypedChoiceField(label=_("Parent category"), coerce=int, required=False, empty_value=None)
    replenishable = forms.BooleanField(label=_("Replenishable (bought again on a cycle)"), required=False)
    cycle_days = forms.IntegerField(label=_("Typical cycle (days)"), min_value=1, required=False)

    def __init__(self, *args, exclude_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["parent_id"].choices = _choices(
            [c for c in category_tree() if c.pk != exclude_id],
            label=lambda c: "\u2003" * c.depth + f"{c.name} ({c.code})", empty=_("— none (top level) —"))


class BrandForm(_StyledForm):
    name = forms.CharField(label=_("Name"), max_length=60)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class RegionForm(_StyledForm):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=100)
    team_id = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["team_id"].choices = [("", "—")] + [(t.pk, t.name) for t in Team.objects.order_by("name")]


class BranchForm(RegionForm):
    region_id = forms.TypedChoiceField(label=_("Region"), coerce=int)

    field_order = ["code", "name", "region_id", "team_id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["region_id"].choices = _choices(Region.objects.order_by("code"))


class ChannelForm(_StyledForm):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["kind"].choices = Channel.Kind.choices


class UnitForm(_StyledForm):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=60)
    fractional = forms.BooleanField(label=_("Fractions allowed (sold by weight or volume)"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class ExchangeRateForm(_StyledForm):
    currency = forms.CharField(label=_("Currency"), max_length=3, help_text=_("USD, EUR, HKD…"))
    day = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}),
                          help_text=_("Applies to orders from this day until the currency's next rate."))
    rate = forms.DecimalField(label=_("Rate"), max_digits=18, decimal_places=8, min_value=0,
                              help_text=_("Units of the base currency for one unit of this currency."))


class StoreForm(_StyledForm):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=100)
    branch_id = forms.TypedChoiceField(label=_("Branch"), coerce=int)
    province = forms.CharField(label=_("Province"), max_length=40, required=False)
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    district = forms.CharField(label=_("District"), max_length=60, required=False)
    urban_rural = forms.ChoiceField(label=_("Urban or rural"), required=False,
                                    choices=[("", "—"), ("urban", _("Urban")), ("rural", _("Rural"))])
    opened_on = forms.DateField(label=_("Opened on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    active = forms.BooleanField(label=_("Open"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["branch_id"].choices = _choices(Branch.objects.select_related("region").order_by("code"),
                                                    label=lambda b: f"{b.region.name} / {b.name} ({b.code})")
