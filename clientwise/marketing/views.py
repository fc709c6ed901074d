"""Marketing pages: the overview, audiences (rule builder, count preview, lists, export), campaigns (content,
variants, approval, launch, sending, results). Thin: every rule is in services, every read in queries."""

from __future__ import annotations

from django.shortcuts import render

from clientwise.core.decorators import perm_required
from clientwise.marketing import queries
from clientwise.marketing.perms import VIEW_MARKETING

VIEW = VIEW_MARKETING


@perm_required(VIEW)
def index(request):
    """Campaigns first (what is waiting for approval, sending, sent), then the audiences."""
    user = request.user
    campaigns = list(queries.visible_campaigns(user)[:50])
    audiences = list(queries.visible_audiences(user)[:50])
    return render(request, "marketing/index.html", {
        "campaigns": campaigns, "audiences": audiences, "can_change": queries.can_change(user),
        "can_approve": queries.can_approve(user)})
