"""How a customer's scores are read together, so the card, the lists and the API never contradict themselves.

Pure functions, no Django (docs/score-consistency.md states the rules in words). The scores answer different
questions and may all be right at once:

- churn probability: the chance of NO purchase in the next churn-horizon days (90 by default), from the churn
  classifier;
- P(alive): the chance the customer has not left for good (BTYD: BG/NBD or MBG/NBD), however long they may wait
  before buying again;
- next purchase: the date their own rhythm (gaps between purchases) points to;
- next best action: the first of call / win back / offer / nurture whose condition holds (`next_action`).

A slow buyer can be "probably still a customer" and "probably not buying within 90 days" at the same time; the
card then says so in one sentence instead of showing the two numbers side by side as if they disagreed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HIGH_RISK = 0.5  # churn probability at or above this is "high risk"
MEDIUM_RISK = 0.25
LAPSED_CHURN = 0.8  # churn probability from which a customer counts as probably lapsed
LAPSED_ALIVE = 0.3  # P(alive) below which a customer counts as probably lapsed
STILL_CUSTOMER = 0.8  # P(alive) from which "probably still a customer" is said
DUE_DAYS = 30  # a next purchase expected within this many days of the scoring date is "due"
VALUABLE_TIERS = ("A", "B")
MAX_SHOWN_ALIVE = 0.99  # P(alive) is never shown as a certainty: above this it reads "over 99 %"


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def next_actions(*, buyer: np.ndarray, churn_probability: np.ndarray, p_alive: np.ndarray, tier: np.ndarray,
                 next_due_days: np.ndarray, has_recommendations: np.ndarray) -> np.ndarray:
    """The next best action per customer (first rule that applies):

    call      a valuable customer (tier A or B) whose churn probability is at least HIGH_RISK;
    win_back  a customer who has probably lapsed: P(alive) below LAPSED_ALIVE, or churn at least LAPSED_CHURN;
    offer     a purchase is due within DUE_DAYS (next purchase date), or there is something to recommend;
    nurture   any other customer who has bought; "" for prospects without purchases.
    """
    churn = np.nan_to_num(np.asarray(churn_probability, dtype=float), nan=0.0)
    alive = np.nan_to_num(np.asarray(p_alive, dtype=float), nan=1.0)
    valuable = np.isin(tier, VALUABLE_TIERS)
    due = np.nan_to_num(np.asarray(next_due_days, dtype=float), nan=np.inf) <= DUE_DAYS
    out = np.full(buyer.shape, "", dtype=object)
    rest = buyer.copy()
    for code, cond in (("call", valuable & (churn >= HIGH_RISK)),
                       ("win_back", (alive < LAPSED_ALIVE) | (churn >= LAPSED_CHURN)),
                       ("offer", due | has_recommendations), ("nurture", np.ones_like(buyer))):
        hit = rest & cond
        out[hit] = code
        rest &= ~hit
    return out


@dataclass(frozen=True)
class Reading:
    """What the card and the lists say about one customer's scores, as codes the templates word.

    action_reason: why the next best action (hint codes: valuable_at_risk, lapsed, due, recommended,
        at_risk, quiet);
    alive: how P(alive) reads beside the churn risk: "" (nothing to add), "unknown" (not estimated: one purchase
        under BG/NBD), "slow_buyer" (probably still a customer but not buying within the horizon), "lapsed";
    next_purchase: "" (no estimate), "due" (within DUE_DAYS), "overdue", "later", or "unlikely_soon" (a date
        from their rhythm while the churn model expects no purchase);
    risk: "", "low", "medium", "high".
    """

    action_reason: str
    alive: str
    next_purchase: str
    risk: str


def risk_level(p: float | None) -> str:
    if not _known(p):
        return ""
    return "high" if p >= HIGH_RISK else "medium" if p >= MEDIUM_RISK else "low"


def read_scores(*, action: str, churn: float | None, p_alive: float | None, bought: bool,
                next_due_days: int | None, has_recommendations: bool) -> Reading:
    """The reading of one customer's stored scores; `next_due_days` is the next purchase date minus the
    scoring date (negative: overdue)."""
    churn_known, alive_known = _known(churn), _known(p_alive)
    high = churn_known and churn >= HIGH_RISK
    if action == "call":
        reason = "valuable_at_risk"
    elif action == "win_back":
        reason = "lapsed"
    elif action == "offer":
        due = next_due_days is not None and next_due_days <= DUE_DAYS
        reason = "at_risk" if high else "due" if due else "recommended"
    elif action == "nurture" or (action == "" and bought):
        reason = "at_risk" if high else "quiet"
    else:
        reason = ""
    if not bought:
        alive = ""
    elif not alive_known:
        alive = "unknown"
    elif p_alive < LAPSED_ALIVE:
        alive = "lapsed"
    elif high and p_alive >= STILL_CUSTOMER:
        alive = "slow_buyer"
    else:
        alive = ""
    if next_due_days is None:
        upcoming = ""
    elif churn_known and churn >= LAPSED_CHURN:
        upcoming = "unlikely_soon"
    elif next_due_days < 0:
        upcoming = "overdue"
    elif next_due_days <= DUE_DAYS:
        upcoming = "due"
    else:
        upcoming = "later"
    return Reading(action_reason=reason, alive=alive, next_purchase=upcoming, risk=risk_level(churn))


def shown_alive(p_alive: float | None) -> float | None:
    """P(alive) as shown: never a certainty (a model's 1.0 reads "over 99 %")."""
    if not _known(p_alive):
        return None
    return min(float(p_alive), MAX_SHOWN_ALIVE)


def contradictions(*, action: str, reading: Reading, churn: float | None, p_alive: float | None, tier: str,
                   frequency: int | None, next_due_days: int | None, has_recommendations: bool,
                   reasons: int) -> list[str]:
    """Every rule of docs/score-consistency.md that one customer's shown scores break (empty: consistent).

    `reasons` is the number of churn-reason lines shown (model reasons or the base-rate sentence)."""
    broken = []
    churn_v = churn if _known(churn) else None
    alive_v = p_alive if _known(p_alive) else None
    # 1. The action follows the risk.
    if action == "call" and not (tier in VALUABLE_TIERS and churn_v is not None and churn_v >= HIGH_RISK):
        broken.append("call without a valuable customer at high risk")
    if action == "win_back" and not ((churn_v is not None and churn_v >= LAPSED_CHURN)
                                     or (alive_v is not None and alive_v < LAPSED_ALIVE)):
        broken.append("win back for a customer who has not lapsed")
    if action in ("offer", "nurture") and ((churn_v is not None and churn_v >= LAPSED_CHURN)
                                           or (alive_v is not None and alive_v < LAPSED_ALIVE)):
        broken.append(f"{action} for a customer who has probably lapsed")
    # 2. "A purchase is due" only with a next purchase within DUE_DAYS, and not beside a high risk.
    if reading.action_reason == "due" and not (next_due_days is not None and next_due_days <= DUE_DAYS):
        broken.append("purchase due without a next purchase date within the due window")
    if reading.action_reason == "due" and churn_v is not None and churn_v >= HIGH_RISK:
        broken.append("purchase due beside a high churn risk")
    if reading.action_reason == "recommended" and not has_recommendations:
        broken.append("an offer of recommendations without any")
    if reading.next_purchase == "due" and churn_v is not None and churn_v >= LAPSED_CHURN:
        broken.append("next purchase due beside a lapsed customer")
    if reading.action_reason == "quiet" and churn_v is not None and churn_v >= HIGH_RISK:
        broken.append("nothing urgent beside a high churn risk")
    # 3. Risk and P(alive): never a certain "still a customer" beside a high risk, never P(alive) = 1 for a
    # customer without a repeat purchase (BG/NBD's artefact), and a high risk beside a high P(alive) explained.
    shown = shown_alive(alive_v)
    if shown is not None and shown >= 1.0:
        broken.append("P(alive) shown as a certainty")
    if alive_v is not None and frequency == 0 and alive_v >= 1.0:
        broken.append("P(alive) = 1 for a one-time buyer")
    if (churn_v is not None and churn_v >= HIGH_RISK and alive_v is not None and alive_v >= STILL_CUSTOMER
            and reading.alive != "slow_buyer"):
        broken.append("high churn risk beside a high P(alive) without the explanation")
    # 4. A risk worth showing has its reasons.
    if churn_v is not None and churn_v >= MEDIUM_RISK and reasons == 0:
        broken.append("churn risk without reasons")
    return broken
