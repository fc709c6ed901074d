"""ninja schemas of the marketing API: audiences (rule as JSON, see marketing/rules.py), campaigns, messages and
results."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal

from ninja import Field, Schema

from clientwise.analytics.schemas import ScoreListParams
from clientwise.customers.filters import CustomerListParams

AudienceKind = enum.StrEnum("AudienceKind", {"DYNAMIC": "dynamic", "STATIC": "static"})
AudienceOrigin = enum.StrEnum("AudienceOrigin", {"RULE": "rule", "UPLOAD": "upload",
                                                 "CUSTOMER_LIST": "customer_list", "SCORES": "scores"})


class AudienceIn(Schema):
    name: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    rule: dict[str, Any] = Field(description="The audience rule (docs/marketing.md, 'Audience rules').")


class AudiencePatch(Schema):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    rule: dict[str, Any] | None = None


class RulePreviewIn(Schema):
    rule: dict[str, Any]


class CountOut(Schema):
    count: int = Field(description="customers in the audience that you may see, now")


class AudienceOut(Schema):
    id: int
    name: str
    description: str
    kind: AudienceKind
    origin: AudienceOrigin
    rule: dict[str, Any]
    member_count: int = Field(description="fixed lists: customers stored on the list (all scopes)")
    created_by: str
    created_at: dt.datetime
    archived_at: dt.datetime | None


class AudiencePage(Schema):
    items: list[AudienceOut]
    next_cursor: str | None


class CustomerListSelectionIn(Schema):
    name: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    filters: CustomerListParams = Field(default_factory=CustomerListParams,
                                        description="the customer list's filters (cursor and size are ignored)")


class ScoreSelectionIn(Schema):
    name: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    filters: ScoreListParams = Field(default_factory=ScoreListParams,
                                     description="a score list's filters: RFM cell (r, f), segment, tier, owner, "
                                                 "team, churn probability at least")


class UploadOut(Schema):
    audience: AudienceOut
    rows: int
    matched: int
    unmatched_count: int
    unmatched: list[str] = Field(description="the first values that found no customer you may see (at most 20)")


ExportFormat = Literal["csv", "xlsx", "parquet"]


Channel = enum.StrEnum("CampaignChannel", {"SMS": "sms", "EMAIL": "email", "WECHAT": "wechat",
                                           "CALL_LIST": "call_list", "DIRECT_MAIL": "direct_mail"})
CampaignStatus = enum.StrEnum("CampaignStatus", {"DRAFT": "draft", "PENDING": "pending", "APPROVED": "approved",
                                                 "LAUNCHED": "launched", "SENDING": "sending", "SENT": "sent",
                                                 "CANCELLED": "cancelled"})


class VariantIn(Schema):
    key: str = Field("A", max_length=1, description="A, B, C or D")
    weight: int = Field(100, ge=1, le=100, description="share of the treated customers, percent")
    subject_zh: str = Field("", max_length=200)
    subject_en: str = Field("", max_length=200)
    body_zh: str = Field("", max_length=5000, description="may use {{ name }}, {{ tier }}, {{ product }}, …")
    body_en: str = Field("", max_length=5000)


class VariantOut(VariantIn):
    id: int


class CampaignIn(Schema):
    name: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    audience_id: int = Field(ge=1, le=2 ** 62)
    channel: Channel
    purpose: Literal["marketing", "service", "surveys"] = "marketing"
    language: Literal["zh-hans", "en"] = "zh-hans"
    control_share: float = Field(0.10, ge=0, le=0.5)
    stratify_by: Literal["", "value_tier", "rfm_segment"] = ""
    scheduled_at: dt.datetime | None = None
    variants: list[VariantIn] = Field(default_factory=list, max_length=4)


class CampaignPatch(Schema):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    audience_id: int | None = Field(None, ge=1, le=2 ** 62)
    channel: Channel | None = None
    language: Literal["zh-hans", "en"] | None = None
    control_share: float | None = Field(None, ge=0, le=0.5)
    stratify_by: Literal["", "value_tier", "rfm_segment"] | None = None
    scheduled_at: dt.datetime | None = None
    variants: list[VariantIn] | None = Field(None, max_length=4)


class CampaignOut(Schema):
    id: int
    name: str
    description: str
    audience_id: int
    channel: Channel
    purpose: str
    language: str
    control_share: float
    stratify_by: str
    scheduled_at: dt.datetime | None
    status: CampaignStatus
    estimated_size: int | None
    approved_by: str
    approved_at: dt.datetime | None
    launched_at: dt.datetime | None
    finished_at: dt.datetime | None
    member_count: int
    control_count: int
    srm_p_value: float | None = Field(description="chi-square p-value of the treated/control split; below 0.001 "
                                                  "the split is suspect (sample-ratio mismatch)")
    variants: list[VariantOut]


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


class ApprovalNoteIn(Schema):
    note: str = Field("", max_length=300)


class WebhookEventIn(Schema):
    id: str = Field(max_length=100, description="the provider's event id (each is applied once)")
    type: Literal["delivered", "bounced", "failed", "unsubscribed"]
    message_key: str = Field("", max_length=80, description="the idempotency key sent as OutId")
    provider_message_id: str = Field("", max_length=100)
    at: dt.datetime | None = None


class WebhookIn(Schema):
    events: list[WebhookEventIn] = Field(min_length=1, max_length=1000)


class WebhookOut(Schema):
    accepted: int
    duplicates: int
    unknown: int


class CampaignMessageOut(Schema):
    id: int
    customer_id: int
    variant: str
    channel: str
    state: str
    reason: str
    address: str = Field(description="masked without the view_pii right")
    sent_at: dt.datetime | None
    delivery: str


class CampaignMessagePage(Schema):
    items: list[CampaignMessageOut]
    next_cursor: str | None
