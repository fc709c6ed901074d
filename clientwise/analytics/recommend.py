"""Recommendations: co-purchase association rules, item-to-item similarity, the next products per customer.

Pure Python over pandas/NumPy/SciPy/DuckDB (no Django), so it can be checked on outside data.

Input contract — order lines (the pipeline produces exactly these; extra columns are ignored):

    order_id, customer_id, ordered_at (datetime64), product_id, category (code), replenishable (bool),
    quantity, amount, margin

Association rules (`build_rules`) are pairwise, X → Y, over baskets (an order, or everything a customer
bought): with N baskets, n(X) baskets holding X and n(XY) holding both,

    support = n(XY) / N,   confidence = n(XY) / n(X),   lift = confidence / (n(Y) / N)

computed set-wise from a sparse basket × item incidence matrix B: the co-occurrence counts are BᵀB, its
diagonal the item counts — no loop over baskets. Items are products or categories (`level`).

Similarity (`item_similarity`) is the cosine of two products' columns in the customer × product incidence
matrix: |customers who bought both| / sqrt(|bought X| · |bought Y|).

`recommend` scores each product Y a customer has not bought recently by its best link from something X the
customer bought in the last `history_days`:

    link(X → Y) = rule_weight · confidence(X → Y) + (1 − rule_weight) · similarity(X, Y)
    score(customer, Y) = max over X of link(X → Y)

and keeps the top k with X as the reason ("bought X; customers who buy X also buy Y, lift 3.2"). Products
bought within `recent_days` are skipped unless they are replenishable (formula, ink: buying them again is
the point). The candidate join and the top-k run in DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

RULE_COLUMNS = ["antecedent", "consequent", "count", "antecedent_count", "consequent_count", "baskets",
                "support", "confidence", "lift"]
SIMILARITY_COLUMNS = ["item", "other", "similarity", "common"]
RECOMMENDATION_COLUMNS = ["customer_id", "rank", "product_id", "score", "because_product_id", "confidence",
                          "lift", "similarity", "reason"]


def _incidence(keys: pd.Series, items: pd.Series) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Binary key × item matrix (CSR, int32) and the item labels of its columns."""
    k_codes, _ = pd.factorize(keys, sort=False)
    i_codes, i_labels = pd.factorize(items, sort=True)
    ok = (k_codes >= 0) & (i_codes >= 0)
    m = sparse.csr_matrix((np.ones(int(ok.sum()), dtype=np.int32), (k_codes[ok], i_codes[ok])),
                          shape=(int(k_codes.max(initial=-1)) + 1, len(i_labels)))
    m.sum_duplicates()
    m.data[:] = 1  # bought at all, not how often
    return m, np.asarray(i_labels)


def build_rules(lines: pd.DataFrame, *, min_support: float = 0.001, min_confidence: float = 0.05,
                min_count: int = 2, level: str = "product", basket: str = "order") -> pd.DataFrame:
    """Pairwise association rules X → Y with support, confidence and lift.

    level: "product" (product_id) or "category"; basket: "order" (bought together) or "customer" (bought by
    the same customer). Keeps rules with at least `min_count` baskets, support ≥ min_support and
    confidence ≥ min_confidence; sorted by antecedent, then lift (highest first). Columns RULE_COLUMNS.
    """
    item_col = {"product": "product_id", "category": "category"}[level]
    key_col = {"order": "order_id", "customer": "customer_id"}[basket]
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in RULE_COLUMNS})
    B, labels = _incidence(lines[key_col], lines[item_col])
    n = B.shape[0]
    counts = np.asarray(B.sum(axis=0)).ravel().astype(np.int64)
    co = (B.T @ B).tocoo()
    off = co.row != co.col
    a, b, nab = co.row[off], co.col[off], co.data[off].astype(np.int64)
    na, nb = counts[a], counts[b]
    support = nab / n
    confidence = nab / na
    keep = (nab >= min_count) & (support >= min_support) & (confidence >= min_confidence)
    a, b, nab, na, nb = a[keep], b[keep], nab[keep], na[keep], nb[keep]
    out = pd.DataFrame({
        "antecedent": labels[a], "consequent": labels[b], "count": nab, "antecedent_count": na,
        "consequent_count": nb, "baskets": n, "support": nab / n, "confidence": nab / na,
        "lift": (nab / na) / (nb / n),
    })
    return out.sort_values(["antecedent", "lift", "consequent"], ascending=[True, False, True],
                           kind="stable").reset_index(drop=True)


