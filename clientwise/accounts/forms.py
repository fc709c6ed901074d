"""Forms for account pages. They only parse and validate input; services do the writing."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from clientwise.accounts.models import Team
from clientwise.accounts.queries import team_choices
from clientwise.core import permissions as perms


class BootstrapMixin:
    """Adds Bootstrap classes to every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class LoginForm(BootstrapMixin, AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PasswordForm(BootstrapMixin, PasswordChangeForm):
    pass


def language_choices():
    return [("", _("Follow the browser"))] + [(code, name) for code, name in settings.LANGUAGES]


class ProfileForm(BootstrapMixin, forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False, choices=language_choices)


EXPIRY_CHOICES = [("", _("Never")), ("30", _("30 days")), ("90", _("90 days")), ("365", _("1 year"))]


class TokenForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. POS feed, reporting script")}))
    expires_in_days = forms.TypedChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, required=False,
                                             coerce=int, empty_value=None)


def role_choices():
    return [("", _("No role (cannot sign in to anything)"))] + [(r.value, perms.ROLE_LABELS[r]) for r in perms.Role]


def team_choice_list():
    return [("", _("No team"))] + team_choices()


class UserEditForm(BootstrapMixin, forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=role_choices, required=False)
    team = forms.TypedChoiceField(label=_("Team"), choices=team_choice_list, required=False, coerce=int,
                                  empty_value=None)
    view_pii = forms.BooleanField(label=_("May see personal data (phone, email, ID number, address)"), required=False)
    is_active = forms.BooleanField(label=_("Active (may sign in)"), required=False)

    def team_obj(self) -> Team | None:
        team_id = self.cleaned_data.get("team")
        return Team.objects.filter(pk=team_id).first() if team_id else None


class UserCreateForm(UserEditForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput(render_value=False),
                               help_text=_("The user can change it under “Change password”."))
    field_order = ["username", "display_name", "email", "password", "role", "team", "view_pii"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["is_active"]
        self.fields["view_pii"].help_text = _("Leave unticked to use the role's default (administrators and "
                                              "managers see personal data).")
        self.fields["password"].widget.attrs["autocomplete"] = "new-password"

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class SetPasswordAdminForm(BootstrapMixin, forms.Form):
    new_password = forms.CharField(label=_("New password"), widget=forms.PasswordInput(render_value=False))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["new_password"].widget.attrs["autocomplete"] = "new-password"

    def clean_new_password(self):
        password = self.cleaned_data["new_password"]
        password_validation.validate_password(password, self.user)
        return password


KIND_CHOICES = Team.Kind.choices


class TeamForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES)
    parent = forms.TypedChoiceField(label=_("Belongs to"), choices=(), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, exclude_ids=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("— top level —"))] + [
            (pk, path) for pk, path in team_choices() if pk not in set(exclude_ids)
        ]
        if editing:
            self.fields["kind"].disabled = True

    def parent_obj(self) -> Team | None:
        parent_id = self.cleaned_data.get("parent")
        return Team.objects.filter(pk=parent_id).first() if parent_id else None
