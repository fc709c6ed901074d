"""JSON API of marketing: parse, call marketing.services / marketing.queries, return schemas. Audiences and
campaigns are readable by holders of marketing.view; counts, members, exports and results follow the caller's
customer scope."""

from __future__ import annotations

import re

from ninja import File, Form, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.pagination import keyset_page
from clientwise.dataio import exports
from clientwise.marketing import queries, services
from clientwise.marketing.models import Audience, Campaign
from clientwise.marketing.schemas import (
    ApprovalNoteIn,
    AudienceIn,
    AudienceOut,
    AudiencePage,
    AudiencePatch,
    CampaignIn,
    CampaignMessagePage,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CountOut,
    CustomerListSelectionIn,
    ExportFormat,
    RulePreviewIn,
    ScoreSelectionIn,
    UploadOut,
    WebhookIn,
    WebhookOut,
)

router = Router(tags=["marketing"])


def _viewer(request):
    queries.require_view(request.auth)
    return request.auth


def audience_out(a: Audience) -> dict:
    return {"id": a.pk, "name": a.name, "description": a.description, "kind": a.kind, "origin": a.origin,
            "rule": a.rule, "member_count": a.member_count, "created_by": str(a.created_by or ""),
            "created_at": a.created_at, "archived_at": a.archived_at}


@router.get("/marketing/audiences", response=AudiencePage, summary="Audiences")
def list_audiences(request, archived: bool = False, cursor: str | None = Query(None, max_length=1000),  # noqa: B008
                   size: int = Query(25, ge=1, le=200)):  # noqa: B008
    """Newest first. Audiences are shared by everyone in marketing; their counts follow each reader's scope."""
    user = _viewer(request)
    page = keyset_page(queries.visible_audiences(user, archived=archived), sort="-id", cursor=cursor, size=size)
    return {"items": [audience_out(a) for a in page.items], "next_cursor": page.next_cursor}


@router.post("/marketing/audiences", response={201: AudienceOut}, summary="Create a rule audience")
def create_audience(request, payload: AudienceIn):
    """A dynamic audience. A rule naming an unknown dimension, operator or value answers 422
    invalid_audience_rule with the offending part in `field`."""
    a = services.create_audience(actor=request.auth, name=payload.name, description=payload.description,
                                 rule=payload.rule)
    return Status(201, audience_out(a))


@router.post("/marketing/audiences/preview", response=CountOut, summary="Count a rule before saving it")
def preview(request, payload: RulePreviewIn):
    """How many customers you may see match the rule now (422 invalid_audience_rule for a bad rule)."""
    user = _viewer(request)
    services.check_rule(actor=user, rule=payload.rule)
    return {"count": queries.audience_count(user, rule=payload.rule)}


@router.post("/marketing/audiences/from-customer-list", response={201: AudienceOut},
             summary="Save a customer-list filter as a fixed list")
def from_customer_list(request, payload: CustomerListSelectionIn):
    a = services.audience_from_customer_list(actor=request.auth, name=payload.name,
                                             description=payload.description, params=payload.filters)
    return Status(201, audience_out(a))


@router.post("/marketing/audiences/from-scores", response={201: AudienceOut},
             summary="Save an RFM cell or score list as a fixed list")
def from_scores(request, payload: ScoreSelectionIn):
    a = services.audience_from_scores(actor=request.auth, name=payload.name, description=payload.description,
                                      params=payload.filters)
    return Status(201, audience_out(a))


@router.post("/marketing/audiences/upload", response={201: UploadOut}, summary="Upload a fixed list")
def upload(request, file: File[UploadedFile], name: Form[str]):  # noqa: B008
    """A CSV whose first column names customers by id, external id, member number or phone; at most 20 MB (413)."""
    result = services.audience_from_upload(actor=request.auth, name=name, upload=file)
    return Status(201, {"audience": audience_out(result.audience), "rows": result.rows, "matched": result.matched,
                        "unmatched_count": result.unmatched_count, "unmatched": result.unmatched})


