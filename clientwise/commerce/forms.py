"""Forms for commerce pages. They only shape input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clientwise.commerce.models import ProductCategory


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
