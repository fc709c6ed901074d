"""Account pages: sign-in, password, personal settings, API tokens, users and teams. Thin: services write."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clientwise.accounts import forms, queries, services
from clientwise.accounts.models import Team, User
from clientwise.core import permissions as perms
from clientwise.core.decorators import add_domain_error, perm_required
from clientwise.core.errors import DomainError
from clientwise.core.pagination import keyset_page


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = forms.PasswordForm
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        services.change_password(user=self.request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, self.request.user)
        return redirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


def _set_language_cookie(response, language: str) -> None:
    """Remember the choice in this browser too, so the sign-in page speaks the same language."""
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
                            samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax", path=settings.LANGUAGE_COOKIE_PATH)
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)


@login_required
def profile(request):
    user = request.user
    if request.method == "POST":
        form = forms.ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.update_profile(user=user, display_name=form.cleaned_data["display_name"],
                                        email=form.cleaned_data["email"], language=form.cleaned_data["language"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                translation.activate(user.language or translation.get_language_from_request(request))
                messages.success(request, _("Your settings were saved."))
                response = redirect("accounts:profile")
                _set_language_cookie(response, user.language)
                return response
    else:
        form = forms.ProfileForm(initial={"display_name": user.display_name, "email": user.email,
                                          "language": user.language})
    return render(request, "accounts/profile.html", {
        "form": form,
        "role_label": perms.ROLE_LABELS.get(perms.user_role(user), ""),
        "team_path": dict(queries.team_choices()).get(user.team_id, "") if user.team_id else "",
        "token_count": queries.tokens_of(user).filter(revoked_at__isnull=True).count(),
    })


@login_required
def tokens(request):
    issued = None
    if request.method == "POST":
        form = forms.TokenForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            expires_at = timezone.now() + dt.timedelta(days=days) if days else None
            try:
                issued = services.issue_token(user=request.user, name=form.cleaned_data["name"], expires_at=expires_at)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                form = forms.TokenForm()
    else:
        form = forms.TokenForm()
    # The secret is rendered in this response only (never redirected, never stored), so it is shown once.
    response = render(request, "accounts/tokens.html", {
        "form": form, "issued": issued, "tokens": list(queries.tokens_of(request.user)), "now": timezone.now(),
    })
    if issued is not None:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    try:
        token = services.revoke_token(user=request.user, token_id=pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Token “%(name)s” was revoked; it no longer works.") % {"name": token.name})
    return redirect("accounts:tokens")


# --- User management -----------------------------------------------------------------------------------------

def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@perm_required(perms.MANAGE_USERS)
def users(request):
    f = queries.UserFilters(q=request.GET.get("q", ""), role=request.GET.get("role", ""),
                            team=_int_or_none(request.GET.get("team")), active=request.GET.get("active", ""))
    try:
        page = keyset_page(queries.filter_users(f), sort="username", cursor=request.GET.get("cursor") or None,
                           size=50)
    except DomainError:
        page = keyset_page(queries.filter_users(f), sort="username", size=50)
    context = {
        "page": page, "filters": f, "role_choices": forms.role_choices(), "team_choices": queries.team_choices(),
        "role_labels": perms.ROLE_LABELS,
    }
    template = "accounts/_users_table.html" if request.htmx else "accounts/users.html"
    return render(request, template, context)


@perm_required(perms.MANAGE_USERS)
def user_create(request):
    if request.method == "POST":
        form = forms.UserCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.create_user(
                    actor=request.user, username=data["username"], password=data["password"], role=data["role"],
                    team=form.team_obj(), view_pii=True if data["view_pii"] else None,
                    display_name=data["display_name"], email=data["email"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("User %(name)s was created.") % {"name": user.username})
                return redirect("accounts:users")
    else:
        form = forms.UserCreateForm()
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@perm_required(perms.MANAGE_USERS)
def user_edit(request, pk: int):
    target = get_object_or_404(User.objects.select_related("team"), pk=pk)
    password_form = forms.SetPasswordAdminForm(user=target)
    if request.method == "POST" and request.POST.get("action") == "password":
        password_form = forms.SetPasswordAdminForm(request.POST, user=target)
        form = _user_form_for(target)
        if password_form.is_valid():
            services.change_password(user=target, password=password_form.cleaned_data["new_password"],
                                     actor=request.user)
            messages.success(request, _("The password of %(name)s was changed.") % {"name": target.username})
            return redirect("accounts:user_edit", pk=target.pk)
    elif request.method == "POST":
        form = forms.UserEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_user(actor=request.user, user=target, role=data["role"], team=form.team_obj(),
                                     view_pii=data["view_pii"], is_active=data["is_active"],
                                     display_name=data["display_name"], email=data["email"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("User %(name)s was saved.") % {"name": target.username})
                return redirect("accounts:users")
    else:
        form = _user_form_for(target)
    return render(request, "accounts/user_form.html", {
        "form": form, "password_form": password_form, "target": target, "creating": False,
        "audit_url": reverse("core:audit") + f"?object_type=accounts.user&object_id={target.pk}",
    })


def _user_form_for(target: User) -> forms.UserEditForm:
    return forms.UserEditForm(initial={
        "display_name": target.display_name, "email": target.email, "role": target.role, "team": target.team_id,
        "view_pii": target.view_pii, "is_active": target.is_active,
    })


@perm_required(perms.MANAGE_USERS)
def teams(request):
    if request.method == "POST":
        form = forms.TeamForm(request.POST)
        if form.is_valid():
            try:
                team = services.create_team(actor=request.user, name=form.cleaned_data["name"],
                                            kind=form.cleaned_data["kind"], parent=form.parent_obj())
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("“%(name)s” was created.") % {"name": team.name})
                return redirect("accounts:teams")
    else:
        form = forms.TeamForm(initial={"kind": Team.Kind.TEAM})
    return render(request, "accounts/teams.html", {"form": form, "tree": queries.team_tree()})


@perm_required(perms.MANAGE_USERS)
def team_edit(request, pk: int):
    team = get_object_or_404(Team, pk=pk)
    exclude = services.team_subtree_ids(team.pk)
    if request.method == "POST":
        form = forms.TeamForm(request.POST, exclude_ids=exclude, editing=True, initial={"kind": team.kind})
        if form.is_valid():
            try:
                services.update_team(actor=request.user, team=team, name=form.cleaned_data["name"],
                                     parent=form.parent_obj())
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("“%(name)s” was saved.") % {"name": form.cleaned_data["name"]})
                return redirect("accounts:teams")
    else:
        form = forms.TeamForm(initial={"name": team.name, "kind": team.kind, "parent": team.parent_id},
                              exclude_ids=exclude, editing=True)
    members = list(team.members.order_by("username"))
    return render(request, "accounts/team_form.html", {"form": form, "team": team, "members": members})