def item_similarity(lines: pd.DataFrame, *, level: str = "product", top_n: int = 20,
                    min_common: int = 2) -> pd.DataFrame:
    """Cosine similarity of items over the customer × item incidence, the `top_n` most similar per item.

    Pairs bought by fewer than `min_common` customers in common are left out (one shared customer is
    noise). Columns SIMILARITY_COLUMNS; each pair appears in both directions.
    """
    item_col = {"product": "product_id", "category": "category"}[level]
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SIMILARITY_COLUMNS})
    X, labels = _incidence(lines["customer_id"], lines[item_col])
    counts = np.asarray(X.sum(axis=0)).ravel().astype(float)
    co = (X.T @ X).tocoo()
    keep = (co.row != co.col) & (co.data >= min_common)
    i, j, common = co.row[keep], co.col[keep], co.data[keep].astype(np.int64)
    sim = common / np.sqrt(counts[i] * counts[j])
    out = pd.DataFrame({"item": labels[i], "other": labels[j], "similarity": sim, "common": common})
    out = out.sort_values(["item", "similarity", "other"], ascending=[True, False, True], kind="stable")
    out = out[out.groupby("item", sort=False).cumcount() < top_n]
    return out.reset_index(drop=True)


def _cutoff_like(as_of: Any, times: pd.Series) -> pd.Timestamp:
    t = pd.Timestamp(as_of)
    tz = getattr(times.dt, "tz", None)
    if tz is not None and t.tzinfo is None:
        return t.tz_localize(tz)
    if tz is None and t.tzinfo is not None:
        return t.tz_convert(None)
    return t


def _links(rules: pd.DataFrame | None, similarity: pd.DataFrame | None, rule_weight: float,
           max_links: int) -> pd.DataFrame:
    """One row per (antecedent, consequent) with its blended score, the best `max_links` per antecedent."""
    parts = []
    if rules is not None and len(rules):
        parts.append(pd.DataFrame({"antecedent": rules["antecedent"].to_numpy(),
                                   "consequent": rules["consequent"].to_numpy(),
                                   "confidence": rules["confidence"].to_numpy(dtype=float),
                                   "lift": rules["lift"].to_numpy(dtype=float), "similarity": np.nan}))
    if similarity is not None and len(similarity):
        parts.append(pd.DataFrame({"antecedent": similarity["item"].to_numpy(),
                                   "consequent": similarity["other"].to_numpy(), "confidence": np.nan,
                                   "lift": np.nan,
                                   "similarity": similarity["similarity"].to_numpy(dtype=float)}))
    if not parts:
        return pd.DataFrame(columns=["antecedent", "consequent", "confidence", "lift", "similarity", "score",
                                     "pref"])
    both = pd.concat(parts, ignore_index=True)
    links = both.groupby(["antecedent", "consequent"], sort=False, as_index=False).agg(
        confidence=("confidence", "max"), lift=("lift", "max"), similarity=("similarity", "max"))
    links["score"] = (rule_weight * links["confidence"].fillna(0.0)
                      + (1 - rule_weight) * links["similarity"].fillna(0.0))
    links = links.sort_values(["antecedent", "score", "consequent"], ascending=[True, False, True],
                              kind="stable")
    links = links[links.groupby("antecedent", sort=False).cumcount() < max_links]
    # A global preference order (higher score first, then the smaller antecedent) for picking the reason.
    links = links.sort_values(["score", "antecedent"], ascending=[False, True], kind="stable")
    links["pref"] = np.arange(len(links), dtype=np.int64)
    return links.reset_index(drop=True)


def reason_text(because: str, product: str, *, confidence: float | None, lift: float | None,
                similarity: float | None) -> str:
    """'bought X; customers who buy X also buy Y, lift 3.2' (or the similarity when there is no rule)."""
    if lift is not None and not np.isnan(lift):
        return (f"bought {because}; customers who buy {because} also buy {product}, lift {lift:.1f} "
                f"(confidence {confidence:.0%})")
    return (f"bought {because}; customers who bought {because} also bought {product} "
            f"(similarity {similarity:.2f})")