@router.get("/marketing/audiences/{int:audience_id}", response=AudienceOut, summary="One audience")
def get_audience(request, audience_id: int):
    return audience_out(queries.get_audience_for(_viewer(request), audience_id))


@router.patch("/marketing/audiences/{int:audience_id}", response=AudienceOut, summary="Change an audience")
def update_audience(request, audience_id: int, payload: AudiencePatch):
    data = payload.model_dump(exclude_unset=True)
    return audience_out(services.update_audience(actor=request.auth, audience_id=audience_id, data=data))


@router.post("/marketing/audiences/{int:audience_id}/archive", response=AudienceOut, summary="Archive an audience")
def archive_audience(request, audience_id: int):
    return audience_out(services.archive_audience(actor=request.auth, audience_id=audience_id))


@router.get("/marketing/audiences/{int:audience_id}/count", response=CountOut, summary="Count an audience now")
def count_audience(request, audience_id: int):
    user = _viewer(request)
    return {"count": queries.audience_count(user, audience=queries.get_audience_for(user, audience_id))}


@router.get("/marketing/audiences/{int:audience_id}/export", summary="Export an audience (audited)")
def export_audience(request, audience_id: int, format: ExportFormat = "csv"):  # noqa: A002
    """The audience's customers you may see, with the customer export's columns (machine names); PII masked
    without the view_pii right; one audit row export.audience. Needs data.export."""
    return exports.as_response(services.export_audience(actor=request.auth, audience_id=audience_id, fmt=format))


# ----- campaigns ------------------------------------------------------------------------------------------------


def campaign_out(c: Campaign) -> dict:
    out = {f: getattr(c, f) for f in ("id", "name", "description", "audience_id", "channel", "purpose", "language",
                                      "control_share", "stratify_by", "scheduled_at", "status", "estimated_size",
                                      "approved_at", "launched_at", "finished_at", "member_count", "control_count",
                                      "srm_p_value")}
    out["approved_by"] = str(c.approved_by or "")
    out["variants"] = [{"id": v.pk, "key": v.key, "weight": v.weight, "subject_zh": v.subject_zh,
                        "subject_en": v.subject_en, "body_zh": v.body_zh, "body_en": v.body_en}
                       for v in c.variants.order_by("key")]
    return out


