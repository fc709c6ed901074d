"""Reads of marketing shared by pages, the API and the services: audiences and campaigns (visible to every holder
of marketing.view; what they contain — counts, members, messages, results — is always cut to the reader's customer
scope), the audience rule compiled to SQL through the report compiler, campaign figures."""

from __future__ import annotations

from django.db.models import QuerySet

from clientwise.core import permissions as perms
from clientwise.core.errors import NotFound, PermissionDenied
from clientwise.marketing.models import Audience, Campaign
from clientwise.marketing.perms import APPROVE_CAMPAIGNS, CHANGE_MARKETING, VIEW_MARKETING


def require_view(user) -> None:
    perms.require(user, VIEW_MARKETING)


def can_change(user) -> bool:
    return perms.has_perm(user, CHANGE_MARKETING)


def can_approve(user) -> bool:
    return perms.has_perm(user, APPROVE_CAMPAIGNS)


def visible_audiences(user, *, archived: bool = False) -> QuerySet[Audience]:
    if not perms.has_perm(user, VIEW_MARKETING):
        return Audience.objects.none()
    return Audience.objects.filter(archived_at__isnull=not archived).select_related("created_by")


def get_audience_for(user, pk) -> Audience:
    if not perms.has_perm(user, VIEW_MARKETING):
        raise PermissionDenied()
    try:
        return Audience.objects.select_related("created_by").get(pk=int(pk))
    except (Audience.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such audience.") from None


def visible_campaigns(user) -> QuerySet[Campaign]:
    if not perms.has_perm(user, VIEW_MARKETING):
        return Campaign.objects.none()
    return Campaign.objects.select_related("audience", "created_by")


def get_campaign_for(user, pk, *, for_update: bool = False) -> Campaign:
    if not perms.has_perm(user, VIEW_MARKETING):
        raise PermissionDenied()
    qs = Campaign.objects.select_related("audience", "created_by", "approved_by", "launched_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=int(pk))
    except (Campaign.DoesNotExist, TypeError, ValueError):
        raise NotFound("No such campaign.") from None
