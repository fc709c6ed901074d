"""Notification pages: the list (all or unread, mark read, mark all read, open), the bell badge that the top bar
polls, and the e-mail choices under "My settings". Thin: queries and services do the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clientwise.core.errors import DomainError, NotFound, ValidationFailed
from clientwise.notifications import queries, services
from clientwise.notifications.context import Bell

PAGE_SIZE = 25
HTMX_STOP_POLLING = 286  # htmx stops an `every …` trigger on this status (a signed-out tab)


def _bell_context(request) -> dict:
    return {"notifications_bell": Bell(request.user)}


@login_required
@require_GET
def index(request):
    unread = request.GET.get("show") == "unread"
    try:
        page = queries.notification_page(request.user, unread=unread, cursor=request.GET.get("cursor") or None,
                                         size=PAGE_SIZE)
    except DomainError:  # a spoiled cursor in the address: the first page, as the other lists do
        page = queries.notification_page(request.user, unread=unread, size=PAGE_SIZE)
    context = {"page": page, "show_unread": unread, **_bell_context(request)}
    template = "notifications/_list.html" if request.htmx and not request.htmx.boosted else "notifications/list.html"
    return render(request, template, context)


@require_GET
def badge(request):
    if not request.user.is_authenticated:
        return HttpResponse(status=HTMX_STOP_POLLING)
    return render(request, "notifications/_bell.html", _bell_context(request))


def _get_own(request, pk):
    try:
        return services.mark_read(actor=request.user, notification_id=pk)
    except NotFound:
        raise Http404 from None


@login_required
@require_POST
def read(request, pk: int):
    n = _get_own(request, pk)
    if request.htmx:
        return render(request, "notifications/_item_read.html",
                      {"item": queries.present(n), **_bell_context(request)})
    return redirect("notifications:index")


@login_required
@require_POST
def open_target(request, pk: int):
    """Mark read and go to what the notification is about (a path on this site only)."""
    n = _get_own(request, pk)
    if n.url and url_has_allowed_host_and_scheme(n.url, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()) and n.url.startswith("/"):
        return redirect(n.url)
    return redirect("notifications:index")


@login_required
@require_POST
def read_all(request):
    count = services.mark_all_read(actor=request.user)
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect("notifications:index")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    error = ""
    if request.method == "POST":
        try:
            services.set_email_kinds(actor=request.user, kinds=request.POST.getlist("email_kinds"))
        except ValidationFailed as exc:
            error = exc.message
        else:
            messages.success(request, _("Your notification settings were saved."))
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {
        "preferences": queries.preferences(request.user), "section": "notifications", "error": error},
        status=400 if error else 200)