@router.get("/marketing/campaigns", response=CampaignPage, summary="Campaigns")
def list_campaigns(request, cursor: str | None = Query(None, max_length=1000),  # noqa: B008
                   size: int = Query(25, ge=1, le=200)):  # noqa: B008
    user = _viewer(request)
    page = keyset_page(queries.visible_campaigns(user).prefetch_related("variants"), sort="-id", cursor=cursor,
                       size=size)
    return {"items": [campaign_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/marketing/campaigns", response={201: CampaignOut}, summary="Create a campaign (draft)")
def create_campaign(request, payload: CampaignIn):
    """Variants' texts may use the personal fields name, city, tier, segment, product, due_item, owner,
    member_number; a text that does not render is 422 invalid_template."""
    data = payload.model_dump(exclude_unset=True)
    data["variants"] = [v.model_dump() for v in payload.variants]
    c = services.create_campaign(actor=request.auth, data=data)
    return Status(201, campaign_out(c))


@router.get("/marketing/campaigns/{int:campaign_id}", response=CampaignOut, summary="One campaign")
def get_campaign(request, campaign_id: int):
    return campaign_out(queries.get_campaign_for(_viewer(request), campaign_id))


@router.patch("/marketing/campaigns/{int:campaign_id}", response=CampaignOut, summary="Change a campaign")
def update_campaign(request, campaign_id: int, payload: CampaignPatch):
    """Before launch only (409 campaign_not_editable); a submitted or approved campaign goes back to draft."""
    data = payload.model_dump(exclude_unset=True)
    if payload.variants is not None:
        data["variants"] = [v.model_dump() for v in payload.variants]
    return campaign_out(services.update_campaign(actor=request.auth, campaign_id=campaign_id, data=data))


@router.post("/marketing/campaigns/{int:campaign_id}/submit", response=CampaignOut, summary="Submit for approval")
def submit_campaign(request, campaign_id: int):
    return campaign_out(services.submit_campaign(actor=request.auth, campaign_id=campaign_id))


@router.post("/marketing/campaigns/{int:campaign_id}/approve", response=CampaignOut, summary="Approve (managers)")
def approve_campaign(request, campaign_id: int, payload: ApprovalNoteIn):
    return campaign_out(services.approve_campaign(actor=request.auth, campaign_id=campaign_id, note=payload.note))


@router.post("/marketing/campaigns/{int:campaign_id}/reject", response=CampaignOut, summary="Send back (managers)")
def reject_campaign(request, campaign_id: int, payload: ApprovalNoteIn):
    return campaign_out(services.reject_campaign(actor=request.auth, campaign_id=campaign_id, note=payload.note))


@router.post("/marketing/campaigns/{int:campaign_id}/launch", response=CampaignOut, summary="Launch")
def launch_campaign(request, campaign_id: int):
    """Freeze the audience, draw the control group, queue the sending. 409 approval_required above
    MARKETING_APPROVAL_SIZE without approval; 409 campaign_state when already launched; 400 empty_audience."""
    return campaign_out(services.launch_campaign(actor=request.auth, campaign_id=campaign_id))


@router.post("/marketing/campaigns/{int:campaign_id}/cancel", response=CampaignOut, summary="Cancel")
def cancel_campaign(request, campaign_id: int):
    return campaign_out(services.cancel_campaign(actor=request.auth, campaign_id=campaign_id))


@router.get("/marketing/campaigns/{int:campaign_id}/messages", response=CampaignMessagePage, summary="A campaign's messages")
def list_messages(request, campaign_id: int, state: str = Query("", max_length=10),  # noqa: B008
                  reason: str = Query("", max_length=16), cursor: str | None = Query(None, max_length=1000),  # noqa: B008
                  size: int = Query(50, ge=1, le=200)):  # noqa: B008
    """The messages to customers you may see, by id: state (pending, sending, deferred, sent, not_sent) and the
    reason a message was not sent (control, no_consent, capped, quiet_hours, invalid_contact, bounced, …)."""
    user = _viewer(request)
    campaign = queries.get_campaign_for(user, campaign_id)
    qs = queries.campaign_messages(user, campaign, state=state, reason=reason)
    page = keyset_page(qs.select_related("variant"), sort="id", cursor=cursor, size=size)
    return {"items": queries.message_rows(user, page.items), "next_cursor": page.next_cursor}


@router.post("/marketing/webhooks/{provider}", response=WebhookOut, auth=None,
             summary="Delivery receipts, bounces and unsubscribes (signed)")
def webhook(request, provider: str, payload: WebhookIn):
    """For delivery providers: signed like Clientwise's own requests (headers X-CW-Timestamp, X-CW-Nonce,
    X-CW-Signature = base64 HMAC-SHA256 with MARKETING_WEBHOOK_SECRET over POST, the path, timestamp, nonce and the
    body's SHA-256; at most five minutes old). 401 invalid_signature otherwise. Each event id is applied once."""
    if not re.fullmatch(r"[a-z0-9_-]{1,20}", provider):
        raise DomainError(ErrorCode.INVALID, "Unknown provider.", "provider")
    services.verify_webhook(timestamp=request.headers.get("X-CW-Timestamp", ""),
                            nonce=request.headers.get("X-CW-Nonce", ""),
                            signature=request.headers.get("X-CW-Signature", ""), path=request.path,
                            body=request.body)
    result = services.record_provider_events(provider=provider, events=[e.model_dump(mode="json")
                                                                        for e in payload.events])
    return {"accepted": result.accepted, "duplicates": result.duplicates, "unknown": result.unknown}
