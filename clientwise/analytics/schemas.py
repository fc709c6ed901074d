"""API schemas of customer analytics, and the ranked-list filter shared by the pages and the API."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from ninja import Field, Schema
from pydantic import field_validator

from clientwise.analytics.dashboards import ScoreFilters
from clientwise.analytics.models import CustomerScore
from clientwise.core.params import validate_dropping_bad

ValueTier = enum.StrEnum("ValueTier", {v: v for v in CustomerScore.Tier.values})


class ScoreListParams(Schema):
    """Filters and page of a ranked list (churn risk, top CLV)."""

    tier: ValueTier | None = Field(None, description="value tier A–D")
    segment: str | None = Field(None, max_length=20, description="RFM segment code, e.g. at_risk")
    owner: int | None = Field(None, ge=1, description="the customer's owner (user id)")
    team: int | None = Field(None, ge=1, description="the customer's team, or any team below it")
    min_probability: float | None = Field(None, ge=0, le=1, description="churn probability at least this")
    r: int | None = Field(None, ge=1, le=5, description="RFM recency score 1–5")
    f: int | None = Field(None, ge=1, le=5, description="RFM frequency score 1–5")
    cursor: str | None = Field(None, max_length=1000)
    size: int = Field(25, ge=1, le=200)

    @field_validator("tier", "segment", "owner", "team", "min_probability", "r", "f", "cursor", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value == "" else value

    def to_filters(self) -> ScoreFilters:
        return ScoreFilters(tier=self.tier or "", segment=self.segment or "", owner=self.owner, team=self.team,
                            min_probability=self.min_probability, r=self.r, f=self.f)

    def query(self, **changes) -> str:
        """The filters as a query string (for links that keep them), cursor and size left out."""
        data = self.model_dump(exclude={"cursor", "size"}, exclude_none=True)
        data.update(changes)
        return urlencode({k: str(v) for k, v in data.items() if v not in (None, "")})

    @classmethod
    def from_query(cls, query: QueryDict) -> ScoreListParams:
        """Lenient parsing for pages: a bad value in the address bar drops that filter instead of failing."""
        data = {k: query.get(k) for k in cls.model_fields if query.get(k) is not None}
        return validate_dropping_bad(cls, data)


class ChurnReasonOut(Schema):
    feature: str
    text: str = Field(description="the reason in plain language (in the request's language)")
    contribution: float | None


class NextPurchaseCategoryOut(Schema):
    category: str = Field(description="category code")
    name: str
    date: dt.date | None


class RecommendationOut(Schema):
    product_id: int | None
    sku: str
    name: str
    category: str
    score: float | None
    reason: str


class CustomerScoresOut(Schema):
    """A customer's scores in the current scoring batch."""

    customer_id: int
    batch_id: int
    as_of: dt.date
    value_tier: str = Field(description="A–D, empty when not scored")
    clv: Decimal | None = Field(description="predicted lifetime value over the batch's horizon, discounted")
    immediate_value: Decimal | None = Field(description="margin over the last 12 months; null without the "
                                                        "orders.view_costs right")
    potential_value: Decimal | None
    share_of_wallet: float | None
    p_alive: float | None = Field(description="chance the customer has not left for good (BG/NBD or MBG/NBD); "
                                              "null when not estimated (one purchase under BG/NBD)")
    p_alive_reading: str = Field("", description="how P(alive) reads beside the churn risk: '' (nothing to add), "
                                                 "unknown, slow_buyer (probably still a customer but not buying "
                                                 "within the churn window), lapsed")
    expected_purchases: float | None
    horizon_days: int
    churn_probability: float | None = Field(description="chance of no purchase in the churn window")
    value_at_risk: Decimal | None = Field(None, description="churn probability × CLV")
    risk: str = Field(description="high, medium, low, or empty")
    churn_reasons: list[ChurnReasonOut]
    rfm_r: int | None
    rfm_f: int | None
    rfm_m: int | None
    rfm_segment: str
    next_purchase_on: dt.date | None
    next_purchase_categories: list[NextPurchaseCategoryOut]
    recommendations: list[RecommendationOut]
    next_action: str = Field(description="call, offer, win_back or nurture")
    next_action_reason: str = Field("", description="why: valuable_at_risk, lapsed, due (a purchase is due within "
                                                    "30 days), recommended, at_risk or quiet")


class RankedCustomerOut(Schema):
    customer_id: int
    name: str
    owner_id: int | None
    owner: str
    team_id: int | None
    value_tier: str
    rfm_segment: str
    clv: Decimal | None
    p_alive: float | None
    churn_probability: float | None
    value_at_risk: Decimal | None = Field(None, description="churn probability × CLV (the churn list's order)")
    churn_reasons: list[ChurnReasonOut]
    next_purchase_on: dt.date | None
    next_action: str
    next_action_reason: str = ""


class RankedCustomerPage(Schema):
    as_of: dt.date | None = Field(description="the current batch's date; null before the first scoring")
    items: list[RankedCustomerOut]
    next_cursor: str | None
    prev_cursor: str | None


class ModelRunOut(Schema):
    id: int
    batch_id: int
    model: str = Field(description="rfm, bgnbd, gamma_gamma, clv, churn, next_purchase, recommend or value")
    version: str
    engine: str
    status: str
    as_of: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime | None
    seconds: float | None
    rows_in: int
    rows_out: int
    is_current: bool = Field(description="the run belongs to the batch whose scores are shown")
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    error: str


class ModelRunPage(Schema):
    items: list[ModelRunOut]
    next_cursor: str | None
    prev_cursor: str | None


# --- Models trained on own labels (api_labels.py) ---------------------------------------------------------------


class LabelModelOut(Schema):
    """A model trained on an uploaded table of labels, with its cross-validation (`metrics`: model, single_feature
    and prior each with auc, lift_top_decile, calibration, brier; per_fold; beats_baseline; verdict)."""

    id: int
    name: str
    created_at: dt.datetime
    seconds: float | None
    file_name: str
    id_column: str
    id_kind: str
    label_column: str
    positive_label: str
    negative_label: str
    rows: int
    positives: int
    matched: int
    features: dict[str, Any]
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    applied_at: dt.datetime | None
    scored: int


class LabelModelSummaryOut(Schema):
    id: int
    name: str
    created_at: dt.datetime
    rows: int
    positives: int
    matched: int
    scored: int
    auc: float | None
    baseline_auc: float | None
    beats_baseline: bool | None


class LabelApplyOut(Schema):
    model_id: int
    rows: int = Field(description="rows scored")
    scored: int = Field(description="customers whose score was stored")
    unmatched: int = Field(description="rows whose id matched no customer you may see")


class LabelScoreOut(Schema):
    customer_id: int
    probability: float
    scored_at: dt.datetime


class LabelScorePage(Schema):
    items: list[LabelScoreOut]
    next_cursor: str | None
