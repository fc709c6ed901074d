"""Forms of the request pages. Validation of business rules stays in privacy.services; these only parse."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.services import MAX_NOTES, MAX_REASON


class RequestForm(forms.Form):
    customer = forms.IntegerField(label=_("Customer number"), min_value=1, max_value=2 ** 62,
                                  widget=forms.NumberInput(attrs={"class": "form-control"}))
    kind = forms.ChoiceField(label=_("Request"), choices=SubjectRequest.Kind.choices)
    received_at = forms.DateTimeField(
        label=_("Received at"), required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty: now. The answer is due counted from this day."))
    received_via = forms.ChoiceField(label=_("Received by"), choices=SubjectRequest.Via.choices,
                                     initial=SubjectRequest.Via.EMAIL)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=MAX_NOTES, widget=forms.Textarea(
        attrs={"rows": 3, "class": "form-control"}), help_text=_("How the person's identity was checked, what exactly they asked. Do not copy "
                                        "personal data here: this log is kept after an erasure."))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class CompleteForm(forms.Form):
    resolution = forms.CharField(label=_("What was done"), required=False, max_length=MAX_NOTES,
                                 widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class EraseForm(forms.Form):
    confirm = forms.CharField(label=_("Customer number"), max_length=30,
                              widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}))