def recommend(lines: pd.DataFrame, rules: pd.DataFrame | None, similarity: pd.DataFrame | None, *, as_of: Any,
              k: int = 5, recent_days: int = 365, history_days: int = 365, rule_weight: float = 0.5,
              max_links: int = 30, names: Mapping[Any, str] | None = None,
              replenishable: Mapping[Any, bool] | None = None, with_reasons: bool = True) -> pd.DataFrame:
    """Top-k next products per customer, with the product that led to each and why.

    lines: order lines (only rows before `as_of` count). rules: product-level `build_rules` output (or None);
    similarity: `item_similarity` output (or None). A customer's antecedents are the products they bought in
    the `history_days` before as_of; a product they bought in the `recent_days` before as_of is not
    recommended unless it is replenishable (from `replenishable`, else from the lines' own flag). names maps
    product ids to the names used in the reason text. Returns RECOMMENDATION_COLUMNS sorted by customer and
    rank (1 = best); `score` is the blended link in [0, 1].
    """
    cols = RECOMMENDATION_COLUMNS if with_reasons else RECOMMENDATION_COLUMNS[:-1]
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    if lines.empty:
        return empty
    times = pd.to_datetime(lines["ordered_at"])
    cutoff = _cutoff_like(as_of, times)
    past = (times < cutoff).to_numpy()
    hist_mask = past & (times >= cutoff - pd.Timedelta(days=history_days)).to_numpy()
    recent_mask = past & (times >= cutoff - pd.Timedelta(days=recent_days)).to_numpy()
    if replenishable is not None:
        repl = lines["product_id"].map(replenishable).fillna(False).astype(bool).to_numpy()
    else:
        repl = lines["replenishable"].fillna(False).astype(bool).to_numpy()
    history = lines.loc[hist_mask, ["customer_id", "product_id"]].drop_duplicates()
    recent = lines.loc[recent_mask & ~repl, ["customer_id", "product_id"]].drop_duplicates()
    links = _links(rules, similarity, rule_weight, max_links)
    if history.empty or links.empty:
        return empty
    con = duckdb.connect()
    try:
        con.register("history", history)
        con.register("recent", recent)
        con.register("links", links)
        top = con.execute("""
            WITH candidates AS (
                -- the best link wins; `pref` orders links by score, then antecedent, so ties are stable
                SELECT h.customer_id, l.consequent AS product_id, max(l.score) AS score,
                       sum(l.score) AS support, min(l.pref) AS pref
                FROM history h JOIN links l ON l.antecedent = h.product_id
                GROUP BY h.customer_id, l.consequent
            ),
            ranked AS (
                SELECT c.customer_id, c.product_id, c.score, c.pref,
                       row_number() OVER (PARTITION BY c.customer_id
                                          ORDER BY c.score DESC, c.support DESC, c.product_id) AS rank
                FROM candidates c
                WHERE NOT EXISTS (SELECT 1 FROM recent r
                                  WHERE r.customer_id = c.customer_id AND r.product_id = c.product_id)
                QUALIFY rank <= $k
            )
            SELECT r.customer_id, r.rank, r.product_id, r.score, l.antecedent AS because_product_id,
                   l.confidence, l.lift, l.similarity
            FROM ranked r JOIN links l ON l.pref = r.pref
            ORDER BY r.customer_id, r.rank
        """, {"k": k}).df()
    finally:
        con.close()
    if top.empty:
        return empty
    top["rank"] = top["rank"].astype(np.int64)
    if with_reasons:
        top["reason"] = _reasons(top, names)
    return top[cols]


def _reasons(top: pd.DataFrame, names: Mapping[Any, str] | None) -> list[str]:
    """Reason text per row; a (because, product) pair's text is built once however many customers share it."""
    def name(pid: Any) -> str:
        if names is not None and pid in names:
            return str(names[pid])
        return f"product {pid}"

    pairs = top[["because_product_id", "product_id", "confidence", "lift", "similarity"]].drop_duplicates(
        ["because_product_id", "product_id"])
    text = {
        (b, p): reason_text(name(b), name(p), confidence=c, lift=lift, similarity=s)
        for b, p, c, lift, s in pairs.itertuples(index=False, name=None)
    }
    return [text[(b, p)] for b, p in zip(top["because_product_id"].tolist(), top["product_id"].tolist(),
                                          strict=True)]
